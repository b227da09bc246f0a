"""Recognising a spoken request to forget ("Forget my food preferences"), by rule.

A message can only ever forget what its own speaker is remembered for, and only when
its object points at remembered things, so "Remove the onions from the recipe" and
"delete all memories of user bob" are not requests. What a request then deletes is the
rule extractor's decision (``_rules``).

    >>> parse_delete("Please forget everything about me")
    DeleteRequest(kind='all', text='', broad=False)
    >>> parse_delete("Forget that I live in Paris")
    DeleteRequest(kind='fact', text='Lives in Paris', broad=False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from memkit._text import content_words, word_set
from memkit.extract._first_person import SECOND_PERSON, rewrite_first_person

__all__ = ["DeleteRequest", "parse_delete"]

_I = re.IGNORECASE


@dataclass(frozen=True)
class DeleteRequest:
    """A spoken request to forget memories.

    ``kind`` is "all" (everything about the speaker: every memory of the speaker's
    scope, whatever its categories), "topic" (``text`` is a
    phrase such as "food preferences" or "name"; ``broad`` when the speaker asked
    for all of it or named a collection) or "fact" (``text`` is a fact such as
    "Lives in Paris").
    """

    kind: Literal["all", "topic", "fact"]
    text: str = ""
    broad: bool = False


_DELETE = re.compile(
    r"^(?:(?:can|could|would|will) you (?:please )?|i(?: want| need| would like|'d like) you to "
    r"|kindly |please |just )*(?:delete|remove|forget|erase|clear|wipe|drop|purge|discard"
    r"|get rid of)(?: out| away)? (?P<what>.+?)(?: please)?(?: from (?:your |my |the )?"
    r"(?:memory|memories|records?|notes|database|profile))?(?: please)?$",
    _I,
)
# "Everything about me", "all my data", "everything you know about me", "me": the
# speaker's whole scope. Anchored at both ends, so "everything about my trip" is a topic.
_ALL_NOUNS = r"(?:memories|memory|data|information|info|details|records|stuff|things|facts)"
_ALL_ADJ = r"(?:personal |stored |saved )?"
_ALL = re.compile(
    r"^(?:(?:all|everything|anything|every(?: single)?)"
    rf"(?: (?:of )?(?:my |the |your )?{_ALL_ADJ}{_ALL_NOUNS})?"
    r"(?: (?:that )?(?:you(?:'ve| have)? (?:know|have|got|remember|keep|hold|stored|saved)"
    r"|(?:is |are )?(?:stored|saved|kept)"
    r"|I(?: have|'ve)?(?: ever| just)? (?:told you|said|shared|mentioned|gave you|given you)))?"
    r"(?: (?:about|on|of|for) (?:me|myself))?"
    rf"|(?:all )?(?:of )?my (?:whole |entire )?{_ALL_ADJ}(?:{_ALL_NOUNS}|profile)"
    r"|(?:(?:all|everything|anything) )?about (?:me|myself)|me|myself|who I am|all traces? of me"
    r"|(?:your |the |all )?(?:memory|memories) (?:of|about) (?:me|myself))$",
    _I,
)
# "I want everything about me deleted": the passive form, for the whole scope only.
_ALL_PASSIVE = re.compile(
    r"^(?:please |(?:please )?i(?: want| need| would like|'d like) )(?P<what>.+?) (?:to be )?"
    r"(?:deleted|erased|removed|forgotten|wiped|purged|cleared)(?: please)?$",
    _I,
)
# Other entities' data ("delete all memories of user bob", "erase every user's data"): a
# message speaks for its own speaker only, so these are not requests at all.
_OTHERS = re.compile(
    r"\b(?:users?|user's|users'|(?:user|agent|app|run)_?ids?|every(?:one|body)'s|any(?:one|body)'s"
    r"|all people|other people(?:'s)?|someone else(?:'s)?)\b"
    r"|\b(?:of|for|about) (?:every(?:one|body)|any(?:one|body))\b",
    _I,
)
_THAT = re.compile(r"^(?:the fact )?that (?P<clause>.+)$", _I)
_ABOUT = re.compile(
    r"^(?P<q>(?:all|everything|anything)(?: (?:of )?(?:the )?(?:stuff|things|info|information"
    r"|details|memories|data))? )?(?:(?:that )?(?:I (?:said|told you|mentioned)|you know) )?"
    r"(?:what I (?:said|told you|mentioned) )?(?:about|on|regarding|related to|concerning) "
    r"(?P<topic>.+)$",
    _I,
)
_MINE = re.compile(r"^(?:(?P<q>(?:all|every)(?: of)? )(?:the )?|my |our )(?P<topic>.+)$", _I)
_COLLECTIVE = word_set(
    "preferences plans details info information data stuff things interests habits memories "
    "history likes dislikes tastes"
)


def parse_delete(sentence: str) -> DeleteRequest | None:
    """A request to forget ("Forget my food preferences"), or None.

    The object must point at remembered things (my ..., that ..., about ...,
    everything), so "Remove the onions from the recipe" is not a delete. A request
    about other people's data ("delete all memories of user bob") is none either: a
    message can only ever forget what its own speaker is remembered for.
    """
    m = _DELETE.match(sentence)
    if not m:
        passive = _ALL_PASSIVE.match(sentence)
        if passive and _ALL.match(passive.group("what").strip()):
            return DeleteRequest("all")
        return None
    what = m.group("what").strip()
    if _OTHERS.search(what):
        return None
    if _ALL.match(what):
        return DeleteRequest("all")
    that = _THAT.match(what)
    if that:
        facts = rewrite_first_person(that.group("clause"))
        if facts:
            return DeleteRequest("fact", facts[0])
        return _topic(that.group("clause"), broad=False)
    about = _ABOUT.match(what) or _MINE.match(what)
    if about:
        return _topic(about.group("topic"), broad=bool(about.group("q")))
    return None


def _topic(phrase: str, broad: bool) -> DeleteRequest | None:
    phrase = re.sub(r"^(?:my|our|the)\s+", "", phrase.strip(), flags=_I).lower()
    if not content_words(phrase) or SECOND_PERSON.search(phrase):
        return None
    last = phrase.split()[-1]
    return DeleteRequest("topic", phrase, broad=broad or last in _COLLECTIVE)
