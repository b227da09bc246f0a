"""A candidate set as arrays hybrid search ranks with, and a cache of them per store.

Most searches rank one entity's memories, and the same entity is searched again and again
between its writes. Building the arrays (embedding matrix, timeline order, term postings)
costs more than ranking with them, so a :class:`SearchView` is kept, keyed by the exact
candidate set: every memory id *with its text hash*. A memory's terms and embedding follow
from its text, and its place in the timeline never changes (see
``memkit.store._keyword_index``), so a view whose key still equals the candidates read from
the record store is exact, whatever was written since. A write to the entity changes the
key; the stale view is never asked for again and ages out of the cache.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np

from memkit.search._bm25 import Postings, postings
from memkit.search._ranking import SESSION_GAP, Placed, Timeline
from memkit.store._keyword_index import KeywordIndex

__all__ = ["SearchView", "ViewCache", "cached_view", "forget_views", "view_key"]


class _Doc(Placed, Protocol):
    @property
    def terms(self) -> Mapping[str, int]: ...

    @property
    def length(self) -> int: ...

    @property
    def embedding(self) -> np.ndarray | None: ...


class SearchView:
    """The candidates by position (``ids``): their timeline, term counts and lengths, and,
    when every candidate came with one, their embedding matrix.

    The postings of a term are found by scanning the candidates the first time a query
    asks for it, then kept with the view: a view is built for one search as often as it is
    kept for many, and most of a memory's terms are never searched for.
    """

    def __init__(self, docs: Mapping[str, _Doc]) -> None:
        self.timeline = Timeline(docs, SESSION_GAP)
        self.ids: list[str] = self.timeline.ids
        values = list(docs.values())
        self.size = len(values)
        self.lengths = np.fromiter((d.length for d in values), np.float64, self.size)
        self._terms = [d.terms for d in values]
        self._postings: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}
        vectors = [d.embedding for d in values]
        self.matrix: np.ndarray | None = None
        if values and all(v is not None for v in vectors):
            self.matrix = np.stack(vectors)  # type: ignore[arg-type]  # float32: half the memory

    def postings(self, terms: Iterable[str]) -> Postings:
        """term -> (positions, counts) of the candidates holding it, for ``terms``."""
        wanted = list(dict.fromkeys(terms))
        new = [t for t in wanted if t not in self._postings]
        if new:
            found = postings(new, self._terms)
            self._postings.update((t, found.get(t)) for t in new)
        return {t: held for t in wanted if (held := self._postings[t]) is not None}

    def cosines(self, vector: np.ndarray) -> np.ndarray:
        """Each candidate's cosine with ``vector`` (the stored embeddings are unit length),
        computed in float64 like every other score."""
        if self.matrix is None:
            raise ValueError("this view was built without embeddings")
        return self.matrix.astype(np.float64) @ vector.astype(np.float64)


class ViewCache:
    """Least recently used views, up to ``max_docs`` candidates in all, thread-safe."""

    def __init__(self, max_docs: int = 20_000) -> None:
        self._views: OrderedDict[frozenset[tuple[str, str]], SearchView] = OrderedDict()
        self._docs = 0
        self._max_docs = max_docs
        self._lock = threading.Lock()

    def get(self, key: frozenset[tuple[str, str]]) -> SearchView | None:
        with self._lock:
            view = self._views.get(key)
            if view is not None:
                self._views.move_to_end(key)
            return view

    def put(self, key: frozenset[tuple[str, str]], view: SearchView) -> None:
        if view.size > self._max_docs:
            return
        with self._lock:
            old = self._views.pop(key, None)
            self._docs += view.size - (old.size if old is not None else 0)
            self._views[key] = view
            while self._docs > self._max_docs:
                _, dropped = self._views.popitem(last=False)
                self._docs -= dropped.size

    def clear(self) -> None:
        with self._lock:
            self._views.clear()
            self._docs = 0


def view_key(hashes: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    """The cache key of a candidate set: its ids with their text hashes."""
    return frozenset(hashes.items())


# One cache per store's keyword index, dropped with it, and started afresh whenever the
# index's generation moves on (a reset, keyword rows re-derived): no view from before can be
# read again.
_CACHES: weakref.WeakKeyDictionary[KeywordIndex, tuple[int, ViewCache]] = (
    weakref.WeakKeyDictionary()
)
_CACHES_LOCK = threading.Lock()


def cached_view(keywords: KeywordIndex, hashes: Mapping[str, str]) -> SearchView:
    """The :class:`SearchView` of these candidates (id -> current text hash), with
    embeddings; kept for the next search of the same candidates."""
    with _CACHES_LOCK:
        generation, cache = _CACHES.get(keywords, (-1, None))
        if cache is None or generation != keywords.generation:
            cache = ViewCache()
            _CACHES[keywords] = (keywords.generation, cache)
    key = view_key(hashes)
    view = cache.get(key)
    if view is None:
        view = SearchView(keywords.docs(hashes, embeddings=True))
        cache.put(key, view)
    return view


def forget_views(keywords: KeywordIndex) -> None:
    """Drop the views kept for one store (the benchmarks time a search that builds them)."""
    with _CACHES_LOCK:
        _CACHES.pop(keywords, None)
