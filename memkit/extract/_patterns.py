"""Reading chat messages into short memory facts and delete requests, by rule.

The rule extractor stores what a speaker says about themselves the way mem0's
LLM does: one atomic fact per statement, subject dropped, verb in the third
person ("I'm a vegetarian and I'm allergic to nuts" -> "Is a vegetarian",
"Is allergic to nuts"). Questions, greetings and chit-chat give nothing; a
short reply borrows its topic from the question it answers. This module decides
which sentences give a fact; the grammar of the rewriting is ``_first_person``'s, delete
requests are ``_deletes``', replies to questions ``_answers``', and what a fact does to
the store is ``_rules``'.

    >>> msgs = [Message(role="user", content="I live in Paris")]
    >>> [s.fact for s in read_messages(msgs, ["user"])]
    ['Lives in Paris']
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from memkit._text import STOPWORDS, content_words, stem, stems, word_set
from memkit.extract._answers import answer_fact, last_question, substitute_referent
from memkit.extract._deletes import DeleteRequest, parse_delete
from memkit.extract._first_person import SECOND_PERSON, Fact, rewrite_facts
from memkit.extract._interface import Message, Side
from memkit.extract._sentences import split_sentences, strip_front, tidy
from memkit.extract._speakers import speaker_name, with_subject
from memkit.extract._statements import keep_statement

__all__ = ["ReadingOptions", "Statement", "read_messages"]


@dataclass(frozen=True)
class ReadingOptions:
    """Parts of reading that can be switched off, for measuring what each buys
    (``benchmarks/locomo.py``'s extractor ablation); all on by default.

    ``keep_statements``: informative sentences with no first-person form are kept as said.
    ``name_speakers``: a message's ``name`` becomes its facts' subject.
    ``words_to_others``: a named speaker's words to the other people are kept.
    """

    keep_statements: bool = True
    name_speakers: bool = True
    words_to_others: bool = True


@dataclass(frozen=True)
class Statement:
    """One fact, or one delete request, of one side; ``message`` is the message's index.

    ``fact`` is the memory text, naming its subject when the message has a ``name``
    (``_speakers``); ``speaker`` is that name. ``verbatim`` marks a sentence kept as said
    (``_statements``) rather than rewritten.
    """

    side: Side
    fact: str | None = None
    delete: DeleteRequest | None = None
    message: int = 0
    speaker: str | None = None
    verbatim: bool = False


_I = re.IGNORECASE

_QUESTION_START = re.compile(
    r"^(?:can|could|would|will|do|does|did|should|is|are|may|shall|have|has|what|where"
    r"|when|why|who|whom|how|which|tell me|show me|give me|help me|let's|let me)\b",
    _I,
)

_ASIDE_QUESTION = re.compile(
    r"^(?P<head>(?:I|I'm|I've|my|we|our)\b.+?),\s*(?:any|what|how|thoughts|ideas|suggestions"
    r"|tips|advice|right|ok|okay|you know|do you|can you|could you|would you|should I|is that"
    r"|isn't it|don't you)\b[^,]*$",
    _I,
)

# What is not worth remembering.
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


def read_messages(
    messages: Sequence[Message], sides: Sequence[Side], options: ReadingOptions | None = None
) -> list[Statement]:
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
        opts = options or ReadingOptions()
        speaker = speaker_name(msg.name) if opts.name_speakers else None
        reading = _Reading(msg.role, question, i, speaker, opts)
        out.extend(reading.read(msg.content))
    return out


@dataclass(frozen=True)
class _Reading:
    """How one message is read: its side, the question it may answer, its speaker."""

    side: Side
    question: str | None
    index: int
    speaker: str | None
    options: ReadingOptions

    def read(self, content: str) -> list[Statement]:
        out: list[Statement] = []
        for raw in split_sentences(content):
            asked = raw.rstrip().endswith("?")
            text = strip_front(tidy(raw))
            if not text:
                continue
            request = parse_delete(text)
            if request is not None:
                out.append(Statement(self.side, delete=request, message=self.index))
                continue
            if asked:  # "I get migraines a lot, any tips?": the statement before the ask
                m = _ASIDE_QUESTION.match(text)
                text = m.group("head") if m else ""
            if not text or _QUESTION_START.match(text):
                continue
            facts = rewrite_facts(text) or [Fact(text, said=True)]
            # a named speaker speaks to others, not to the assistant
            named = self.speaker is not None and self.options.words_to_others
            for fact in facts:
                if fact.said:
                    kept = keep_statement(
                        fact.text if named else without_listener(fact.text), named
                    )
                    keep = self.options.keep_statements and kept is not None
                    if keep and kept and _worth_keeping(kept, self.side, named):
                        out.append(self._fact(kept, owned=False, verbatim=True))
                    continue
                said = substitute_referent(fact.text, self.question)
                said = said if named else without_listener(said)
                if _worth_keeping(said, self.side, named):
                    out.append(self._fact(said, fact.owned))
        if self.question is not None and all(s.verbatim for s in out):
            answer = answer_fact(content, self.question)  # a short reply: read with its question
            if answer and _worth_keeping(answer, self.side):
                return [self._fact(answer, owned=False)]
        return out

    def _fact(self, fact: str, owned: bool, verbatim: bool = False) -> Statement:
        text = with_subject(fact, self.speaker, owned, verbatim)
        return Statement(
            self.side, fact=text, message=self.index, speaker=self.speaker, verbatim=verbatim
        )


_LISTENER_CLAUSE = re.compile(r"(?:[,;:]| -| but| so| and| maybe| if)\s")


def without_listener(text: str) -> str:
    """ "Made a chocolate cake, maybe you would like that" -> "Made a chocolate cake": a
    trailing clause addressed to the listener is cut rather than losing the whole fact."""
    m = SECOND_PERSON.search(text)
    if m is None:
        return text
    cuts = [c.start() for c in _LISTENER_CLAUSE.finditer(text, 0, m.start())]
    return text[: cuts[-1]].rstrip(" ,;:-") if cuts else text


def _worth_keeping(fact: str, side: Side, to_others: bool = False) -> bool:
    """Drop chit-chat ("Is fine", "Loves it"), talk about the listener (unless a named
    speaker says it to others, see ``keep_statement``), and agent promises."""
    low = fact.lower()
    if not fact or (SECOND_PERSON.search(fact) and not to_others) or _FILLER.match(low):
        return False
    if side == "assistant" and _AGENT_CHATTER.match(fact[:1].lower() + fact[1:]):
        return False
    informative = content_words(fact) - _EMPTY_VERBS
    first = fact.split()[0].lower()
    if first not in STOPWORDS:  # "Works", "Got this": a verb with nothing after it
        informative -= {stem(first)}
    return bool(informative)
