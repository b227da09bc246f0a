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

from collections.abc import Iterable, Mapping, Sequence

from memkit.errors import InvalidInputError
from memkit.extract._categories import Categorizer, normalize_categories
from memkit.extract._deletes import DeleteRequest
from memkit.extract._fact_shape import contradicts, duplicate, matches, richer, shape
from memkit.extract._interface import (
    Event,
    ExistingMemory,
    ExtractionContext,
    Message,
    Operation,
    Plan,
    Side,
)
from memkit.extract._patterns import Statement, read_messages

__all__ = ["RuleExtractor"]


class RuleExtractor:
    """The default extractor: offline, deterministic, no model and no network.

    ``categories`` is the project's category list (None for the defaults); it is
    validated here, so a bad entry fails at construction.

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

    def __init__(self, categories: Mapping[str, str] | None = None) -> None:
        self.categories: dict[str, str] = normalize_categories(categories)
        self.categorizer = Categorizer(self.categories)

    def plan(
        self,
        messages: Sequence[Message],
        sides: Sequence[Side],
        context: ExtractionContext,
    ) -> Plan:
        """Operations for each side being written; see the module docstring for the rules."""
        wanted = _check_sides(sides)
        statements = read_messages(messages, wanted)
        operations: list[Operation] = []
        for side in wanted:
            mine = [s for s in statements if s.side == side]
            if mine:
                operations.extend(_SidePlan(self, side, context).run(mine))
        return Plan(operations=operations)


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
    pure rules."""

    def __init__(self, extractor: RuleExtractor, side: Side, context: ExtractionContext):
        self.categories = extractor.categories
        self.categorizer = extractor.categorizer
        self.side: Side = side
        self.context = context
        self.deleted: set[str] = set()

    def run(self, statements: Iterable[Statement]) -> list[Operation]:
        said, requests = self._collect(statements)
        facts = _drop_superseded(said)
        probes = [r.text for r in requests if _specific(r, self._request_categories(r))]
        texts = facts + probes
        found = list(self.context.similar(texts, self.side)) if texts else []
        found += [[] for _ in range(len(texts) - len(found))]
        lookup = self._lookup_categories(requests, facts)
        by_category = list(self.context.in_categories(lookup, self.side)) if lookup else []
        erase = any(r.kind == "all" for r in requests)
        everything = list(self.context.all_memories(self.side)) if erase else []
        ops = self._deletes(requests, found[len(facts) :], by_category, everything)
        return ops + self._reconcile(facts, found[: len(facts)], by_category)

    def _collect(
        self, statements: Iterable[Statement]
    ) -> tuple[list[tuple[int, str]], list[DeleteRequest]]:
        """(message, fact) pairs and delete requests in order; a delete also cancels the
        earlier facts it covers ("I live in Paris. Forget that I live in Paris.")."""
        facts: list[tuple[int, str]] = []
        requests: list[DeleteRequest] = []
        for statement in statements:
            if statement.delete is not None:
                facts = [f for f in facts if not self._covers(statement.delete, f[1])]
                requests.append(statement.delete)
            elif statement.fact and all(statement.fact != f for _, f in facts):
                facts.append((statement.message, statement.fact))
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

    def _lookup_categories(self, requests: list[DeleteRequest], facts: list[str]) -> list[str]:
        """Categories to list: those of category deletes, and those of diet facts (a diet
        change must reach every memory about eating meat, not only the nearest ones)."""
        wanted: list[str] = []
        for request in requests:
            wanted.extend(self._request_categories(request) or ())
        for fact in facts:
            if shape(fact).diet is not None:
                wanted.extend(c for c in self.categorizer.categorize(fact) if c != "misc")
        return list(dict.fromkeys(wanted))

    def _covers(self, request: DeleteRequest, fact: str) -> bool:
        if request.kind == "all":
            return True
        categories = self._request_categories(request)
        if categories is not None:
            return bool(set(self.categorizer.categorize(fact)) & set(categories))
        return matches(request, fact, 0.0)

    def _deletes(
        self,
        requests: list[DeleteRequest],
        probe_hits: list[list[ExistingMemory]],
        by_category: list[ExistingMemory],
        everything: list[ExistingMemory],
    ) -> list[Operation]:
        ops: list[Operation] = []
        hits = iter(probe_hits)
        for request in requests:
            categories = self._request_categories(request)
            if request.kind == "all":
                targets = everything
            elif categories is not None:
                targets = [m for m in by_category if set(m.categories) & set(categories)]
            else:
                targets = [m for m in next(hits) if matches(request, m.text, m.score)]
            for memory in targets:
                if memory.id not in self.deleted:
                    self.deleted.add(memory.id)
                    ops.append(self._op("DELETE", target=memory.id))
        return ops

    def _reconcile(
        self,
        facts: list[str],
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
        fact: str,
        ranked: list[ExistingMemory],
        scores: dict[str, float],
        claimed: set[str],
    ) -> list[Operation]:
        new = shape(fact)
        dup = next((m for m in ranked if duplicate(new, shape(m.text), scores.get(m.id, 0.0))),
                   None)  # fmt: skip
        contradicted = [m for m in ranked if m is not dup and contradicts(new, shape(m.text))]
        if dup is not None:
            if dup.id in claimed:
                return []  # a later statement of this add already replaced it
            claimed.add(dup.id)
            return [self._op("NONE", fact, dup.id), *self._delete_all(contradicted, claimed)]
        replaced = [
            m
            for m in ranked
            if m.id not in claimed and (m in contradicted or richer(new, shape(m.text)))
        ]
        if not replaced:
            return [self._op("ADD", fact, categories=self.categorizer.categorize(fact))]
        first, *rest = replaced
        claimed.add(first.id)
        update = self._op("UPDATE", fact, first.id, self.categorizer.categorize(fact))
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


def _drop_superseded(facts: list[tuple[int, str]]) -> list[str]:
    """Within one add, a fact of a later message wins over an earlier one it repeats or
    replaces (the history example re-sends the first message with the second)."""
    kept = []
    for i, (message, fact) in enumerate(facts):
        old = shape(fact)
        later = [shape(f) for m, f in facts[i + 1 :] if m > message]
        if not any(duplicate(old, new, 0.0) or contradicts(new, old) or richer(new, old)
                   for new in later):  # fmt: skip
            kept.append(fact)
    return kept


def _specific(request: DeleteRequest, categories: tuple[str, ...] | None) -> bool:
    """A delete that names memories by what they say, so it is looked up by similarity."""
    return request.kind != "all" and categories is None
