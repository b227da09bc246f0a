"""What ``custom_instructions`` ask the offline extractor to keep or ignore.

With an LLM, custom instructions are part of the prompt. Offline, rules can honour the
part of them that names topics: "Only remember facts about pets", "Focus on health and
fitness", "Do not store anything about food", or the platform's own layout ("Extract:" /
"Exclude:" followed by a list). Each named topic becomes a :class:`Topic`, matched against
a fact by the categoriser's keywords for it (the built-in lexicons, e.g. "pets" knows dogs
and vets) and, when an embedder is configured, by similarity. Anything else an instruction
says (tone, format, how to phrase memories) needs a model; the README says so.

    >>> rules = parse_instructions("Only remember facts about pets. Never store health data.")
    >>> [t.phrase for t in rules.keep], [t.phrase for t in rules.ignore]
    (['pets'], ['health'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from memkit._text import content_words

__all__ = ["InstructionRules", "Topic", "parse_instructions", "with_filters"]

_I = re.IGNORECASE

_VERBS = (
    r"(?:remember|store|keep|save|track|record|capture|extract|note|memori[sz]e|retain|collect"
    r"|log|include)"
)
_WHAT = (
    r"(?:(?:any|all|the|only)\s+)?(?:facts?|information|info|details?|things?|memories|data"
    r"|anything|everything|stuff|mentions?)?"
)
_ABOUT = r"(?:\s*(?:about|on|of|regarding|related to|relating to|concerning|around|re:?)\s+)?"
_KEEP = [
    re.compile(rf"^(?:please\s+)?(?:only|just|solely|exclusively)\s+{_VERBS}\s+{_WHAT}{_ABOUT}"
               r"(?P<t>.+)$", _I),
    re.compile(rf"^(?:please\s+)?{_VERBS}\s+(?:only|just|solely|exclusively)\s+{_WHAT}{_ABOUT}"
               r"(?P<t>.+)$", _I),
    re.compile(r"^(?:please\s+)?(?:focus|concentrate)\s+(?:only\s+)?on\s+(?:facts?\s+about\s+)?"
               r"(?P<t>.+)$", _I),
]  # fmt: skip
_IGNORE = [
    re.compile(rf"^(?:please\s+)?(?:do not|don't|never|avoid|stop)\s+(?:ever\s+)?{_VERBS}(?:ing)?"
               rf"\s+{_WHAT}{_ABOUT}(?P<t>.+)$", _I),
    re.compile(rf"^(?:please\s+)?(?:ignore|skip|exclude|omit|disregard|leave out|drop)\s+{_WHAT}"
               rf"{_ABOUT}(?P<t>.+)$", _I),
    re.compile(rf"^no\s+{_WHAT}{_ABOUT}(?P<t>.+)$", _I),
]  # fmt: skip
_HEADER = re.compile(
    r"^(?P<kind>(?:information|facts|things|details)?\s*to\s+(?:extract|remember|store|keep)"
    r"|extract(?: only)?|include|keep|remember|exclude|ignore|do not (?:extract|store|remember)"
    r"|don't (?:extract|store|remember)|never (?:extract|store|remember)|avoid)\s*:\s*(?P<t>.*)$",
    _I,
)
_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*(?P<t>.+)$")
_SPLIT = re.compile(r"\s*(?:,|;|/|\band\b|\bor\b|\betc\b\.?)\s*", _I)
_TOPIC_TAIL = re.compile(
    r"\s+(?:(?:related )?(?:information|info|facts?|details?|data|things|topics?|preferences?"
    r"|matters|stuff)|(?:of|about|for|from) the (?:user|client|customer|person|patient)"
    r"|the user (?:mentions|shares|has))$",
    _I,
)
_TOPIC_HEAD = re.compile(
    r"^(?:(?:anything|everything|stuff|things|something)(?: (?:related to|about|regarding|on))?"
    r"|the user's|user's|their|the|my|any|all)\s+",
    _I,
)
_PREAMBLE = re.compile(r"^(?:your )?(?:task|goal|job|instructions?|rules?)\s*:\s*", _I)


@dataclass(frozen=True)
class Topic:
    """One topic an instruction names, as written ("pets", "health and fitness" -> two)."""

    phrase: str


@dataclass(frozen=True)
class InstructionRules:
    """Topics to keep only (empty: keep every topic) and topics never to store."""

    keep: tuple[Topic, ...] = field(default=())
    ignore: tuple[Topic, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.keep or self.ignore)


def parse_instructions(text: str | None) -> InstructionRules:
    """The keep/ignore topics ``text`` names; what it says otherwise is not read."""
    keep: list[Topic] = []
    ignore: list[Topic] = []
    section: list[Topic] | None = None
    for line in (text or "").splitlines():
        line = _PREAMBLE.sub("", line.strip())
        if not line:
            continue
        header = _HEADER.match(line)
        item = _ITEM.match(line)
        if header:
            negative = re.match(r"(?:exclude|ignore|do not|don't|never|avoid)", header["kind"], _I)
            section = ignore if negative else keep
            section.extend(_topics(header["t"]))
        elif item and section is not None:
            section.extend(_topics(item["t"]))
        else:
            section = None
            for sentence in re.split(r"(?<=[.!;])\s+", line):
                _read_sentence(sentence.strip(" .!;"), keep, ignore)
    return InstructionRules(tuple(dict.fromkeys(keep)), tuple(dict.fromkeys(ignore)))


def with_filters(
    rules: InstructionRules, includes: str | None, excludes: str | None
) -> InstructionRules:
    """``rules`` plus the platform's ``includes`` (topics to keep, only those) and
    ``excludes`` (topics never to store), each a phrase or a list ("dietary preferences",
    "Ignore weather comments, greetings, and small talk")."""
    keep = [*rules.keep, *_filter_topics(includes)]
    ignore = [*rules.ignore, *_filter_topics(excludes)]
    return InstructionRules(tuple(dict.fromkeys(keep)), tuple(dict.fromkeys(ignore)))


def _filter_topics(text: str | None) -> list[Topic]:
    """The topics of an ``includes`` / ``excludes`` value: its leading verb ("Extract",
    "Ignore", "Do not store") and "only" are read as what the option already says."""
    if not text:
        return []
    out: list[Topic] = []
    for line in re.split(r"[\n.;]+", text):
        out.extend(_topics(_FILTER_VERB.sub("", line.strip())))
    return out


_FILTER_VERB = re.compile(
    rf"^(?:please\s+)?(?:(?:do not|don't|never|only|just)\s+)?(?:{_VERBS[3:-1]}|ignore|skip"
    rf"|exclude|omit|disregard|leave out|drop|avoid|focus on)?\s*(?:only\s+)?{_WHAT}{_ABOUT}",
    _I,
)


def _read_sentence(sentence: str, keep: list[Topic], ignore: list[Topic]) -> None:
    for pattern in _IGNORE:
        m = pattern.match(sentence)
        if m:
            ignore.extend(_topics(m["t"]))
            return
    for pattern in _KEEP:
        m = pattern.match(sentence)
        if m:
            keep.extend(_topics(m["t"]))
            return


def _trim(text: str) -> str:
    """ "anything related to politics" -> "politics"; "wellness information about the
    client" -> "wellness"."""
    while True:
        trimmed = _TOPIC_HEAD.sub("", _TOPIC_TAIL.sub("", text.strip(" .:-")))
        if trimmed == text:
            return text
        text = trimmed


def _topics(text: str) -> list[Topic]:
    text = re.sub(r"\(.*?\)", " ", text)
    out = []
    for part in _SPLIT.split(_trim(text)):
        part = _trim(part)
        if content_words(part):
            out.append(Topic(part.lower()))
    return out
