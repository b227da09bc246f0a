"""Keyword side of search: terms of a text, and BM25 over a candidate set.

Pure: no store, no I/O. The record store keeps each memory's term counts (written in
the same transaction as the memory, see ``memkit.store._records``); search hands the
counts of its candidates to :func:`bm25`.

BM25 statistics (document count, average length, document frequencies) are those of
the candidate set, i.e. of exactly the memories the search's scope and filters allow:
a term that every memory of this user carries is weak for this user's searches, however
rare it is in the rest of the store. (That is why BM25 is computed here rather than with a
library such as bm25s, which indexes one fixed corpus: here the corpus is each search's
candidate set, and it changes with every write.)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from memkit._text import STOPWORDS, TOKENIZER_VERSION, term_counts, terms

__all__ = [
    "K1",
    "STOPWORDS",
    "TOKENIZER_VERSION",
    "B",
    "Postings",
    "bm25",
    "postings",
    "query_terms",
    "term_counts",
    "tokenize",
]

# Robertson's and Lucene's defaults, not fitted to any data set.
K1 = 1.2
B = 0.75


def tokenize(text: str) -> list[str]:
    """Stemmed content words of ``text``, in order (repeats kept): ``memkit._text.terms``,
    the one pipeline the categoriser and the rule extractor read text with too.

    >>> tokenize("Caroline's running clubs")
    ['carolin', 'run', 'club']
    """
    return terms(text)


def query_terms(query: str) -> list[str]:
    """The distinct terms of a query, in order of first appearance."""
    return list(dict.fromkeys(tokenize(query)))


Postings = dict[str, tuple[np.ndarray, np.ndarray]]
"""term -> (positions of the candidates holding it, its count in each)."""


def postings(terms: Iterable[str], docs: Sequence[Mapping[str, int]]) -> Postings:
    """:data:`Postings` of ``terms`` over ``docs``, each doc a memory's term counts, by
    position."""
    wanted = set(terms)
    found: dict[str, tuple[list[int], list[int]]] = {}
    for position, counts in enumerate(docs):
        for term in wanted.intersection(counts):
            held = found.setdefault(term, ([], []))
            held[0].append(position)
            held[1].append(counts[term])
    return {
        term: (np.array(at, np.int64), np.array(count, np.float64))
        for term, (at, count) in found.items()
    }


def bm25(
    terms: Iterable[str],
    held: Postings,
    lengths: np.ndarray,
    k1: float = K1,
    b: float = B,
) -> np.ndarray:
    """BM25 of each candidate (by position), divided by the query's upper bound; 0 for a
    candidate that holds no query term.

    ``held`` is :func:`postings` over the candidates and ``lengths`` their term counts.
    The bound is what a document would score with every query term infinitely often,
    ``sum(idf * (k1 + 1))``, so the result is in [0, 1): the share of the query's keyword
    weight a memory carries, comparable across queries.
    """
    n = len(lengths)
    scores = np.zeros(n)
    if n == 0:
        return scores
    norm = k1 * (1.0 - b + b * lengths / (lengths.mean() or 1.0))
    bound = 0.0
    for term in dict.fromkeys(terms):
        posting = held.get(term)
        df = 0 if posting is None else len(posting[0])
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        bound += idf * (k1 + 1.0)
        if posting is not None:
            at, tf = posting
            scores[at] += idf * tf * (k1 + 1.0) / (tf + norm[at])
    return scores / bound if bound > 0.0 else scores
