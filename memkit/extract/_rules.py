"""The offline extractor: facts by rule, reconciled with the entity's memories by rule.

memkit works with no LLM configured, so the default extractor must give the
platform's behaviour without one: atomic facts, no duplicates, a new fact
replacing the one it contradicts (the vegetarian example of the history docs),
and spoken deletes ("Delete all of my food preferences"). Reading the messages
is ``_patterns``'s job, comparing one fact with one memory ``_fact_shape``'s; this
module decides what each fact does.

Decision rules for a fact against the existing memories the context returns:

- NONE when a memory already says it (same words, case/punctuation/stopwords
  aside; a memory that says more; the same slot value; or a score >= 0.95).
- UPDATE the closest memory it supersedes (same slot with another value, a diet
  change, a like/dislike or negation flip, or the same statement with more
  detail), and DELETE the other memories it supersedes.
- ADD otherwise, with categories from the offline ``Categorizer``.

Spoken deletes: "Forget everything about me" (and its variants) DELETEs every memory
the context's ``all_memories`` lists for the speaker's side, whatever its categories;
"Delete all of my food preferences" those in the categories it names; "Forget that
I live in Paris" or "Forget my name" only the memories that say it. A request
cancels the facts said before it in the same add; facts said after it are kept.

Later statements win over earlier ones of the same ``add``; only ids the context
returned are ever targeted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from memkit.errors import InvalidInputError
from memkit.extract._categories import Categorizer, Embed, normalize_categories
from memkit.extract._deletes import DeleteRequest
from memkit.extract._fact_shape import Shape, contradicts, duplicate, matches, richer, shape
from memkit.extract._first_person import load_word_tables
from memkit.extract._instructions import (
    InstructionRules,
    Topic,
    parse_instructions,
    with_filters,
)
from memkit.extract._interface import (
    Event,
    ExistingMemory,
    ExtractionContext,
    ExtractionOptions,
    Message,
    Operation,
    Plan,
    Side,
)
from memkit.extract._patterns import ReadingOptions, Statement, read_messages
from memkit.extract._speakers import about

__all__ = ["RuleExtractor"]


class RuleExtractor:
    """The default extractor: offline, deterministic, no model and no network.

    ``categories`` is the project's category list (None for the defaults); it is
    validated here, so a bad entry fails at construction. ``instructions`` are the
    project's custom instructions, of which the topics to keep or ignore are honoured
    (``_instructions``). ``embed`` (the store's embedder) lets custom categories and
    instruction topics match by similarity where no keyword does. ``reading`` switches
    parts of reading off, for measurement (``_patterns.ReadingOptions``).

        >>> class NoMemoriesYet:  # an ExtractionContext: what the entity already has
        ...     def similar(self, texts, side): return [[] for _ in texts]
        ...     def in_categories(self, categories, side): return []
        ...     def all_memories(self, side): return []
        >>> msgs = [Message(role="user", content="Hi, I'm Alex. I'm allergic to nuts.")]
        >>> plan = RuleExtractor().plan(msgs, ["user"], NoMemoriesYet())
        >>> for op in plan.operations:
        ...     print(op.event, op.text, op.categories)
        ADD Name is Alex ('personal_details',)
        ADD Is allergic to nuts ('food_preferences', 'health')
    """

    def __init__(
        self,
        categories: Mapping[str, str] | None = None,
        instructions: str | None = None,
        embed: Embed | None = None,
        *,
        reading: ReadingOptions | None = None,
    ) -> None:
        self.categories: dict[str, str] = normalize_categories(categories)
        self.categorizer = Categorizer(self.categories, embed)
        self._instructions_text = instructions
        self._embed = embed
        self.reading = reading or ReadingOptions()
        self._follow(parse_instructions(instructions))
        load_word_tables()

    def _follow(self, rules: InstructionRules) -> None:
        self.instructions = rules
        self._keep = _topic_categorizer(rules.keep, self._embed)
        self._ignore = _topic_categorizer(rules.ignore, self._embed)

    def for_call(self, options: ExtractionOptions) -> RuleExtractor:
        """The extractor of one ``add`` with the platform's per-call options: its
        ``custom_instructions`` and ``categories`` replace these, ``includes`` keeps only
        the topics it names and ``excludes`` drops those it names (see ``_instructions``)."""
        categories = self.categories if options.categories is None else options.categories
        instructions = (
            self._instructions_text
            if options.custom_instructions is None
            else options.custom_instructions
        )
        call = RuleExtractor(categories, instructions, self._embed, reading=self.reading)
        if options.categories is None:
            call.categorizer = self.categorizer  # the same one: its label vectors are cached
        call._follow(with_filters(call.instructions, options.includes, options.excludes))
        return call

    def plan(
        self,
        messages: Sequence[Message],
        sides: Sequence[Side],
        context: ExtractionContext,
    ) -> Plan:
        """Operations for each side being written; see the module docstring for the rules."""
        wanted = _check_sides(sides)
        statements = [
            s
            for s in read_messages(messages, wanted, self.reading)
            if s.fact is None or self.wanted(s.fact)
        ]
        operations: list[Operation] = []
        for side in wanted:
            mine = [s for s in statements if s.side == side]
            if mine:
                operations.extend(_SidePlan(self, side, context).run(mine))
        return Plan(operations=operations)

    def wanted(self, fact: str) -> bool:
        """Whether the custom instructions let ``fact`` be stored: it is about a topic they
        keep (when they name any) and about none they ignore."""
        if self._keep is not None and not self._keep.categorize(fact):
            return False
        return self._ignore is None or not self._ignore.categorize(fact)


def _topic_categorizer(topics: Sequence[Topic], embed: Embed | None) -> Categorizer | None:
    return Categorizer({t.phrase: "" for t in topics}, embed) if topics else None


def _check_sides(sides: Sequence[Side]) -> list[Side]:
    out: list[Side] = []
    for side in sides:
        if side not in ("user", "assistant"):
            raise InvalidInputError(f"unknown side {side!r}: expected 'user' or 'assistant'")
        if side not in out:
            out.append(side)
    return out


class _SidePlan:
    """The decisions for one side of one ``add``: at most one ``similar`` call, one
    ``in_categories`` call and (for "forget everything") one ``all_memories`` call, then
    pure rules. Facts are compared only with memories about the same speaker
    (``_speakers.about``), read without the speaker's name."""

    def __init__(self, extractor: RuleExtractor, side: Side, context: ExtractionContext):
        self.categories = extractor.categories
        self.categorizer = extractor.categorizer
        self.side: Side = side
        self.context = context
        self.deleted: set[str] = set()

    def run(self, statements: Iterable[Statement]) -> list[Operation]:
        said, requests = self._collect(statements)
        facts = _drop_superseded(said)
        probes = [r.text for r, _ in requests if _specific(r, self._request_categories(r))]
        texts = [f.fact or "" for f in facts] + probes
        found = list(self.context.similar(texts, self.side)) if texts else []
        found += [[] for _ in range(len(texts) - len(found))]
        lookup = self._lookup_categories(requests, facts)
        by_category = list(self.context.in_categories(lookup, self.side)) if lookup else []
        erase = any(r.kind == "all" for r, _ in requests)
        everything = list(self.context.all_memories(self.side)) if erase else []
        ops = self._deletes(requests, found[len(facts) :], by_category, everything)
        return ops + self._reconcile(facts, found[: len(facts)], by_category)

    def _collect(self, statements: Iterable[Statement]) -> tuple[list[Statement], list[_Request]]:
        """Facts and delete requests (with their speaker) in order; a delete also cancels
        the earlier facts it covers ("I live in Paris. Forget that I live in Paris.")."""
        facts: list[Statement] = []
        requests: list[_Request] = []
        for statement in statements:
            if statement.delete is not None:
                request = (statement.delete, statement.speaker)
                facts = [f for f in facts if not self._covers(request, f.fact or "")]
                requests.append(request)
            elif statement.fact and all(statement.fact != f.fact for f in facts):
                facts.append(statement)
        return facts, requests

    def _request_categories(self, request: DeleteRequest) -> tuple[str, ...] | None:
        """The categories a topic delete names; None for a specific delete and for
        "forget everything" (which is not bounded by categories)."""
        if request.kind != "topic":
            return None
        key = request.text.replace(" ", "_")
        if key in self.categories:
            return (key,)
        if request.broad:
            found = [c for c in self.categorizer.categorize(request.text) if c != "misc"]
            return tuple(found) or None
        return None

    def _lookup_categories(self, requests: list[_Request], facts: list[Statement]) -> list[str]:
        """Categories to list: those of category deletes, and those of diet facts (a diet
        change must reach every memory about eating meat, not only the nearest ones)."""
        wanted: list[str] = []
        for request, _ in requests:
            wanted.extend(self._request_categories(request) or ())
        for fact in facts:
            text = fact.fact or ""
            if _shape_of(text, fact.speaker).diet is not None:
                wanted.extend(c for c in self.categorizer.categorize(text) if c != "misc")
        return list(dict.fromkeys(wanted))

    def _covers(self, request: _Request, text: str) -> bool:
        """Whether a delete request names the memory (or earlier fact) ``text``: only what
        is about the request's own speaker, and only what the request names."""
        wanted, speaker = request
        if wanted.kind == "all":
            return True
        own = about(text, speaker)
        if own is None:
            return False
        categories = self._request_categories(wanted)
        if categories is not None:
            return bool(set(self.categorizer.categorize(text)) & set(categories))
        return matches(wanted, own, 0.0)

    def _deletes(
        self,
        requests: list[_Request],
        probe_hits: list[list[ExistingMemory]],
        by_category: list[ExistingMemory],
        everything: list[ExistingMemory],
    ) -> list[Operation]:
        ops: list[Operation] = []
        hits = iter(probe_hits)
        for request, speaker in requests:
            categories = self._request_categories(request)
            if request.kind == "all":
                targets = everything
            elif categories is not None:
                targets = [
                    m
                    for m in by_category
                    if set(m.categories) & set(categories) and about(m.text, speaker) is not None
                ]
            else:
                targets = [
                    m
                    for m in next(hits)
                    if (own := about(m.text, speaker)) is not None
                    and matches(request, own, m.score)
                ]
            for memory in targets:
                if memory.id not in self.deleted:
                    self.deleted.add(memory.id)
                    ops.append(self._op("DELETE", target=memory.id))
        return ops

    def _reconcile(
        self,
        facts: list[Statement],
        hits: list[list[ExistingMemory]],
        by_category: list[ExistingMemory],
    ) -> list[Operation]:
        """Decide each fact, latest first, so a newer statement claims the memories it
        replaces before an older re-sent statement can match them as duplicates."""
        pool: dict[str, ExistingMemory] = {}
        for memory in [*(m for found in hits for m in found), *by_category]:
            if memory.id not in self.deleted:
                pool.setdefault(memory.id, memory)
        claimed: set[str] = set()
        decided: list[list[Operation]] = [[] for _ in facts]
        for i in reversed(range(len(facts))):
            scores = {m.id: m.score for m in hits[i]}
            ranked = sorted(pool.values(), key=lambda m: -scores.get(m.id, 0.0))
            decided[i] = self._decide(facts[i], ranked, scores, claimed)
        return [op for ops in decided for op in ops]

    def _decide(
        self,
        fact: Statement,
        ranked: list[ExistingMemory],
        scores: dict[str, float],
        claimed: set[str],
    ) -> list[Operation]:
        text = fact.fact or ""
        new = _shape_of(text, fact.speaker)
        same: list[tuple[ExistingMemory, Shape]] = []
        for m in ranked:
            own = about(m.text, fact.speaker)
            if own is not None:
                same.append((m, shape(own)))
        dup = next((m for m, old in same if duplicate(new, old, scores.get(m.id, 0.0))), None)
        if dup is None:  # another speaker's memory saying the very same thing
            dup = next((m for m in ranked if m.text == text), None)
        contradicted = [m for m, old in same if m is not dup and contradicts(new, old)]
        if dup is not None:
            if dup.id in claimed:
                return []  # a later statement of this add already replaced it
            claimed.add(dup.id)
            return [self._op("NONE", text, dup.id), *self._delete_all(contradicted, claimed)]
        replaced = [
            m for m, old in same if m.id not in claimed and (m in contradicted or richer(new, old))
        ]
        if not replaced and _INSTEAD.search(text):
            # "I want to visit Chile instead": the closest memory with the same verb
            replaced = [m for m, old in same[:1] if old.head == new.head and m.id not in claimed]
            text = _INSTEAD.sub("", text)
        if not replaced:
            return [self._op("ADD", text, categories=self.categorizer.categorize(text))]
        first, *rest = replaced
        claimed.add(first.id)
        update = self._op("UPDATE", text, first.id, self.categorizer.categorize(text))
        return [update, *self._delete_all(rest, claimed)]

    def _delete_all(self, memories: list[ExistingMemory], claimed: set[str]) -> list[Operation]:
        ops = []
        for memory in memories:
            if memory.id not in claimed:
                claimed.add(memory.id)
                ops.append(self._op("DELETE", target=memory.id))
        return ops

    def _op(
        self,
        event: Event,
        text: str | None = None,
        target: str | None = None,
        categories: tuple[str, ...] = (),
    ) -> Operation:
        return Operation(
            event=event, side=self.side, text=text, target_id=target, categories=categories
        )


_Request = tuple[DeleteRequest, str | None]
_INSTEAD = re.compile(r",? instead$", re.IGNORECASE)


def _shape_of(text: str, speaker: str | None) -> Shape:
    """The shape of a fact of this add: its text without the speaker's name."""
    return shape(about(text, speaker) or text)


def _drop_superseded(facts: list[Statement]) -> list[Statement]:
    """Within one add, a fact of a later message wins over an earlier one it repeats or
    replaces (the history example re-sends the first message with the second)."""
    kept = []
    for i, fact in enumerate(facts):
        old = _shape_of(fact.fact or "", fact.speaker)
        later = [
            _shape_of(f.fact or "", f.speaker)
            for f in facts[i + 1 :]
            if f.message > fact.message and f.speaker == fact.speaker
        ]
        if not any(duplicate(old, new, 0.0) or contradicts(new, old) or richer(new, old)
                   for new in later):  # fmt: skip
            kept.append(fact)
    return kept


def _specific(request: DeleteRequest, categories: tuple[str, ...] | None) -> bool:
    """A delete that names memories by what they say, so it is looked up by similarity."""
    return request.kind != "all" and categories is None
