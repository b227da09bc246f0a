"""Rewriting what a speaker says about themselves into a memory in the third person.

"I'm a vegetarian and I'm allergic to nuts" -> "Is a vegetarian", "Is allergic to nuts":
one atomic fact per clause, subject dropped, verb conjugated, "my" made "their", the way
mem0's LLM writes memories. This is English grammar by rule, kept apart from deciding which
sentences are worth it (``_patterns``) so either can change without the other.

    >>> rewrite_first_person("I'm a vegetarian and I'm allergic to nuts")
    ['Is a vegetarian', 'Is allergic to nuts']
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import NamedTuple

from lemminflect import getAllLemmas, getInflection

from memkit._text import word_set
from memkit.extract._reorder import reorder

__all__ = [
    "SECOND_PERSON",
    "Fact",
    "finish",
    "load_word_tables",
    "pronouns",
    "rewrite_facts",
    "rewrite_first_person",
    "third_person",
]

_I = re.IGNORECASE

_TABLES_LOCK = threading.Lock()
_tables_loaded = False


def load_word_tables() -> None:
    """Load lemminflect's tables now, once per process. It reads them on first use without
    a lock, so a burst of first adds (a fresh server worker) would each read them: 50 at
    once took 12-25 s each on two cores."""
    global _tables_loaded
    if _tables_loaded:
        return
    with _TABLES_LOCK:
        if not _tables_loaded:
            getAllLemmas("be")
            getInflection("be", "VBD")
            _tables_loaded = True


_FRONT_ADVERB = re.compile(r"^(recently|lately|currently|now|nowadays)\s*,?\s+(?=I\b)", _I)
_FRONT_TIME = re.compile(
    r"^((?:today|yesterday|these days|(?:last|this|next) \w+|in \d{4}))\s*,?\s+(I\b.*)$", _I
)
_CLAUSE_BREAK = re.compile(
    r",?\s+(?:and|but|plus|so|while|whereas)\s+(?:(?:then|now|also|in the \w+|on \w+s|at night"
    r"|at weekends|on weekends|later|these days)\s*,?\s+)?(?=(?:I|we|my|our)\b)"
    r"|[,;]\s+(?=(?:I|my)\b)",
    _I,
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
_TRAILING = re.compile(
    r"(?:[\s,]+(?:now|too|as well|though|anyway|actually|lol|haha|by the way|btw|ugh|you know"
    r"|if that matters|if you must know|fyi|i guess|i think|for what it's worth|just so you know"
    r"|(?:please )?use that(?: one)?(?: instead)?))+$|[\s,;:.!-]+$",
    _I,
)

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

# Talk about the listener, which is never a fact about the speaker.
SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'll|u|ya)\b", _I)


def _normalise_subject(text: str) -> str:
    text = re.sub(r"(?<![\w.'])i(?=\s|')", "I", text)
    text = re.sub(r"\b(we|I) (?:both|all|two) ", r"\1 ", text, flags=_I)
    text = reorder(text)
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
    return [fact.text for fact in rewrite_facts(sentence)]


class Fact(NamedTuple):
    """A rewritten fact; ``owned`` when its subject is something of the speaker's ("Sister
    lives in Rome", "Name is Alex"), so a named speaker's form is "Ann's sister ..." rather
    than "Ann lives ..."."""

    text: str
    owned: bool = False
    said: bool = False  # a clause with no first-person form, as said ("Tomasz is vegan")


def rewrite_facts(sentence: str) -> list[Fact]:
    """:func:`rewrite_first_person`, saying which facts have the speaker's thing as subject."""
    sentence = _normalise_subject(sentence)
    clauses = [sentence] if _with_subject(sentence) else _clauses(sentence)
    facts: list[Fact] = []
    person = None  # "my sister" of an earlier clause, which a later "her" refers to
    for clause in clauses:
        if person is not None:
            clause = _OBJECT_PRONOUN.sub(person, clause, count=1)
        got = _clause_facts(clause)
        facts.extend(got or [Fact(clause, said=True)] if len(clauses) > 1 else got)
        m = _KIN_SUBJECT.match(clause)
        person = m.group("who").lower() if m else None
    return facts


# "My sister lives in Rome and I visit her": "her" is the sister.
_KIN_SUBJECT = re.compile(
    r"^(?:my|our) (?P<who>(?:little |big |older |younger )?(?:sister|brother|mother|mom|mum"
    r"|father|dad|wife|husband|partner|son|daughter|girlfriend|boyfriend|grandma|grandpa"
    r"|grandmother|grandfather|aunt|uncle|cousin|niece|nephew|friend|best friend|boss"
    r"|neighbou?r|roommate|fianc[eé]e?))\b",
    _I,
)
_OBJECT_PRONOUN = re.compile(r"(?<=\w )\b(?:her|him|them)\b(?! own)", _I)


def _with_subject(sentence: str) -> re.Match[str] | None:
    """ "My wife and I went to Paris": a shared subject, when the part before "and I" is a
    noun phrase ("my wife"), not a clause of its own ("my sister lives in Rome")."""
    m = _WITH_SUBJECT.match(sentence)
    if m is None:
        return None
    who = (m.group("a") or m.group("b")).split()
    return m if len(who) <= 3 and not _has_verb(who) else None


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


def _clause_facts(clause: str) -> list[Fact]:
    named = _name_facts(clause)
    if named is not None:
        return [Fact(fact, fact.startswith("Name is ")) for fact in named]
    m = _with_subject(clause)
    if m:
        who = pronouns(m.group("a") or m.group("b"))
        return [Fact(finish(f"{' '.join(_conjugate(m.group('vp').split()))} with {who}"))]
    m = re.match(r"^(?:my|our) (?P<rest>[\w'-]+ \w.*)$", clause, flags=_I)
    rest = re.sub(r"^name's\b", "name is", m.group("rest"), flags=_I) if m else ""
    if m and _has_verb(rest.split()[1:]):
        return [Fact(finish(pronouns(_inner_subjects(rest))), owned=True)]
    m = re.match(r"^(?:I|we)\s+(?P<vp>.+)$", clause, flags=_I)
    if m:
        first, *more = split_verb_phrases(m.group("vp"))
        facts = [Fact(finish(_verb_phrase(first)))]
        past = _is_past(first.split()[0].lower())
        for vp in more:  # "explored the coast and hit some parks": "hit" is past too
            verb = vp.split()[0].lower()
            kept = past and verb in getInflection(verb, "VBD")
            facts.append(Fact(finish(pronouns(vp) if kept else _verb_phrase(vp))))
        return facts
    if _subjectless(clause):
        vp = clause if clause.split()[0].lower() not in _SUBJECTLESS_ING else f"am {clause}"
        return [Fact(finish(_verb_phrase(vp)))]
    return []


_VP_JOIN = re.compile(
    r",?\s+(?:and|but|and then|and also|but also)\s+(?P<w>[a-z]+)\b(?:(?=\s(?P<after>\S+)))?"
)
_FUNCTION_WORDS = word_set(
    """a an the my our his her their its this that these those some any in on at to for with from
    by of into up out off over back down about around away as every all two three"""
)


def split_verb_phrases(vp: str) -> list[str]:
    """ "work as a pilot and live in Oslo" -> two facts; "love cooking and travel" stays one.

    A second verb phrase starts at "and"/"but" followed by a word that is a verb in the
    first person: one lemminflect knows only as a verb, or a verb-or-noun followed by a
    function word ("and live in", "and visit her"). A part that refers back ("and loved it")
    stays with the part it refers to.
    """
    parts: list[str] = []
    start = 0
    starts = [0]
    inflected: dict[int, str] = {}  # coordinated verbs kept in one fact: "and sells it"
    for m in _VP_JOIN.finditer(vp):
        word, after = m.group("w"), (m.group("after") or "").strip().lower()
        before = vp[start : m.start()].split()
        if not _starts_verb_phrase(word, after):
            if len(before) == 1 and _base_verb(word):  # "run and swim"
                inflected[m.start("w")] = word
            continue
        rest_end = vp.find(" and ", m.end())
        nxt = vp[m.start("w") : rest_end if rest_end > 0 else len(vp)]
        if _BACKREF.search(nxt):
            if _base_verb(word):  # "bake bread and sell it"
                inflected[m.start("w")] = word
            continue
        parts.append(vp[start : m.start()])
        starts.append(m.start("w"))
        start = m.start("w")
    parts.append(vp[start:])
    out = []
    for begin, part in zip(starts, parts, strict=True):
        for at, word in sorted(inflected.items(), reverse=True):
            if begin <= at < begin + len(part):
                i = at - begin
                part = part[:i] + third_person(word) + part[i + len(word) :]
        out.append(part.strip())
    return [p for p in out if p]


def _base_verb(word: str) -> bool:
    return word in getAllLemmas(word).get("VERB", ()) and word not in _MODALS


def _starts_verb_phrase(word: str, after: str) -> bool:
    if word in _MODALS or word in ("am", "was", "have", "had"):
        return True
    lemmas = getAllLemmas(word)
    verb = lemmas.get("VERB", ())
    if not verb or (word not in verb and not _is_past(word)):
        return False  # "lives", "cooking": not what follows "I"
    if "NOUN" not in lemmas:
        return True  # "live", "visit"... as verbs only (or adjectives)
    # "drink wine", "visit her": a verb-or-noun taking an object; not "tea and milk in ...".
    if after in _DETERMINERS:
        return True
    after_lemmas = getAllLemmas(after) if after else {}
    return bool(after_lemmas) and set(after_lemmas) <= {"NOUN", "PROPN"}


_DETERMINERS = word_set(
    "a an the my our his her their its this that these those some any every him them me us"
)


def _has_verb(tokens: list[str]) -> bool:
    """Whether a possessive clause says something ("My kids love pizza", "My neighbour's
    dog barks"), rather than being a bare noun phrase ("My own journey of self-discovery")."""
    return any(
        t.lower() in _COMMON_VERBS
        or t.lower().endswith(("ed", "'s"))
        or t.lower() in _MODALS
        or _inflected_verb(t.lower(), tokens[i - 1].lower() if i else "")
        for i, t in enumerate(tokens)
    )


def _inflected_verb(word: str, before: str) -> bool:
    """ "barks", "fought": a verb form other than the base, which a noun phrase lacks; a
    word that is also a plural noun counts only after a noun ("dog barks", not "of books")."""
    lemmas = getAllLemmas(word)
    verb = lemmas.get("VERB", ())
    if not verb or word in verb:
        return False
    return "NOUN" not in lemmas or (bool(before) and before not in _FUNCTION_WORDS)


def _name_facts(clause: str) -> list[str] | None:
    m = _CALLED.match(clause) or _NAME.match(clause)
    if m and m.group("name").split()[0].lower() not in _NOT_NAMES:
        facts = [f"Name is {m.group('name')}"]
        tail = m.groupdict().get("tail")
        if tail:
            first = tail.split()[0].lower()
            vp = f"am {tail}" if first in ("a", "an", "the") or first.isdigit() else tail
            facts.append(finish(_verb_phrase(vp)))
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
    return pronouns(_inner_subjects(" ".join(_conjugate(vp.split()))))


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
        out.append(third_person(low))
    return out + rest


def _is_adverb(token: str) -> bool:
    low = token.lower()
    if low in _DROP_ADVERBS or low in _KEEP_ADVERBS:
        return True
    return low.endswith("ly") and len(low) > 4 and low not in _LY_VERBS


def _is_past(word: str) -> bool:
    if word in _IRREGULAR_PAST or (word.endswith("ed") and word not in _ED_BASE):
        return True
    lemmas = getAllLemmas(word).get("VERB", ())  # "tore", "swore": lemminflect knows them
    return bool(lemmas) and word not in lemmas and word in getInflection(lemmas[0], "VBD")


def third_person(verb: str) -> str:
    if verb == "go":
        return "goes"
    if re.search(r"(?:s|sh|ch|x|z|o)$", verb):
        return verb + "es"
    if re.search(r"[^aeiou]y$", verb):
        return verb[:-1] + "ies"
    return verb + "s"


def pronouns(text: str) -> str:
    """First person to third, leaving words inside addresses alone ("dana@proton.me")."""
    text = re.sub(
        r"(?<![\w.@/-])(my|our|me|us|myself|ourselves|mine|ours)\b(?![.@/-]\w)",
        lambda m: _PRONOUNS[m.group(1).lower()],
        text,
        flags=_I,
    )
    text = re.sub(r"(?<![\w.@/-])(?:I|we) am\b", "they are", text, flags=_I)
    text = re.sub(r"(?<![\w.@/-])(?:I|we) was\b", "they were", text, flags=_I)
    return re.sub(r"(?<![\w.@/-])(?:I|we)\b(?!['.@/-])", "they", text)


def finish(fact: str) -> str:
    fact = _TRAILING.sub("", fact.strip())
    fact = re.sub(r"\s+", " ", fact)
    fact = re.sub(r"^(is|turned) (\d{1,3})$", r"\1 \2 years old", fact, flags=_I)
    return fact[:1].upper() + fact[1:] if fact else fact
