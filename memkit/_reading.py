"""The read side of the facade: which memories a search or a listing returns, and in what order.

``search`` ranks (hybrid by default, dense on request) and ``get_all`` pages through
the memories a filter selects, most recently updated first; both select with the same
filter language and the call's ids, before anything is ranked or counted, so a filter
never leaks memories of another scope into a page or a top-k.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from memkit._domain import StoredMemory
from memkit._inputs import Scope, check_categories, check_id
from memkit._lookup import matching_ids, scope_node
from memkit._options import expired, today
from memkit.config import SearchConfig
from memkit.errors import InvalidInputError, MemoryNotFoundError
from memkit.filters._chroma import ChromaFilter, to_chroma
from memkit.filters._language import FilterNode, all_of, parse_filter
from memkit.models import Page, SearchHit
from memkit.search._bm25 import query_terms
from memkit.search._hybrid import hybrid_search
from memkit.search._ranking import Weights
from memkit.search._scope_words import query_without_scope
from memkit.store._backend import Backend

# search.mode's rankings, and keyword_search's.
Ranking = Literal["hybrid", "dense", "keyword"]

__all__ = [
    "Ranking",
    "check_search_limits",
    "hidden_ids",
    "listing_filter",
    "listing_page",
    "load",
    "nearest",
    "ranking_of",
    "search_filter",
    "search_hits",
]


def check_search_limits(top_k: Any, threshold: Any) -> None:
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= 1000:
        raise InvalidInputError(f"top_k must be an integer from 1 to 1000, got {top_k!r}")
    if threshold is not None and (
        isinstance(threshold, bool)
        or not isinstance(threshold, int | float)
        or not math.isfinite(threshold)
    ):
        raise InvalidInputError(f"threshold must be a finite number, got {threshold!r}")


def search_filter(filters: Mapping[str, Any] | None, scope: Scope) -> ChromaFilter:
    """The v2 filter ANDed with the call's ids, translated for the index."""
    return to_chroma(all_of([parse_filter(filters), scope_node(scope)]))


def hidden_ids(backend: Backend, now: float) -> frozenset[str]:
    """The memories past their expiration date on ``now``'s UTC day: left out of search
    and get_all (``get`` still reads them; nothing is deleted)."""
    day = today(now)
    return frozenset(i for i, d in backend.records.expiration_dates().items() if expired(d, day))


def ranking_of(settings: SearchConfig, keyword_search: bool, rerank: bool | None) -> Ranking:
    """Which ranking a search uses: ``keyword_search`` ranks by the keywords alone (only
    memories holding a query word); ``rerank=True`` re-scores with the hybrid scorer's full
    features and ``rerank=False`` keeps the dense similarity alone, whatever
    ``search.mode`` says; otherwise ``search.mode``."""
    if keyword_search:
        if rerank:
            raise InvalidInputError(
                "keyword_search=True ranks by keywords alone; rerank=True would fuse them "
                "with vector similarity: pass one of them"
            )
        return "keyword"
    if rerank is None:
        return settings.mode
    return "hybrid" if rerank else "dense"


def nearest(
    backend: Backend,
    settings: SearchConfig,
    clock: Callable[[], float],
    query: str,
    vector: np.ndarray,
    chroma: ChromaFilter,
    top_k: int,
    ranking: Ranking | None = None,
) -> list[tuple[str, float]]:
    """(id, score) of the ``top_k`` best matches, best first, by ``ranking`` (default
    ``search.mode``), expired memories left out."""
    now = clock()
    hidden = hidden_ids(backend, now)
    ranking = ranking or settings.mode
    if ranking == "keyword":
        if not query_terms(query_without_scope(query, chroma.source)):
            return []  # no content word: nothing to match by keywords
        keywords_only = Weights(keyword=1.0, context=0.0, time=0.0)
        hits = hybrid_search(backend, query, vector, chroma, top_k, keywords_only, now, hidden)
        return [(i, score) for i, score in hits if score > 0.0]
    if ranking == "hybrid":
        weights = Weights(
            keyword=settings.keyword_weight,
            context=settings.context_weight,
            time=settings.time_weight,
        )
        return hybrid_search(backend, query, vector, chroma, top_k, weights, now, hidden)
    index = backend.index
    if chroma.residual is None:
        # At most len(hidden) of the nearest are dropped: ask for that many more.
        hits = index.query(vector, chroma, top_k + len(hidden))
    else:
        # Chroma narrowed the candidates; the rest of the filter is evaluated here, exactly.
        candidates = [i for i in matching_ids(backend, chroma) if i not in hidden]
        hits = index.query(vector, ChromaFilter(None, None, None), top_k, ids=candidates)
    return [(i, score) for i, score in hits if i not in hidden][:top_k]


def search_hits(
    backend: Backend, hits: Sequence[tuple[str, float]], threshold: float | None
) -> list[SearchHit]:
    found = backend.records.get_many([memory_id for memory_id, _ in hits])
    # The threshold compares the score as returned, so threshold=hit.score keeps hit.
    scored = [(memory_id, round(score, 6)) for memory_id, score in hits]
    return [
        SearchHit(**found[memory_id].public_fields(), score=score)
        for memory_id, score in scored
        if memory_id in found and (threshold is None or score >= threshold)
    ]


def listing_filter(
    filters: Mapping[str, Any] | None,
    scope: Scope,
    categories: Sequence[str] | None,
    keywords: str | None,
) -> FilterNode | None:
    """``get_all``'s selection: the v2 filter, the ids, the categories and the keywords."""
    extra: list[FilterNode | None] = [parse_filter(filters), scope_node(scope)]
    if categories is not None:
        extra.append(parse_filter({"categories": {"in": check_categories(categories)}}))
    if keywords is not None:
        if not isinstance(keywords, str) or not keywords.strip():
            raise InvalidInputError("keywords must be a non-empty string")
        extra.append(parse_filter({"keywords": {"icontains": keywords}}))
    return all_of(extra)


def listing_page(
    backend: Backend,
    node: FilterNode | None,
    page: int,
    page_size: int,
    hidden: frozenset[str] = frozenset(),
) -> Page:
    """One page of the memories ``node`` selects, most recently updated first, ``hidden``
    ones (expired) left out."""
    offset = (page - 1) * page_size
    records = backend.records
    if node is None and not hidden:
        total = records.count()
        rows = records.page(offset, page_size)
    else:
        stamps: Mapping[str, float] = (
            records.stamps() if node is None else matching_ids(backend, to_chroma(node))
        )
        if hidden:
            stamps = {i: stamp for i, stamp in stamps.items() if i not in hidden}
        ordered = sorted(stamps, key=lambda i: (-stamps[i], i))
        total = len(ordered)
        wanted = ordered[offset : offset + page_size]
        found = records.get_many(wanted)
        rows = [found[i] for i in wanted if i in found]
    last_page = max(1, -(-total // page_size))
    return Page(
        count=total,
        page=page,
        page_size=page_size,
        next=page + 1 if page < last_page else None,
        previous=page - 1 if page > 1 and total else None,
        results=[r.to_model() for r in rows],
    )


def load(backend: Backend, ids: Sequence[Any]) -> dict[str, StoredMemory]:
    """The memories by id; any unknown id is a MemoryNotFoundError."""
    for memory_id in ids:
        check_id(memory_id, "memory_id")
    found = backend.records.get_many(list(ids))
    for memory_id in ids:
        if memory_id not in found:
            raise MemoryNotFoundError(memory_id)
    return found
