"""What a fact says, in the terms the rule extractor compares facts by.

A fact's shape (main verb, negation, like/dislike, slot values such as a city or a job,
a diet) is computed once per text, and the comparisons (already said, contradicted, said
with more detail, named by a delete) read only shapes: keeping them here, pure, lets the
rules of ``_rules`` read as decisions rather than as text processing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from lemminflect import getAllLemmas

from memkit._text import content_words, stem, stems, word_set, words
from memkit.extract._deletes import DeleteRequest

__all__ = ["Shape", "contradicts", "duplicate", "matches", "richer", "shape"]

_DUPLICATE_SCORE = 0.95
_DELETE_SCORE = 0.8

_NEGATORS = frozenset({"not", "no", "never", "nor", "longer", "anymore"})
_NEGATOR_STEMS = frozenset(stems(_NEGATORS))
_SKIP_HEAD = _NEGATORS | word_set(
    "does do did also really just still now recently currently always usually often sometimes "
    "finally already only even"
)
_BE = frozenset({"is", "am", "are", "was", "were", "be", "been", "being"})
_HAVE = frozenset({"has", "have", "had", "having"})
_LIKE = frozenset(stems(word_set("like love enjoy adore prefer fancy")))
_DISLIKE = frozenset(stems(word_set("hate dislike detest loathe")))
_FAN = re.compile(r"\b(?:is|was) (?:a (?:big |huge )?fan of|into|fond of|keen on)\b")
_SUBORDINATE = re.compile(
    r"\s+(?:since|because|although|though|but|while|whereas|unless)\s|,\s*(?:which|who|where)\s"
)
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

_OCCUPATIONS = "|".join(
    word_set(
        """nurse teacher engineer developer programmer doctor physician surgeon pilot lawyer
    accountant designer chef cook architect dentist pharmacist scientist researcher professor
    lecturer student barista waiter waitress cashier consultant manager analyst journalist
    writer photographer electrician plumber carpenter mechanic firefighter paramedic
    veterinarian vet therapist psychologist librarian translator salesperson realtor banker
    farmer driver artist musician actor actress freelancer"""
    )
)
_SLOT_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("residence", re.compile(r"^(?:lives|is living|resides|is based|has moved|moved|is moving"
                             r"|relocated) (?:in|to|at) (?P<v>.+)$")),
    ("employer", re.compile(r"^(?:works|is working) (?:at|for) (?P<v>.+?)(?: as .*)?$")),
    ("job", re.compile(r"^(?:works|is working) (?:(?:at|for) .+? )?as (?:a |an )?(?P<v>.+)$")),
    ("age", re.compile(r"^(?:is|turned|age is) (?P<v>\d{1,3})(?: years old)?$")),
    ("relationship", re.compile(r"^(?:is|got|has got|just got|recently got) (?:now )?"
                                r"(?P<v>single|married|divorced|engaged|widowed|separated"
                                r"|in a relationship|dating)\b")),
    ("job", re.compile(rf"^(?:is|became|has become|is now|works as) (?:now )?(?:a|an) "
                       rf"(?P<v>(?:[\w-]+ ){{0,3}}(?:{_OCCUPATIONS}))(?: (?:at|for|in) .+)?$")),
    ("school", re.compile(r"^(?:goes to|attends|is at|studies at|is studying at|started at"
                          r"|is starting at) (?P<v>.*\b(?:school|academy|primary|high|college"
                          r"|university|kindergarten|nursery|elementary|uni)\b.*)$")),
    ("car", re.compile(r"^(?:drives|owns|has) (?:a|an) (?:[\w-]+ ){0,2}?(?P<v>(?:\d{4} )?"
                       r"(?:tesla|toyota|honda|bmw|audi|ford|volkswagen|vw|mercedes|porsche"
                       r"|volvo|nissan|hyundai|kia|subaru|mazda|jeep|chevrolet|fiat|renault"
                       r"|peugeot|skoda|mini|lexus|\w+ car)\b.*)$")),
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
    gender zodiac sign employer school university major salary code pin passcode password
    passphrase combination username handle plate wifi locker wife husband partner girlfriend
    boyfriend fiance fiancee boss manager landlord doctor dentist therapist status appointment
    order band song book movie film show team hobby project goal gp vet hairdresser"""
)
_LEADING_ADVERBS = re.compile(r"^(?:(?:now|currently|recently|just|still|also|really) )+")


@dataclass(frozen=True)
class Shape:
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
    main_words: frozenset[str] = frozenset()  # of the main clause


@lru_cache(maxsize=4096)
def shape(text: str) -> Shape:
    main = _SUBORDINATE.split(" " + text.lower().replace("’", "'") + " ")[0].strip()
    toks = words(main)
    negated = any(t in _NEGATORS for t in toks)
    head = _head(toks)
    sentiment = 1 if head in _LIKE or _FAN.search(main) else -1 if head in _DISLIKE else 0
    obj = content_words(main) - _NEGATORS - _NEGATOR_STEMS - {head, "not", "no"}
    flat = " ".join(toks)
    first = toks[0] if toks else ""
    diet = _diet(flat, toks)
    slots = _slots(flat)
    if diet not in (None, "meat", "fish"):
        slots["diet"] = frozenset({diet})
    return Shape(
        norm=" ".join(words(text)),
        words=content_words(text),
        head=head,
        negated=negated,
        sentiment=-sentiment if negated else sentiment,
        obj=frozenset(obj),
        slots=slots,
        diet=diet,
        about_speaker=first in _SPEAKER_FIRST or first.endswith(("s", "ed")),
        main_words=content_words(main),
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
    found = _verb_slots(flat)
    toks = flat.split()
    for i in range(1, min(5, len(toks))):  # "sister lives in rome": the sister's residence
        if found or not _noun_phrase(" ".join(toks[:i])):
            break
        if toks[i - 1] in _BE or toks[i - 1] in _SPEAKER_FIRST:
            break
        subject = " ".join(toks[:i])
        rest = _LEADING_ADVERBS.sub("", " ".join(toks[i:]))
        found = {f"{subject} {k}": v for k, v in _verb_slots(rest).items()}
    m = _NOUN_SLOT.match(flat)
    if m and not found and _noun_phrase(m.group("s")):
        slot = re.sub(r"^(?:the user's|user's|their|the) ", "", m.group("s"))
        slot = re.sub(r"\b(?:new|current|latest|old|usual|present)\b ?", "", slot).strip()
        slot = slot.replace("favourite", "favorite").replace("'s ", " ")
        slot = re.sub(r"\b(?:mobile|cell|cellphone|telephone)\b", "phone", slot)
        value = m.group("v").split(", ")[0]
        numeric = any(c.isdigit() for c in value)  # "daily standup is at 9:30", "kids are 5"
        if (
            len(slot.split()) <= 4
            and (_SLOT_NOUNS & set(slot.split()) or numeric)
            and content_words(value)
        ):
            key = "residence" if slot in ("address", "home address") else slot
            found[key] = content_words(value)
    return found


def _verb_slots(flat: str) -> dict[str, frozenset[str]]:
    found = {}
    for name, pattern in _SLOT_PATTERNS:
        m = pattern.match(flat)
        value = _VALUE_END.split(m.group("v"))[0] if m else ""
        if content_words(value):
            found[name] = content_words(value)
    return found


def _noun_phrase(text: str) -> bool:
    """ "favorite cuisine", "wife's name": not a verb phrase such as "thinks paris"."""
    first, *rest = text.split()
    if first in _NOT_A_SLOT_START:
        return False
    if first.endswith(("ed", "ing")) and "NOUN" not in getAllLemmas(first):
        return False  # "thinking paris", not "building door code"
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


def _same_polarity(new: Shape, old: Shape) -> bool:
    return new.negated == old.negated and new.sentiment == old.sentiment


def _slot_conflict(new: Shape, old: Shape) -> bool:
    """Another value for the same slot: neither value contains the other ("May 10th" vs
    "May 3rd" conflict; "New York" vs "New York City" do not)."""
    for key, value in new.slots.items():
        other = _same_slot(key, old.slots)
        if other is not None and not (value <= other or other <= value):
            return True
    return False


def _same_slot(key: str, slots: Mapping[str, frozenset[str]]) -> frozenset[str] | None:
    """The value of ``key``'s slot among ``slots``: the same name, or a longer or shorter
    name for it ("garage code" and "garage door code": same last word, one inside the other)."""
    if key in slots:
        return slots[key]
    mine = key.split()
    for other, value in slots.items():
        theirs = other.split()
        if len(mine) < 2 or len(theirs) < 2 or mine[:: len(mine) - 1] != theirs[:: len(theirs) - 1]:
            continue  # "sister residence" is not "residence"; "garage code" is "garage door code"
        if set(mine) <= set(theirs) or set(theirs) <= set(mine):
            return value
    return None


def duplicate(new: Shape, old: Shape, score: float) -> bool:
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
    # "Likes thing1_5" is not "Likes thing0_5", however close their embeddings are.
    if any(any(c.isdigit() for c in w) for w in new.words ^ old.words):
        return False
    return score >= _DUPLICATE_SCORE


def contradicts(new: Shape, old: Shape) -> bool:
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
    if new.head != old.head or new.negated == old.negated:
        return False
    return _overlaps(new.obj, old.obj) or _kind_of(new.obj, old.obj) or _kind_of(old.obj, new.obj)


# "Doesn't drink alcohol anymore" makes "Drinks a glass of wine" false.
_KINDS: dict[str, frozenset[str]] = {
    stem(general): frozenset(stems(word_set(specific)))
    for general, specific in {
        "alcohol": "wine beer vodka whisky whiskey gin rum cocktail cocktails cider tequila",
        "caffeine": "coffee espresso latte cappuccino tea",
        "dairy": "milk cheese yogurt butter cream",
        "sugar": "sweets candy chocolate dessert cake soda",
    }.items()
}


def _kind_of(general: frozenset[str], specific: frozenset[str]) -> bool:
    return any(g in _KINDS and _KINDS[g] & specific for g in general)


def richer(new: Shape, old: Shape) -> bool:
    """The new fact says what the memory says and more ("Likes sushi and ramen")."""
    return (
        bool(old.words - {old.head})
        and old.words < new.words
        and old.words <= new.main_words  # not "Is scared of heights, which is funny for a pilot"
        and new.head == old.head
        and _same_polarity(new, old)
        and not _slot_conflict(new, old)
    )


def matches(request: DeleteRequest, text: str, score: float) -> bool:
    """Whether a specific delete ("that I live in Paris", "my name") names this memory."""
    memory = shape(text)
    if request.kind == "fact":
        wanted = shape(request.text)
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
