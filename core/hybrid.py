"""Hybrid search: what it reads from the store, handed to the pure ranking functions.

The candidates are exactly the memories the scope and filters allow;
every signal is computed over them and nothing else, so a filter can never be undone by
ranking. Then:

1. keyword scores: BM25 over the candidates' stored term counts (``memkit.keywords``);
2. dense scores: the exact cosine with each candidate's stored embedding; for a very
   large candidate set, Chroma's nearest candidates, plus the exact cosine of the other
   memories that need one;
3. fusion, time cues and neighbouring context (``memkit.ranking``, ``memkit.temporal``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from memkit.filter_chroma import ChromaFilter
from memkit.filters import FilterNode, entity_scope
from memkit.keywords import bm25, postings, query_terms
from memkit.lookup import matching_ids
from memkit.ranking import (
    SESSION_GAP,
    Timeline,
    Weights,
    best_ids,
    fuse,
    lift,
    rank,
    with_context,
)
from memkit.store.backend import Backend
from memkit.store.keyword_index import SearchDoc
from memkit.temporal import TIME_TERMS, asks_when, in_any, named_periods

__all__ = ["EXACT_LIMIT", "POOL", "hybrid_search", "scope_equalities"]

# Up to this many candidates, every one is scored exactly from its stored embedding
# (a few hundred microseconds); beyond, Chroma's nearest neighbours stand in.
EXACT_LIMIT = 2000
# Beyond EXACT_LIMIT: how many of the best memories by each signal are scored in full.
# Past the first few dozen by both the dense and the keyword score, a memory is very
# unlikely to reach the top.
POOL = 50
# Scores are returned (and ranked) at this precision.
SCORE_DIGITS = 6


def hybrid_search(
    backend: Backend,
    query: str,
    vector: np.ndarray,
    node: FilterNode | None,
    chroma: ChromaFilter,
    top_k: int,
    weights: Weights,
    now: float,
) -> list[tuple[str, float]]:
    """(id, score in [0, 1]) of the ``top_k`` best memories matching ``node``, best first.

    ``chroma`` is ``to_chroma(node)``.
    """
    hashes = _candidates(backend, node, chroma)
    if not hashes:
        return []
    exact = len(hashes) <= EXACT_LIMIT
    docs = backend.records.keywords.docs(hashes, embeddings=exact)
    terms = query_terms(query)
    when = asks_when(query)
    periods = named_periods(query, now)
    looked_up = [*terms, *(TIME_TERMS if when else ())]
    holders = postings(looked_up, {i: d.terms for i, d in docs.items()})
    keyword = bm25(terms, holders, {i: d.length for i, d in docs.items()})
    # A query without a content word leaves the ranking to the dense score alone.
    keyword_weight = weights.keyword if terms else 0.0
    timed = {i for t in TIME_TERMS for i in holders.get(t, {})} if when else set()

    depth = min(len(hashes), max(top_k, POOL))
    if exact:
        dense = _exact_cosines(docs, vector)
        pool = [*_top(dense, depth), *_top(keyword, depth)]
    else:
        dense = _nearest(backend, vector, chroma, hashes, depth)
        pool = [*dense, *_top(keyword, depth)]

    def score(ids: Iterable[str]) -> dict[str, float]:
        ids = [i for i in dict.fromkeys(ids) if i in hashes]
        missing = [i for i in ids if i not in dense]
        for memory_id, embedding in backend.records.embeddings(missing).items():
            dense[memory_id] = float(np.dot(embedding.astype(np.float64), vector))
        out = {}
        for memory_id in ids:
            if memory_id not in dense:
                continue  # deleted since the candidates were read
            s = fuse(dense[memory_id], keyword.get(memory_id, 0.0), keyword_weight)
            if memory_id in timed:
                s = lift(s, weights.time)
            doc = docs.get(memory_id)
            if periods and doc is not None and in_any(periods, doc.created_at):
                s = lift(s, weights.time)
            out[memory_id] = s
        return out

    base = score(pool)
    if weights.context <= 0.0:
        return _ranked(base, top_k)
    timeline = Timeline(docs, SESSION_GAP)
    leaders = timeline.neighbours(best_ids(base, depth))
    base.update(score(sorted({j for near in leaders.values() for j in near if j not in base})))
    return _ranked(with_context(base, timeline.neighbours(base), weights.context), top_k)


def _ranked(scores: Mapping[str, float], top_k: int) -> list[tuple[str, float]]:
    # At the precision search returns: equal scores then tie on the id, whatever
    # floating-point noise the order of the sums left in the last bits.
    return rank({i: round(s, SCORE_DIGITS) for i, s in scores.items()}, top_k)


def _top(scores: Mapping[str, float], n: int) -> list[str]:
    if len(scores) <= n:
        return list(scores)
    ids = list(scores)
    values = np.fromiter(scores.values(), np.float64, len(ids))
    return [ids[i] for i in np.argpartition(-values, n - 1)[:n]]


def _exact_cosines(docs: Mapping[str, SearchDoc], vector: np.ndarray) -> dict[str, float]:
    ids = [i for i, d in docs.items() if d.embedding is not None]
    if not ids:
        return {}
    matrix = np.stack([docs[i].embedding for i in ids]).astype(np.float64)  # type: ignore[misc]
    return dict(zip(ids, (matrix @ vector.astype(np.float64)).tolist(), strict=True))


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


def _candidates(backend: Backend, node: FilterNode | None, chroma: ChromaFilter) -> dict[str, str]:
    """id -> text hash of exactly the memories the filter matches.

    The usual search, scoped by entity ids alone, is answered by the record store;
    any other filter by ``matching_ids`` (Chroma, and the residual checked here).
    """
    scope = scope_equalities(node)
    if scope is not None:
        return backend.records.hashes_of_scope(scope)
    return backend.records.hashes(list(matching_ids(backend, chroma)))


def scope_equalities(node: FilterNode | None) -> dict[str, str] | None:
    """{id field: value} when the filter is only equalities on entity ids, else None."""
    scope, only = entity_scope(node)
    return scope if only else None
