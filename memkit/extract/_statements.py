"""Sentences kept as said: what carries information but has no first-person form.

"The museum downtown reopens in March", "Books guide me and help me discover who I am",
"Last week someone wrote me a letter about my blog post": the first-person rewriting
(``_first_person``) gives no fact for these, yet they are what a user would expect to be
remembered. Rather than lose them, the rule extractor keeps the sentence itself. What is
not kept: talk to or about the listener ("You've always been there for me"), requests
("Let me know", "Check this out"), pointers at a picture ("Here's a pic"), and evaluation
with nothing to evaluate ("That's so awesome", "It was a dream come true") — measured as
fewer than two content words once evaluative words are set aside.

    >>> keep_statement("The museum downtown reopens in March")
    'The museum downtown reopens in March'
    >>> keep_statement("That sounds like so much fun") is None
    True
"""

from __future__ import annotations

import re

from lemminflect import getAllLemmas

from memkit._text import content_words, stems, word_set
from memkit.extract._first_person import SECOND_PERSON

__all__ = ["keep_statement"]

_I = re.IGNORECASE

# Words that judge or react rather than inform.
_EVALUATIVE = frozenset(
    stems(
        word_set(
            """great awesome amazing cool nice good wonderful fantastic incredible beautiful
            lovely cute fun funny interesting glad happy proud excited sorry sad bad tough
            sure totally really much very pretty super special thanks thank congrats
            congratulations wow yay omg lol haha thing things stuff lot way sound sounds look
            looks seem seems feel feels felt love like know think hope wish mean guess agree
            right true definitely absolutely exactly dream come true awe blast time moment
            moments always never ever one kind sort bit little big huge totally truly super
            inspiring inspired inspire touching touched blessed lucky grateful thankful
            appreciate appreciated appreciation proud enjoy enjoyed enjoying keep going
            problem worries pic photo picture hilarious sense make makes fair enough"""
        )
    )
)
_POINTER = re.compile(
    r"^(?:let me|let's|lemme|hope|wish|thanks|thank|congrats|good luck|take care|bye|see you"
    r"|talk (?:to you|soon)|same here|me too|you too|no (?:problem|worries))\b",
    _I,
)
_VOCATIVE = re.compile(r",\s*[A-Z][a-z]+$")
_MIN_CONTENT = 2
_MIN_WORDS = 4  # "That's hilarious", "Fair enough": too short to be a statement of fact
_NAMED_OR_NUMBER = re.compile(r"\d|(?<=\s)[A-Z][a-z]")  # ... unless it names or counts: "Max is 5"


def keep_statement(sentence: str, to_others: bool = False) -> str | None:
    """The sentence as it should be remembered, or None when it is not worth keeping.

    ``sentence`` is tidied already, and is neither a question nor a delete request.
    ``to_others`` is for a named speaker among others (a group chat, a conversation
    between two people): what they say to the others ("You'd be a great counselor") is
    part of the record, where a user's words to the assistant are not.
    """
    sentence = _VOCATIVE.sub("", sentence)
    if (SECOND_PERSON.search(sentence) and not to_others) or _POINTER.match(sentence):
        return None
    first = sentence.split(" ", 1)[0].lower()
    if _imperative(first):
        return None
    informative = content_words(sentence) - _EVALUATIVE
    short = len(sentence.split()) < _MIN_WORDS and not _NAMED_OR_NUMBER.search(sentence)
    if len(informative) < _MIN_CONTENT or short:
        return None
    return sentence[:1].upper() + sentence[1:]


def _imperative(word: str) -> bool:
    """A sentence opening with a bare verb is a request ("Make sure", "Gather documents")."""
    lemmas = getAllLemmas(word)
    return word in lemmas.get("VERB", ()) and "NOUN" not in lemmas and "ADJ" not in lemmas
