"""The offline extractor: facts by rule, reconciled with the entity's memories by rule.

memkit works with no LLM configured, so the default extractor must give the
platform's behaviour without one: atomic facts, no duplicates, a new fact
replacing the one it contradicts (the vegetarian example of the history docs),
and spoken deletes ("Delete all of my food preferences"). Reading the messages
is ``fact_patterns``'s job; this module decides what each fact does.

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
from dataclasses import dataclass, field
from functools import lru_cache

from memkit._text import content_words, stem, stems, word_set, words
from memkit.errors import InvalidInputError
from memkit.extract._categories import Categorizer, normalize_categories
from memkit.extract._interface import (
    ExistingMemory,
    ExtractionContext,
    Message,
    Operation,
    Plan,
    Side,
)
from memkit.extract._patterns import DeleteRequest, Statement, read_messages

__all__ = ["RuleExtractor"]

_DUPLICATE_SCORE = 0.95
_DELETE_SCORE = 0.8

_NEGATORS = frozenset({"not", "no", "never", "nor", "longer", "anymore"})
_SKIP_HEAD = _NEGATORS | word_set(
    "does do did also really just still now recently currently always usually often sometimes "
    "finally already only even"
)
_BE = frozenset({"is", "am", "are", "was", "were", "be", "been", "being"})
_HAVE = frozenset({"has", "have", "had", "having"})
_LIKE = frozenset(stems(word_set("like love enjoy adore prefer fancy")))
_DISLIKE = frozenset(stems(word_set("hate dislike detest loathe")))
_FAN = re.compile(r"\b(?:is|was) (?:a (?:big |huge )?fan of|into|fond of|keen on)\b")
_SUBORDINATE = re.compile(r"\s+(?:since|because|although|though|but|while|whereas|unless)\s")
_SPEAKER_FIRST = word_set(
    """is was has had does doesn't did didn't cannot can will would never no recently now just
    still always usually often also currently finally really turned went became tried ate
    stopped quit gave"""
)

_MEAT = word_set(
    """meat meats chicken beef pork steak steaks bacon ham lamb turkey sausage sausages burger
    burgers non-vegetarian non-veg carnivore omnivore"""
)
_FISH = word_set("fish seafood salmon tuna shrimp shrimps prawns")
_DIET_IS = re.compile(
    r"^(?:is|has become|became|turned|went|switched to|is now|has turned|has gone|has been)"
    r"(?P<neg> not| no longer)?(?: now)?(?: a| an)?(?: strict| full| fully| strictly| mostly)?"
    r" (?P<v>vegetarian|vegan|pescatarian|plant-based)s?$"
)
_DIET_STOP = re.compile(
    r"^(?:stopped|quit|gave up|has given up|gives up|avoids|does not eat|never eats|no longer eats"
    r"|can not eat|is not eating)(?: eating)? (?P<v>[\w-]+)"
)

_SLOT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("residence", re.compile(r"^(?:lives|is living|resides|is based|has moved|moved|is moving"
                             r"|relocated) (?:in|to) (?P<v>.+)$")),
    ("employer", re.compile(r"^(?:works|is working) (?:at|for) (?P<v>.+?)(?: as .*)?$")),
    ("job", re.compile(r"^(?:works|is working) (?:(?:at|for) .+? )?as (?:a |an )?(?P<v>.+)$")),
    ("age", re.compile(r"^(?:is|turned|age is) (?P<v>\d{1,3})(?: years old)?$")),
    ("name", re.compile(r"^(?:name is|is called|is named|goes by) (?P<v>.+)$")),
    ("origin", re.compile(r"^(?:is from|comes from|was born in) (?P<v>.+)$")),
]  # fmt: skip
_VALUE_END = re.compile(r" (?:with|since|for|because|but|and|near|as|until|from|now) ")
_NOUN_SLOT = re.compile(r"^(?P<s>[a-z][a-z' -]*?) (?:is|are) (?P<v>.+)$")
_NOT_A_SLOT_START = _SPEAKER_FIRST | _BE | _HAVE | word_set("not like likes love loves")
# "X is Y" is a slot with one value only for attribute-like nouns ("favorite cuisine",
# "wife's name"); "Family is awesome" does not replace "Family is their motivation".
_SLOT_NOUNS = word_set(
    """name favorite birthday age email phone number address job title role occupation
    hometown nationality height weight size color colour team language religion pronouns
    gender zodiac sign employer school university major salary"""
)
_LEADING_ADVERBS = re.compile(r"^(?:(?:now|currently|recently|just|still|also|really) )+")


@dataclass(frozen=True)
class _Shape:
    """What the rules compare about a fact, computed once per text."""

    norm: str
    words: frozenset[str]
    head: str
    negated: bool
    sentiment: int
    obj: frozenset[str]
    slots: Mapping[str, frozenset[str]] = field(default_factory=dict)
    diet: str | None = None
    about_speaker: bool = True


@lru_cache(maxsize=4096)
def _shape(text: str) -> _Shape:
    main = _SUBORDINATE.split(" " + text.lower().replace("’", "'") + " ")[0].strip()
    toks = words(main)
    negated = any(t in _NEGATORS for t in toks)
    head = _head(toks)
    sentiment = 1 if head in _LIKE or _FAN.search(main) else -1 if head in _DISLIKE else 0
    obj = content_words(main) - _NEGATORS - {head, "not", "no"}
    flat = " ".join(toks)
    first = toks[0] if toks else ""
    diet = _diet(flat, toks)
    slots = _slots(flat)
    if diet not in (None, "meat", "fish"):
        slots["diet"] = frozenset({diet})
    return _Shape(
        norm=" ".join(words(text)),
        words=content_words(text),
        head=head,
        negated=negated,
        sentiment=-sentiment if negated else sentiment,
        obj=frozenset(obj),
        slots=slots,
        diet=diet,
        about_speaker=first in _SPEAKER_FIRST or first.endswith(("s", "ed")),
    )


def _head(toks: Sequence[str]) -> str:
    """The main verb's stem: "be" and "have" for their forms, the -ing verb of a progressive."""
    rest = [t for t in toks if t not in _SKIP_HEAD and not t.endswith("ly")]
    if not rest:
        return ""
    if rest[0] in _BE:
        return stem(rest[1]) if len(rest) > 1 and rest[1].endswith("ing") else "be"
    return "have" if rest[0] in _HAVE else stem(rest[0])


def _slots(flat: str) -> dict[str, frozenset[str]]:
    flat = _LEADING_ADVERBS.sub("", flat)
    found = {}
    for name, pattern in _SLOT_PATTERNS:
        m = pattern.match(flat)
        value = _VALUE_END.split(m.group("v"))[0] if m else ""
        if content_words(value):
            found[name] = content_words(value)
    m = _NOUN_SLOT.match(flat)
    if m and not found and _noun_phrase(m.group("s")):
        slot = re.sub(r"^(?:the user's|user's|their|the) ", "", m.group("s"))
        slot = slot.replace("favourite", "favorite")
        if (
            len(slot.split()) <= 4
            and _SLOT_NOUNS & set(slot.split())
            and content_words(m.group("v"))
        ):
            found[slot] = content_words(m.group("v"))
    return found


def _noun_phrase(text: str) -> bool:
    """ "favorite cuisine", "wife's name": not a verb phrase such as "thinks paris"."""
    first, *rest = text.split()
    if first in _NOT_A_SLOT_START or first.endswith(("ed", "ing")):
        return False
    return not (rest and first.endswith("s") and not first.endswith("'s"))


def _diet(flat: str, toks: Sequence[str]) -> str | None:
    """The diet a fact states: "vegetarian", "vegan", "pescatarian" or "plant-based"; "meat"
    or "fish" when the speaker eats them; None when it says neither (allergies included)."""
    if any(t.startswith(("allerg", "intoleran")) for t in toks):
        return None
    flat = _LEADING_ADVERBS.sub("", flat)
    m = _DIET_IS.match(flat)
    if m:
        return "meat" if m.group("neg") else m.group("v")
    m = _DIET_STOP.match(flat)
    if m and m.group("v") in _MEAT | _FISH:
        return "vegetarian"
    if any(t in _MEAT for t in toks) and not any(t in _NEGATORS for t in toks):
        return "meat"
    if any(t in _FISH for t in toks) and not any(t in _NEGATORS for t in toks):
        return "fish"
    return None


def _diet_conflict(new: str | None, old: str | None) -> bool:
    if new is None or old is None or new == old:
        return False
    plant = {"vegetarian", "vegan", "plant-based"}
    if {new, old} <= plant | {"pescatarian"}:
        return True  # a change of diet
    if "fish" in (new, old):
        return bool({new, old} & plant)
    return "meat" in (new, old)


def _overlaps(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a) and bool(b) and (a <= b or b <= a)


def _same_polarity(new: _Shape, old: _Shape) -> bool:
    return new.negated == old.negated and new.sentiment == old.sentiment


def _slot_conflict(new: _Shape, old: _Shape) -> bool:
    return any(k in old.slots and not (v & old.slots[k]) for k, v in new.slots.items())


def _duplicate(new: _Shape, old: _Shape, score: float) -> bool:
    """The memory already says what the new fact says (or more)."""
    if new.norm == old.norm:
        return True
    if not _same_polarity(new, old) or _slot_conflict(new, old):
        return False
    if _diet_conflict(new.diet, old.diet):
        return False
    if new.slots and all(old.slots.get(k) == v for k, v in new.slots.items()):
        return new.words - old.words <= {new.head}
    if new.words == old.words or (new.words <= old.words and new.head == old.head):
        return True
    return score >= _DUPLICATE_SCORE


def _contradicts(new: _Shape, old: _Shape) -> bool:
    """The new fact makes the memory false: a new slot value, a diet change, a flip."""
    if _slot_conflict(new, old):
        return True
    if new.about_speaker and old.about_speaker and _diet_conflict(new.diet, old.diet):
        return True
    if new.sentiment and old.sentiment:
        a, b = new.obj - _LIKE - _DISLIKE, old.obj - _LIKE - _DISLIKE
        if _overlaps(a, b):
            # "Hates sushi" replaces "Likes sushi"; "Loves sushi" replaces "Likes sushi"
            return new.sentiment != old.sentiment or (a == b and new.head != old.head)
    return new.head == old.head and new.negated != old.negated and _overlaps(new.obj, old.obj)


def _richer(new: _Shape, old: _Shape) -> bool:
    """The new fact says what the memory says and more ("Likes sushi and ramen")."""
    return (
        bool(old.words - {old.head})
        and old.words < new.words
        and new.head == old.head
        and _same_polarity(new, old)
        and not _slot_conflict(new, old)
    )


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
            if _shape(fact).diet is not None:
                wanted.extend(c for c in self.categorizer.categorize(fact) if c != "misc")
        return list(dict.fromkeys(wanted))

    def _covers(self, request: DeleteRequest, fact: str) -> bool:
        if request.kind == "all":
            return True
        categories = self._request_categories(request)
        if categories is not None:
            return bool(set(self.categorizer.categorize(fact)) & set(categories))
        return _matches(request, fact, 0.0)

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
                targets = [m for m in next(hits) if _matches(request, m.text, m.score)]
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
        new = _shape(fact)
        dup = next((m for m in ranked if _duplicate(new, _shape(m.text), scores.get(m.id, 0.0))),
                   None)  # fmt: skip
        contradicted = [m for m in ranked if m is not dup and _contradicts(new, _shape(m.text))]
        if dup is not None:
            if dup.id in claimed:
                return []  # a later statement of this add already replaced it
            claimed.add(dup.id)
            return [self._op("NONE", fact, dup.id), *self._delete_all(contradicted, claimed)]
        replaced = [
            m
            for m in ranked
            if m.id not in claimed and (m in contradicted or _richer(new, _shape(m.text)))
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
        event: str,
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
        old = _shape(fact)
        later = [_shape(f) for m, f in facts[i + 1 :] if m > message]
        if not any(_duplicate(old, new, 0.0) or _contradicts(new, old) or _richer(new, old)
                   for new in later):  # fmt: skip
            kept.append(fact)
    return kept


def _specific(request: DeleteRequest, categories: tuple[str, ...] | None) -> bool:
    """A delete that names memories by what they say, so it is looked up by similarity."""
    return request.kind != "all" and categories is None


def _matches(request: DeleteRequest, text: str, score: float) -> bool:
    """Whether a specific delete ("that I live in Paris", "my name") names this memory."""
    memory = _shape(text)
    if request.kind == "fact":
        wanted = _shape(request.text)
        if wanted.negated != memory.negated:
            return False
        if wanted.words <= memory.words:
            return True
        return score >= _DELETE_SCORE and bool(wanted.obj) and wanted.obj <= memory.words
    topic = content_words(request.text)
    if not topic or not topic <= memory.words:
        return False
    last = stem(words(request.text)[-1])
    for slot in memory.slots:
        slot_stems = stems(words(slot))
        if slot_stems and slot_stems[-1] == last and set(slot_stems) != set(topic):
            return False  # "my name" is not "wife's name"
    return True
