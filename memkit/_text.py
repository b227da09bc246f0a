"""memkit's one text pipeline: words, stems and stop words, for search and for extraction.

BM25 (``memkit.search._bm25``), the categoriser (``memkit.extract._categories``), the rule extractor
(``memkit.extract._rules``, ``memkit.extract._patterns``) and the tidying of the LLM's reply
(``memkit.extract._prompt``) all read text through this module, so a word is the same word to
each of them: "running" and "runs" are one stem for a search and for a category.

The pipeline, in order; pure, no I/O:

1. :func:`words`: casefolded word tokens, curly apostrophes made straight and
   contractions spelled out ("doesn't" -> "does not"). A hyphenated or possessive word
   stays whole ("non-vegetarian", "wife's"): the extractor compares such words whole.
2. :func:`stem`: Snowball English (PyStemmer), the stemmer search has always used.
3. :data:`STOPWORDS`: one list. Its users differ in one point, decided here: BM25's
   :func:`terms` drop the :data:`NEGATIONS` with the other stop words (a negation says
   nothing about a topic), :func:`content_words` keep them (a negation flips a fact).

A change to any step changes the terms every store keeps for its memories: bump
:data:`TOKENIZER_VERSION` with it, and stores re-derive their keyword rows.

    >>> words("I'm not vegetarian-friendly, it's Caroline's")
    ['i', 'm', 'not', 'vegetarian-friendly', "it's", "caroline's"]
    >>> terms("Caroline's running clubs") == [stem("Caroline"), stem("runs"), "club"]
    True
    >>> sorted(content_words("Doesn't like running"))
    ['like', 'not', 'run']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from typing import Protocol

try:
    import Stemmer
except ImportError as exc:  # pragma: no cover - a declared dependency
    raise ImportError(
        "memkit's text pipeline needs the 'PyStemmer' package: pip install PyStemmer"
    ) from exc

__all__ = [
    "MAX_TERM_CHARS",
    "NEGATIONS",
    "STOPWORDS",
    "TOKENIZER_VERSION",
    "content_words",
    "stem",
    "stems",
    "terms",
    "word_set",
    "words",
]

# Bump when terms() changes: stores re-derive their term rows from the memories' text.
TOKENIZER_VERSION = "snowball-english-2"

# A longer "word" is a hash, a URL or a run of characters, not a term anyone searches for.
MAX_TERM_CHARS = 64


def word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of ``text``: keeps long word lists readable."""
    return frozenset(text.split())


# Function words of English: the classic stop list of Snowball / NLTK, with what is left
# of contractions ("s", "t", "don", ...); and "mine" and "user" ("User likes sushi" is
# "Likes sushi"). Question words are stop words too: they say what kind of answer is
# wanted, not what it is about (temporal questions are handled apart). Not stop words:
# "may", as the month matters to search; intensifiers ("really", "much"), as dropping them
# cost LoCoMo R@10 0.746 -> 0.743 for two chit-chat facts fewer out of 1,566.
STOPWORDS: frozenset[str] = word_set(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can cannot could did do does doing down during each few
    for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just me more most my myself no nor not now of off on once only
    or other ought our ours ourselves out over own same shall she should so some such than
    that the their theirs them themselves then there these they this those through to too
    under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves also us let might must shan
    s t d ll m re ve don didn doesn isn wasn weren aren couldn shouldn wouldn won haven hasn
    hadn mustn needn y o
    mine user"""
)

# Stop words that flip a statement: content_words() keeps them, terms() does not.
NEGATIONS: frozenset[str] = STOPWORDS & word_set("no not nor")

_WORD = re.compile(r"\w+(?:['-]\w+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_CONTRACTIONS = (
    (re.compile(r"\bcan'?t\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"\b(\w+)n't\b"), r"\1 not"),
    (re.compile(r"'(m|re|ve|ll|d)\b"), r" \1"),
)


def words(text: str) -> list[str]:
    """Word tokens of ``text``, casefolded, contractions spelled out, in order."""
    low = text.casefold().translate(_APOSTROPHES)
    for pattern, repl in _CONTRACTIONS:
        low = pattern.sub(repl, low)
    return _WORD.findall(low)


class _Snowball(Protocol):
    """The two methods used of PyStemmer's ``Stemmer.Stemmer``, which ships no types."""

    def stemWord(self, word: str) -> str: ...

    def stemWords(self, words: list[str]) -> list[str]: ...


@lru_cache(maxsize=1)
def _stemmer() -> _Snowball:
    stemmer: _Snowball = Stemmer.Stemmer("english")
    return stemmer


def stem(word: str) -> str:
    """The Snowball English stem of one word ("running", "runs" -> "run")."""
    return _stemmer().stemWord(word.casefold())


def stems(tokens: Iterable[str]) -> list[str]:
    """:func:`stem` of each token, in one call to the stemmer."""
    return _stemmer().stemWords([t.casefold() for t in tokens])


def content_words(text: str) -> frozenset[str]:
    """Stems of the words of ``text`` that carry meaning: stop words dropped, negations
    kept."""
    return frozenset(stems(w for w in words(text) if w not in STOPWORDS or w in NEGATIONS))


def terms(text: str) -> list[str]:
    """BM25's terms of ``text``: stems of its content words, in order (repeats kept).

    A hyphenated word is its parts and a possessive its owner, so "well-known" matches
    "known" and "Caroline's" matches "Caroline".
    """
    parts = [
        part
        for word in words(text)
        for part in re.split(r"[-']", word.removesuffix("'s"))
        if part and part not in STOPWORDS
    ]
    return [t[:MAX_TERM_CHARS] for t in stems(parts)]


def term_counts(text: str) -> Counter[str]:
    """Term -> count of a text's search terms: what the keyword index keeps per memory."""
    return Counter(terms(text))
