"""Hybrid search: what it reads from the store, handed to the pure ranking functions.

The candidates are exactly the memories the scope and filters allow;
every signal is computed over them and nothing else, so a filter can never be undone by
ranking. Then:

1. keyword scores: BM25 over the candidates' stored term counts (``memkit.search._bm25``),
   for the query's terms less the scope's own name (``memkit.search._scope_words``; the
   caller embeds the query without it too);
2. dense scores: the exact cosine with each candidate's stored embedding; for a very
   large candidate set, Chroma's nearest candidates, plus the exact cosine of the other
   memories that need one;
3. fusion, time cues and neighbouring context (``memkit.search._ranking``,
   ``memkit.search._temporal``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from memkit.filters._chroma import ChromaFilter
from memkit.filters._language import FilterNode, entity_scope
from memkit.search._bm25 import bm25, query_terms
from memkit.search._candidates import matching_ids
from memkit.search._ranking import Weights, fuse, lift, top
from memkit.search._scope_words import query_without_scope
from memkit.search._temporal import TIME_TERMS, asks_when, in_any, named_periods
from memkit.search._view import SearchView, cached_view
from memkit.store._backend import Backend

__all__ = ["FULL_SCORING_LIMIT", "POOL", "hybrid_search", "scope_equalities"]

# Up to this many candidates, every one is scored exactly from its stored embedding
# (a few hundred microseconds); beyond, Chroma's nearest neighbours stand in.
FULL_SCORING_LIMIT = 2000
# Beyond FULL_SCORING_LIMIT: how many of the best memories by each signal are scored in full.
# Past the first few dozen by both the dense and the keyword score, a memory is very
# unlikely to reach the top.
POOL = 50
# Scores are returned (and ranked) at this precision.
SCORE_DIGITS = 6


def hybrid_search(
    backend: Backend,
    query: str,
    vector: np.ndarray,
    chroma: ChromaFilter,
    top_k: int,
    weights: Weights,
    now: float,
    hidden: frozenset[str] = frozenset(),
) -> list[tuple[str, float]]:
    """(id, score in [0, 1]) of the ``top_k`` best memories matching the filter ``chroma``
    was translated from (``chroma.source``), best first.

    Every signal is an array over the candidates, by their position in ``SearchView.ids``;
    NaN marks a memory not scored (beyond FULL_SCORING_LIMIT, only the pool is). Up to
    FULL_SCORING_LIMIT candidates, the view comes from search's cache (``cached_view``)
    when the same candidates were searched before. ``hidden`` memories (expired ones)
    are no candidates.
    """
    hashes = _candidates(backend, chroma)
    if hidden:
        hashes = {i: h for i, h in hashes.items() if i not in hidden}
    if not hashes:
        return []
    keywords = backend.records.keywords
    exact = len(hashes) <= FULL_SCORING_LIMIT
    view = cached_view(keywords, hashes) if exact else SearchView(keywords.docs(hashes))
    if not view.size:
        return []
    ids, timeline = view.ids, view.timeline
    terms = query_terms(query_without_scope(query, chroma.source))
    when = asks_when(query)
    held = view.postings([*terms, *(TIME_TERMS if when else ())])
    keyword = bm25(terms, held, view.lengths)
    # A query without a content word leaves the ranking to the dense score alone.
    keyword_weight = weights.keyword if terms else 0.0
    cued = np.zeros(view.size)
    if when:  # a memory that says when, for a "when" question
        for t in TIME_TERMS.intersection(held):
            cued[held[t][0]] = 1.0
    periods = named_periods(query, now)
    if periods:  # a memory written in a period the query names
        cued += np.fromiter((in_any(periods, c) for c in timeline.created), np.float64)

    def fused(dense: np.ndarray) -> np.ndarray:
        score = np.asarray(fuse(dense, keyword, keyword_weight))
        for times in (1, 2):
            score = np.where(cued >= times, lift(score, weights.time), score)
        return score

    depth = min(view.size, max(top_k, POOL))
    if exact and view.matrix is not None:
        dense = view.cosines(vector)
    else:
        nearest = _nearest(backend, vector, chroma, hashes, depth)
        dense = np.full(view.size, np.nan)
        place = {memory_id: n for n, memory_id in enumerate(ids)}
        for memory_id, similarity in nearest.items():
            if memory_id in place:
                dense[place[memory_id]] = similarity
        _fill(backend, dense, ids, _best(np.where(keyword > 0, keyword, np.nan), depth), vector)
        if weights.context > 0.0:  # the leaders' neighbours, for their context
            leaders = _best(fused(dense), depth)
            near = [*timeline.before[leaders], *timeline.after[leaders]]
            _fill(backend, dense, ids, near, vector)
    score = fused(dense)
    if weights.context > 0.0:
        score = timeline.with_context(score, weights.context)
    # Ranked at the precision search returns: equal scores then tie on the id, whatever
    # floating-point noise the order of the sums left in the last bits.
    return top(ids, np.round(score, SCORE_DIGITS), top_k)


def _best(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the (up to) ``n`` highest scores, NaN left out."""
    at = np.flatnonzero(~np.isnan(scores))
    if len(at) <= n:
        return at
    return at[np.argpartition(-scores[at], n - 1)[:n]]


def _fill(
    backend: Backend, dense: np.ndarray, ids: Sequence[str], at: Iterable[int], vector: np.ndarray
) -> None:
    """The exact cosine at each position of ``at`` that has none yet (-1 is no position)."""
    wanted = {ids[n]: n for n in at if n >= 0 and np.isnan(dense[n])}
    for memory_id, embedding in backend.records.embeddings(list(wanted)).items():
        dense[wanted[memory_id]] = float(np.dot(embedding.astype(np.float64), vector))


def _nearest(
    backend: Backend,
    vector: np.ndarray,
    chroma: ChromaFilter,
    hashes: Mapping[str, str],
    depth: int,
) -> dict[str, float]:
    if chroma.residual is None:
        nearest = backend.index.query(vector, chroma, depth)
    else:
        everything = ChromaFilter(None, None, None)
        nearest = backend.index.query(vector, everything, depth, ids=list(hashes))
    # The index may lag the record store for a moment; the record store decides.
    return {i: score for i, score in nearest if i in hashes}


def _candidates(backend: Backend, chroma: ChromaFilter) -> dict[str, str]:
    """id -> text hash of exactly the memories the filter matches.

    The usual search, scoped by entity ids alone, is answered by the record store;
    any other filter by ``matching_ids`` (Chroma, and the residual checked here).
    """
    scope = scope_equalities(chroma.source)
    if scope is not None:
        return backend.records.hashes_of_scope(scope)
    return backend.records.hashes(list(matching_ids(backend, chroma)))


def scope_equalities(node: FilterNode | None) -> dict[str, str] | None:
    """{id field: value} when the filter is only equalities on entity ids, else None."""
    scope, only = entity_scope(node)
    return scope if only else None
