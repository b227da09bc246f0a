"""Facts from short replies that only make sense with the question they answer.

"What about Indian cuisine?" / "Don't like it much" -> "Doesn't like Indian cuisine
much"; "Where do you live?" / "Berlin" -> "Lives in Berlin". The question lends the
topic; these rules decide when a reply may borrow it.
"""

from __future__ import annotations

import re

from memkit._text import content_words
from memkit.extract._first_person import finish, pronouns, third_person
from memkit.extract._sentences import split_sentences, strip_front, tidy

__all__ = ["answer_fact", "last_question", "substitute_referent"]

_I = re.IGNORECASE

_REFERENT_QUESTIONS = [
    re.compile(r"^(?:and |so |but )?(?:what|how) about (?P<x>.+)$", _I),
    re.compile(
        r"^(?:do|did|would|will) you (?:ever )?(?P<v>like|love|enjoy|eat|prefer|want|fancy"
        r"|play|watch|drink|listen to|read|cook) (?P<x>.+)$",
        _I,
    ),
    re.compile(
        r"^have you (?:ever )?(?:tried|been to|visited|seen|watched|read|played|heard of"
        r"|eaten|had) (?P<x>.+)$",
        _I,
    ),
    re.compile(r"^are you (?:into|a fan of|interested in|fond of) (?P<x>.+)$", _I),
]
_REFERENT_TAIL = re.compile(r"\s+(?:too|as well|then|at all|though|either|lately|recently)$", _I)
_PRONOUN_OBJECT = re.compile(
    r"\b(?:it|them|that)\b(?=\s+(?:much|a lot|very much|at all|either|too|anymore|since"
    r"|because|as|but|though)\b|[\s,.!]*$)",
    _I,
)
_OFFER = re.compile(
    r"^(?:would you like|do you want|would you be interested in|are you interested in"
    r"|do you need|would you prefer)\s+(?P<x>.+)$",
    _I,
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|sure|please|definitely|absolutely|of course|ok|okay|sounds good"
    r"|that would be (?:great|nice|lovely)|I'd love (?:that|it|some)|why not)\b",
    _I,
)
_NON_ANSWER = re.compile(
    r"\b(?:I|my|me|not sure|dunno|no idea|maybe|idk|nothing|none|depends)\b|^(?:no|not)\b", _I
)
_HEDGE_FRONT = re.compile(
    r"^(?:(?:it's|it is|that's|that would be|probably|mostly|definitely|I'd say|I guess"
    r"|I think|in)\s+)+",
    _I,
)
_HEDGE_END = re.compile(r"[,\s]+(?:probably|I guess|I think|I'd say|for sure|definitely)$", _I)
_HAVE_ANY = re.compile(r"^do you (?:have|own) (?:any |a |an )?(?P<x>.+)$", _I)
_NO = re.compile(r"^(?:no|nope|nah|not really|no thanks|not at all)\b", _I)
_WH_TEMPLATES = [
    (re.compile(r"^what(?:'s| is) your (?P<slot>[\w' -]+)$", _I), "{slot} is {a}"),
    (re.compile(r"^where do you live$", _I), "Lives in {a}"),
    (re.compile(r"^where are you (?:originally )?from(?: originally)?$", _I), "Is from {a}"),
    (re.compile(r"^how old are you$", _I), "Is {a} years old"),
]
_WANT_NOUN = re.compile(
    r"^(?P<noun>recommendations|suggestions|tips|ideas|options|advice|a list) (?:for|of|on"
    r"|about|with) (?P<obj>.+?)(?P<loc> (?:in|at|near|around) .+)?$",
    _I,
)
_PLACE = re.compile(
    r"\b(?:especially|particularly|mainly|mostly|preferably|ideally|only|just)?\s*"
    r"(?:in|at|near|around) (?P<place>[A-Z][\w-]*(?: [A-Z][\w-]*)*)"
)


def last_question(content: str) -> str | None:
    """The last question of a message, tidied, or None."""
    questions = [s for s in split_sentences(content) if s.rstrip().endswith("?")]
    return strip_front(tidy(questions[-1])) if questions else None


def _referent(question: str | None) -> str | None:
    for pattern in _REFERENT_QUESTIONS:
        m = pattern.match(question or "")
        if m:
            return _REFERENT_TAIL.sub("", m.group("x")).strip() or None
    return None


def substitute_referent(fact: str, question: str | None) -> str:
    """Put the asked-about thing in for "it": "Doesn't like it much" after "What about
    Indian cuisine?" -> "Doesn't like Indian cuisine much"."""
    x = _referent(question)
    if not x or content_words(x) <= content_words(fact):
        return fact
    m = _PRONOUN_OBJECT.search(fact)
    if not m or m.start() == 0 or " and " in fact[: m.start()]:
        return fact
    return fact[: m.start()] + pronouns(x) + fact[m.end() :]


def answer_fact(content: str, question: str) -> str | None:
    """A fact from a short reply that only makes sense with its question, or None."""
    reply = _strip_front_keep_yes(tidy(content))
    offer = _OFFER.match(question)
    if offer and _YES.match(reply):
        return _wanted(offer.group("x"), content)
    have = _HAVE_ANY.match(question)
    if have:  # "Do you have any pets?" / "Yes, two cats"
        if _NO.match(reply):
            return finish(f"does not have {pronouns(have.group('x'))}")
        if _YES.match(reply):
            rest = strip_front(reply)
            said = rest if content_words(rest) and not _NON_ANSWER.search(rest) else have["x"]
            return finish(f"has {pronouns(said)}")
    pref = _REFERENT_QUESTIONS[1].match(question)
    if pref and pref.group("v").lower() not in ("want", "prefer"):
        first, *more = pref.group("v").lower().split()
        verb = " ".join([third_person(first), *more])
        obj = pronouns(_REFERENT_TAIL.sub("", pref.group("x")))
        if _YES.match(reply):
            return finish(f"{verb} {obj}")
        if _NO.match(reply):
            return finish(f"doesn't {pref.group('v').lower()} {obj}")
    answer = re.sub(_HEDGE_FRONT, "", strip_front(reply))
    answer = re.sub(_HEDGE_END, "", answer)
    if not answer or len(answer.split()) > 6 or _NON_ANSWER.search(answer):
        return None
    for pattern, template in _WH_TEMPLATES:
        m = pattern.match(question)
        if m and (template != "Is {a} years old" or answer.isdigit()):
            slot = m.groupdict().get("slot", "")
            return finish(template.format(slot=slot, a=answer))
    return None


def _strip_front_keep_yes(text: str) -> str:
    return re.sub(r"^(?:hi|hello|hey|oh|well|um|uh|hmm+)\b[\s,!.]*", "", text, flags=_I)


def _wanted(x: str, reply: str) -> str | None:
    x = re.sub(r"^(?:some|a few|any|more|the)\s+", "", x.strip(), flags=_I)
    if re.match(r"^(?:me|us)\b", x, flags=_I):
        return None
    place = _PLACE.search(reply)
    m = _WANT_NOUN.match(x)
    if m:
        obj = re.sub(r"(?<!s)s$", "", m.group("obj"))
        x = f"{obj} {m.group('noun')}{m.group('loc') or ''}"
    if place:
        loc = re.compile(r"\b(?:in|at|near|around) [A-Z][\w -]*$")
        where = f"in {place.group('place')}"
        x = loc.sub(where, x) if loc.search(x) else f"{x} {where}"
    return finish(f"wants {pronouns(x)}")
