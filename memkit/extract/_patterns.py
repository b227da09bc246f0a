"""Reading chat messages into short memory facts and delete requests, by rule.

The rule extractor stores what a speaker says about themselves the way mem0's
LLM does: one atomic fact per statement, subject dropped, verb in the third
person ("I'm a vegetarian and I'm allergic to nuts" -> "Is a vegetarian",
"Is allergic to nuts"). Questions, greetings and chit-chat give nothing; a
short reply borrows its topic from the question it answers. This module is
pure text work; deciding what a fact does to the store is ``extract_rules``'s.

    >>> msgs = [Message(role="user", content="I live in Paris")]
    >>> [s.fact for s in read_messages(msgs, ["user"])]
    ['Lives in Paris']
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from memkit._text import STOPWORDS, content_words, stem, stems, word_set
from memkit.extract._interface import Message, Side

__all__ = ["DeleteRequest", "Statement", "read_messages", "rewrite_first_person"]


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


@dataclass(frozen=True)
class Statement:
    """One fact, or one delete request, of one side; ``message`` is the message's index."""

    side: Side
    fact: str | None = None
    delete: DeleteRequest | None = None
    message: int = 0


_I = re.IGNORECASE

_INTERJECTION = re.compile(
    r"^(?:hi|hello|hey|hiya|yes|yeah|yep|yup|no|nope|nah|ok|okay|sure|well|so|oh|ah|um|uh"
    r"|hmm+|great|nice|cool|awesome|perfect|thanks|thank you|thx|understood|got it|alright"
    r"|all right|actually|also|btw|by the way|anyway|anyways|honestly|please|wow|haha|lol"
    r"|indeed|absolutely|definitely|of course|sounds good)\b[\s,!.:;-]*",
    _I,
)
_VOCATIVE = re.compile(r"^[A-Z][a-z]+,\s+(?=(?:I|my|we)\b)")
_FRONT_ADVERB = re.compile(r"^(recently|lately|currently|now|nowadays)\s*,?\s+(?=I\b)", _I)
_FRONT_TIME = re.compile(
    r"^((?:today|yesterday|these days|(?:last|this|next) \w+|in \d{4}))\s*,?\s+(I\b.*)$", _I
)
_QUESTION_START = re.compile(
    r"^(?:can|could|would|will|do|does|did|should|is|are|may|shall|have|has|what|where"
    r"|when|why|who|whom|how|which|tell me|show me|give me|help me|let's|let me)\b",
    _I,
)
_CLAUSE_BREAK = re.compile(
    r",?\s+(?:and|but|plus|so|while|whereas)\s+(?=(?:I|we|my|our)\b)|[,;]\s+(?=(?:I|my)\b)", _I
)
_BACKREF = re.compile(r"\b(?:it|them|that|this|there|those|these)\b", _I)

# Subject and verb.
_DROP_ADVERBS = word_set(
    "also really actually honestly truly totally definitely absolutely basically literally "
    "personally seriously certainly kinda"
)
_KEEP_ADVERBS = word_set(
    "never always often sometimes usually just still already now even only recently currently "
    "rarely seldom mostly mainly generally normally typically occasionally finally soon once "
    "ever no longer"
)
_AUXILIARIES = word_set("am are was were have 'd can will would could should must might may")
_LY_VERBS = word_set("apply reply rely supply multiply comply imply ally")
_MODALS = word_set(
    "can could will would shall should may might must won't wouldn't didn't couldn't "
    "shouldn't wasn't mustn't cannot"
)
_VERB_FORMS = {
    "don't": "doesn't", "haven't": "hasn't", "can't": "cannot", "aren't": "isn't",
    "ain't": "isn't", "weren't": "wasn't", "am": "is", "are": "is", "were": "was",
    "have": "has", "do": "does", "be": "is", "gotta": "has to", "gonna": "is going to",
    "wanna": "wants to",
}  # fmt: skip
_IRREGULAR_PAST = word_set(
    """went was had did made took got saw came ate drank bought met left began became felt
    found gave knew lost ran said sat sent spent stood thought told understood won wrote broke
    chose drove flew forgot grew heard hid kept led paid rode rang rose sang sold slept spoke
    swam taught threw woke wore brought caught fought held built lent meant fell quit been
    done seen eaten gone given taken written"""
)
_ED_BASE = word_set("need feed bleed breed proceed succeed exceed speed heed seed shed wed")
_PRONOUNS = {
    "my": "their", "our": "their", "me": "them", "us": "them", "myself": "themselves",
    "ourselves": "themselves", "mine": "theirs", "ours": "theirs",
}  # fmt: skip
_INNER_I = re.compile(
    r"\b(and|but|so|since|because|as|when|while|although|though|if|until|before|after|or"
    r"|then|cause|cos)\s+(?:I|we)\s+",
    _I,
)
_TRAILING = re.compile(r"(?:[\s,]+(?:now|too|as well|though|anyway|lol|haha))+$|[\s,;:.!-]+$", _I)

# Names.
_NOT_NAMES = word_set(
    """vegan vegetarian pescatarian single married divorced engaged retired british english
    american canadian mexican brazilian argentinian french german italian spanish portuguese
    dutch swiss swedish norwegian danish finnish irish scottish welsh polish russian ukrainian
    greek turkish egyptian nigerian kenyan indian pakistani chinese japanese korean
    vietnamese thai filipino indonesian australian israeli iranian muslim christian jewish
    hindu buddhist catholic atheist ok okay fine good great sorry glad happy here back
    ready"""
)
_NAME = re.compile(r"^I am (?P<name>[A-Z][\w'-]*(?: [A-Z][\w'-]*)?)(?:\s*,\s*(?P<tail>.+))?$")
_CALLED = re.compile(r"^I am (?:called|named) (?P<name>[A-Z][\w'-]*(?: [A-Z][\w'-]*)?)$")
_CALL_ME = re.compile(
    r"^(?:please )?(?:you can |people |everyone |friends )?calls? me (?P<name>[A-Z][\w'-]*)$", _I
)
_WITH_SUBJECT = re.compile(
    r"^(?:(?:my|our) (?P<a>[\w' -]+?) and I|me and my (?P<b>[\w' -]+?)) (?P<vp>.+)$", _I
)
_COMMON_VERBS = word_set(
    """is are was were has have had does do did love loves like likes live lives work works
    hate hates want wants need needs play plays go goes enjoy enjoys eat eats make makes
    take takes get gets got went came comes starts started"""
)
_SUBJECTLESS = word_set(
    """love loved like liked hate hated prefer enjoy enjoyed adore dislike am was went visited
    tried started moved live work used grew been"""
)
_SUBJECTLESS_ING = word_set(
    """planning thinking going moving working living trying learning studying looking hoping
    visiting traveling travelling"""
)
_AFTER_NEGATION = word_set(
    """like love enjoy eat drink care have own smoke watch play know speak drive cook want
    need live work understand really eat really like liked eaten tried been"""
)

# What is not worth remembering.
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'll|u|ya)\b", _I)
_FILLER = re.compile(
    r"^(?:(?:is|was) (?:not )?(?:sorry|fine|good|ok|okay|great|alright|well|here|back|ready"
    r"|done|sure|glad|happy to|curious|wondering|just (?:asking|curious|wondering|kidding)"
    r"|kidding|joking|looking forward to (?:it|that))\b|was wondering|has a question"
    r"|needs (?:some )?help|wants to know|would like to know|would love that|would like that"
    r"|wants to ask|would like to ask|hopes so|thinks so|guesses so|means|appreciates|gets it"
    r"|agrees|is doing (?:ok|okay|good|great|well|fine|alright|better))\b",
    _I,
)
_EMPTY_VERBS = frozenset(
    stems(
        word_set("""love like hate enjoy prefer know see understand agree guess mean hope think
        wonder appreciate not no never want need get go do say tell wait""")
    )
)
_AGENT_CHATTER = re.compile(
    r"^(?:will|would|can|could|shall|should|may|might|cannot|won't|is (?:happy|glad|sorry|here"
    r"|unable|not able|able|ready|always happy)|does(?:n't| not) have|has (?:noted|made a note"
    r"|added|saved|updated|deleted|removed|recorded)|understands|hopes|recommends|suggests"
    r"|thinks|believes|remembers|is going to (?![A-Z]|the\b|a\b|an\b)[a-z]+)\b",
)


def read_messages(messages: Sequence[Message], sides: Sequence[Side]) -> list[Statement]:
    """Statements from the messages of the sides being written, in order.

    Other roles (and the other side) only lend context: the question a short
    reply answers. System messages never give statements.
    """
    out: list[Statement] = []
    for i, msg in enumerate(messages):
        if msg.role not in sides or msg.role not in ("user", "assistant"):
            continue
        prev = messages[i - 1] if i else None
        question = None
        if prev is not None and prev.role in ("user", "assistant") and prev.role != msg.role:
            question = last_question(prev.content)
        out.extend(_read_message(msg.content, msg.role, question, i))
    return out


def _read_message(content: str, side: Side, question: str | None, index: int) -> list[Statement]:
    out: list[Statement] = []
    for raw in split_sentences(content):
        asked = raw.rstrip().endswith("?")
        text = _strip_front(_tidy(raw))
        if not text:
            continue
        request = parse_delete(text)
        if request is not None:
            out.append(Statement(side, delete=request, message=index))
            continue
        if asked or _QUESTION_START.match(text):
            continue
        for fact in rewrite_first_person(text):
            fact = substitute_referent(fact, question)
            if _worth_keeping(fact, side):
                out.append(Statement(side, fact=fact, message=index))
    if not out and question is not None:
        answer = answer_fact(content, question)
        if answer and _worth_keeping(answer, side):
            out.append(Statement(side, fact=answer, message=index))
    return out


def split_sentences(text: str) -> list[str]:
    """Split on sentence ends, semicolons and line breaks; keep the end mark."""
    out, start = [], 0
    for m in re.finditer(r"[.!?…]+(?=\s|$)|\n+|;|\s+(?:-+|—)\s+", text):
        before = text[start : m.start()].rsplit(maxsplit=1)
        if m.group().startswith(".") and before and before[-1].lower() in _ABBREVIATIONS:
            continue
        out.append(text[start : m.end()].strip())
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s.strip(" .!?;…\n")]


_ABBREVIATIONS = word_set("mr mrs ms dr st jr sr vs etc e.g i.e approx no")


def _tidy(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s+", " ", text).strip().strip('"')
    return re.sub(r"[\s.!?…;:,]+$", "", text)


def _strip_front(text: str) -> str:
    """Drop greetings, interjections and a following vocative ("Hi Alex, I'm ...")."""
    while True:
        stripped = _INTERJECTION.sub("", text, count=1)
        if stripped == text:
            return text
        text = _VOCATIVE.sub("", stripped, count=1)


def _normalise_subject(text: str) -> str:
    text = re.sub(r"(?<![\w.'])i(?=\s|')", "I", text)
    text = re.sub(r"^im\b", "I'm", text, flags=_I)
    text = re.sub(r"\b(I|we)'m\b|\b(I|we) ?'re\b", r"\1\2 am", text, flags=_I)
    text = re.sub(r"\b(I|we)'ve\b", r"\1 have", text, flags=_I)
    text = re.sub(r"\b(I|we)'ll\b", r"\1 will", text, flags=_I)
    text = re.sub(r"\b(I|we)'d\b", r"\1 'd", text, flags=_I)
    text = re.sub(r"\bwe am\b", "we are", text, flags=_I)
    m = _FRONT_TIME.match(text)
    if m:
        text = f"{m.group(2)} {m.group(1).lower()}"
    m = _FRONT_ADVERB.match(text)
    if m:
        text = re.sub(r"^(I)\s+", rf"\1 {m.group(1).lower()} ", text[m.end() :], count=1)
    return text


def rewrite_first_person(sentence: str) -> list[str]:
    """Facts in memory style from one declarative sentence; [] when it is not about the speaker."""
    sentence = _normalise_subject(sentence)
    clauses = [sentence] if _WITH_SUBJECT.match(sentence) else _clauses(sentence)
    facts: list[str] = []
    for clause in clauses:
        facts.extend(_clause_facts(clause))
    return facts


def _clauses(sentence: str) -> list[str]:
    """Split "I'm X and I'm Y" in two, but keep "I tried it and I loved it" whole."""
    out: list[str] = []
    start, glue = 0, ""
    for m in [*_CLAUSE_BREAK.finditer(sentence), None]:
        part = sentence[start : m.start() if m else len(sentence)].strip()
        if out and _BACKREF.search(part) and out[-1].lower().startswith(("i ", "we ")):
            out[-1] = f"{out[-1]}{glue}{part}"
        elif part:
            out.append(part)
        if m:
            start, glue = m.end(), m.group().rstrip() + " "
    return out


def _clause_facts(clause: str) -> list[str]:
    named = _name_facts(clause)
    if named is not None:
        return named
    m = _WITH_SUBJECT.match(clause)
    if m:
        who = _pronouns(m.group("a") or m.group("b"))
        return [_finish(f"{' '.join(_conjugate(m.group('vp').split()))} with {who}")]
    m = re.match(r"^(?:my|our) (?P<rest>[\w'-]+ \w.*)$", clause, flags=_I)
    rest = re.sub(r"^name's\b", "name is", m.group("rest"), flags=_I) if m else ""
    if m and _has_verb(rest.split()[1:]):
        return [_finish(_pronouns(_inner_subjects(rest)))]
    m = re.match(r"^(?:I|we)\s+(?P<vp>.+)$", clause, flags=_I)
    if m:
        return [_finish(_verb_phrase(m.group("vp")))]
    if _subjectless(clause):
        vp = clause if clause.split()[0].lower() not in _SUBJECTLESS_ING else f"am {clause}"
        return [_finish(_verb_phrase(vp))]
    return []


def _has_verb(tokens: list[str]) -> bool:
    """Whether a possessive clause says something ("My kids love pizza"), rather than
    being a bare noun phrase ("My own journey of self-discovery")."""
    return any(
        t.lower() in _COMMON_VERBS or t.lower().endswith(("ed", "'s")) or t.lower() in _MODALS
        for t in tokens
    )


def _name_facts(clause: str) -> list[str] | None:
    m = _CALLED.match(clause) or _NAME.match(clause)
    if m and m.group("name").split()[0].lower() not in _NOT_NAMES:
        facts = [f"Name is {m.group('name')}"]
        tail = m.groupdict().get("tail")
        if tail:
            first = tail.split()[0].lower()
            vp = f"am {tail}" if first in ("a", "an", "the") or first.isdigit() else tail
            facts.append(_finish(_verb_phrase(vp)))
        return facts
    m = _CALL_ME.match(clause)
    if m:
        return [f"Prefers to be called {m.group('name')}"]
    return None


def _subjectless(clause: str) -> bool:
    """ "Don't like it much", "Love it", "Planning a trip": a reply with the "I" left out."""
    toks = clause.lower().split()
    first, nxt = toks[0], toks[1] if len(toks) > 1 else ""
    if first in ("don't", "do", "can't", "cannot", "never", "really", "totally", "just"):
        nxt = toks[2] if first == "do" and nxt == "not" and len(toks) > 2 else nxt
        return nxt in _AFTER_NEGATION
    return first in _SUBJECTLESS or first in _SUBJECTLESS_ING


def _verb_phrase(vp: str) -> str:
    """ "am allergic to nuts" -> "is allergic to nuts"; inner "and I loved it" -> "and loved it"."""
    return _pronouns(_inner_subjects(" ".join(_conjugate(vp.split()))))


def _inner_subjects(text: str) -> str:
    pieces = _INNER_I.split(text)
    out = pieces[0]
    for conj, rest in zip(pieces[1::2], pieces[2::2], strict=True):
        out += f" {conj} {' '.join(_conjugate(rest.split()))}"
    return out


def _conjugate(tokens: list[str]) -> list[str]:
    """Put the first verb of a first-person verb phrase in the third person; adverbs in
    front of an auxiliary move after it ("now am happy" -> "is now happy")."""
    adverbs = [t for t in itertools.takewhile(_is_adverb, tokens)]
    i = len(adverbs)
    adverbs = [t for t in adverbs if t.lower() not in _DROP_ADVERBS]
    if i == len(tokens):
        return adverbs
    word = re.match(r"^(.*?)([,;:!?.]*)$", tokens[i])
    verb, punct = (word.group(1), word.group(2)) if word else (tokens[i], "")
    out = _conjugate_verb(verb, tokens[i + 1 :])
    out[0] += punct
    if verb.lower() in _AUXILIARIES and adverbs and len(out) > 1:
        return [out[0], *adverbs, *out[1:]]
    return adverbs + out


def _conjugate_verb(verb: str, rest: list[str]) -> list[str]:
    low = verb.lower()
    out: list[str] = []
    nxt = rest[0].lower() if rest else ""
    if low == "'d":
        out.append("had" if nxt in _IRREGULAR_PAST or _is_past(nxt) else "would")
    elif low in ("can", "do") and nxt == "not":
        out.append("cannot" if low == "can" else "does not")
        rest = rest[1:]
    elif low in _VERB_FORMS:
        out.append(_VERB_FORMS[low])
        if low == "have" and nxt == "got" and (len(rest) < 2 or rest[1].lower() != "to"):
            rest = rest[1:]
    elif low in _MODALS or low.endswith("n't") or _is_past(low):
        out.append(verb if low != "can't" else "cannot")
    else:
        out.append(_third_person(low))
    return out + rest


def _is_adverb(token: str) -> bool:
    low = token.lower()
    if low in _DROP_ADVERBS or low in _KEEP_ADVERBS:
        return True
    return low.endswith("ly") and len(low) > 4 and low not in _LY_VERBS


def _is_past(word: str) -> bool:
    return word in _IRREGULAR_PAST or (word.endswith("ed") and word not in _ED_BASE)


def _third_person(verb: str) -> str:
    if verb == "go":
        return "goes"
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def _pronouns(text: str) -> str:
    text = re.sub(
        r"\b(my|our|me|us|myself|ourselves|mine|ours)\b",
        lambda m: _PRONOUNS[m.group(1).lower()],
        text,
        flags=_I,
    )
    return re.sub(r"\b(?:I|we)\b(?!')", "they", text)


def _finish(fact: str) -> str:
    fact = _TRAILING.sub("", fact.strip())
    fact = re.sub(r"\s+", " ", fact)
    fact = re.sub(r"^(is|turned) (\d{1,3})$", r"\1 \2 years old", fact, flags=_I)
    return fact[:1].upper() + fact[1:] if fact else fact


def _worth_keeping(fact: str, side: Side) -> bool:
    """Drop chit-chat ("Is fine", "Loves it"), talk about the listener, and agent promises."""
    low = fact.lower()
    if not fact or _SECOND_PERSON.search(fact) or _FILLER.match(low):
        return False
    if side == "assistant" and _AGENT_CHATTER.match(fact[:1].lower() + fact[1:]):
        return False
    informative = content_words(fact) - _EMPTY_VERBS
    first = fact.split()[0].lower()
    if first not in STOPWORDS:  # "Works", "Got this": a verb with nothing after it
        informative -= {stem(first)}
    return bool(informative)


# ---------------------------------------------------------------- delete requests

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
    if not content_words(phrase) or _SECOND_PERSON.search(phrase):
        return None
    last = phrase.split()[-1]
    return DeleteRequest("topic", phrase, broad=broad or last in _COLLECTIVE)


# ---------------------------------------------------------------- replies to questions

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
_NO = re.compile(r"^(?:no|nope|nah|not really|no thanks|not at all)\b", _I)
_WH_TEMPLATES = [
    (re.compile(r"^what(?:'s| is) your (?P<slot>[\w' -]+)$", _I), "{slot} is {a}"),
    (re.compile(r"^where do you live$", _I), "Lives in {a}"),
    (re.compile(r"^where are you from$", _I), "Is from {a}"),
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
    return _strip_front(_tidy(questions[-1])) if questions else None


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
    return fact[: m.start()] + _pronouns(x) + fact[m.end() :]


def answer_fact(content: str, question: str) -> str | None:
    """A fact from a short reply that only makes sense with its question, or None."""
    reply = _strip_front_keep_yes(_tidy(content))
    offer = _OFFER.match(question)
    if offer and _YES.match(reply):
        return _wanted(offer.group("x"), content)
    pref = _REFERENT_QUESTIONS[1].match(question)
    if pref and pref.group("v").lower() not in ("want", "prefer"):
        first, *more = pref.group("v").lower().split()
        verb = " ".join([_third_person(first), *more])
        obj = _pronouns(_REFERENT_TAIL.sub("", pref.group("x")))
        if _YES.match(reply):
            return _finish(f"{verb} {obj}")
        if _NO.match(reply):
            return _finish(f"doesn't {pref.group('v').lower()} {obj}")
    answer = re.sub(_HEDGE_FRONT, "", _strip_front(reply))
    answer = re.sub(_HEDGE_END, "", answer)
    if not answer or len(answer.split()) > 6 or _NON_ANSWER.search(answer):
        return None
    for pattern, template in _WH_TEMPLATES:
        m = pattern.match(question)
        if m and (template != "Is {a} years old" or answer.isdigit()):
            slot = m.groupdict().get("slot", "")
            return _finish(template.format(slot=slot, a=answer))
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
    return _finish(f"wants {_pronouns(x)}")
