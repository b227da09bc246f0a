"""The keyword index of search, in the record store: one row of term counts per memory.

:func:`write_keywords` runs inside the transaction of ``RecordStore.commit``, so a memory
and its terms are committed or rolled back together; ``reset`` empties both. When the
tokenizer changes (``memkit._text.TOKENIZER_VERSION``), :meth:`KeywordIndex.sync`
re-derives every row from the memories' text in one transaction.

Reads go through a per-process cache that is checked against each memory's text hash
on every read: a memory's terms and embedding depend on its text alone, and its place in
the timeline (``seq``, ``created_at``, owner) never changes, so an entry whose hash still
matches is exact whatever any process wrote since.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, Engine, Select, bindparam, delete, func, null, select, update
from sqlalchemy.sql.expression import BindParameter

from memkit._text import TOKENIZER_VERSION, term_counts
from memkit.models import ID_FIELDS
from memkit.store import _schema as schema

__all__ = ["KeywordIndex", "SearchDoc", "write_keywords"]

_META_KEY = "keywords"
_ENTITY = ID_FIELDS


class _Guarded(Protocol):
    def _guard(self) -> AbstractContextManager[None]: ...


class _Memory(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def memory(self) -> str: ...


class _Writes(Protocol):
    @property
    def inserts(self) -> Sequence[_Memory]: ...

    @property
    def updates(self) -> Sequence[_Memory]: ...

    @property
    def deletes(self) -> Sequence[_Memory]: ...


@dataclass(frozen=True)
class SearchDoc:
    """What hybrid search reads of a memory: its term counts, its place in its owner's
    timeline (``seq`` is the order memories were written in), and, when asked for, its
    embedding."""

    seq: int
    created_at: float
    entity: tuple[str, str, str, str]  # user, agent, app, run id ("" when null)
    terms: Mapping[str, int]
    length: int
    embedding: np.ndarray | None = None


def _encode(text: str) -> str:
    return json.dumps(term_counts(text), sort_keys=True, separators=(",", ":"))


def write_keywords(conn: Connection, writes: _Writes) -> None:
    """The keyword rows of a write set, on the write's own connection and transaction."""
    k = schema.keyword_docs
    for chunk in _chunks([d.id for d in writes.deletes], 500):
        conn.execute(delete(k).where(k.c.memory_id.in_(chunk)))
    fresh = [{"memory_id": m.id, "terms": _encode(m.memory)} for m in writes.inserts]
    for memory in writes.updates:
        # In place: an update keeps the memory's seq, its place in the timeline.
        terms = _encode(memory.memory)
        done = conn.execute(update(k).where(k.c.memory_id == memory.id).values(terms=terms))
        if not done.rowcount:
            fresh.append({"memory_id": memory.id, "terms": terms})
    if fresh:
        conn.execute(k.insert(), fresh)  # one statement, rows in write order: seq follows


class KeywordIndex:
    """Reads (cached) and re-derivation of the keyword rows."""

    def __init__(self, engine: Engine, guard: _Guarded, cache_size: int = 20_000) -> None:
        self._engine = engine
        self._guard = guard._guard
        self._cache: dict[str, tuple[str, SearchDoc]] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()
        # Bumped whenever cached reads may no longer hold (reset, re-derived rows): search's
        # view cache (``memkit.search._view``) keys on it.
        self.generation = 0

    def sync(self) -> bool:
        """Re-derive every row if the index was built by another tokenizer version (or
        not at all); returns whether it did."""
        s = schema.store_meta
        with self._guard(), self._engine.begin() as conn:
            stored = conn.execute(select(s.c.value).where(s.c.key == _META_KEY)).scalar()
            if stored == TOKENIZER_VERSION:
                return False
            _rebuild(conn)
            conn.execute(delete(s).where(s.c.key == _META_KEY))
            conn.execute(s.insert().values(key=_META_KEY, value=TOKENIZER_VERSION))
        self.forget()
        return True

    def rebuild(self) -> None:
        """Re-derive every row from the memories' text, in one transaction."""
        with self._guard(), self._engine.begin() as conn:
            _rebuild(conn)
        self.forget()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
            self.generation += 1

    def docs(self, hashes: Mapping[str, str], embeddings: bool = False) -> dict[str, SearchDoc]:
        """``SearchDoc`` of each memory given as id -> its current text hash (with its
        embedding when ``embeddings``)."""
        found: dict[str, SearchDoc] = {}
        missing: list[str] = []
        cache = self._cache
        for memory_id, text_hash in hashes.items():
            entry = cache.get(memory_id)
            if (
                entry is not None
                and entry[0] == text_hash
                and (entry[1].embedding is not None or not embeddings)
            ):
                found[memory_id] = entry[1]
            else:
                missing.append(memory_id)
        if missing:
            fetched = self._fetch(missing, embeddings)
            found.update((i, doc) for i, (_, doc) in fetched.items())
            with self._lock:
                if len(cache) + len(fetched) > self._cache_size:
                    for old in list(cache)[: len(cache) // 2 + len(fetched)]:
                        del cache[old]
                cache.update(fetched)
        return found

    def _fetch(self, ids: Sequence[str], embeddings: bool) -> dict[str, tuple[str, SearchDoc]]:
        query = _FETCH_WITH_EMBEDDINGS if embeddings else _FETCH
        out: dict[str, tuple[str, SearchDoc]] = {}
        with self._guard(), self._engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                for row in conn.execute(query, {"ids": chunk}).all():
                    memory_id, text_hash, seq, terms_json, created_at, *entity, vector = row
                    terms = json.loads(terms_json)
                    doc = SearchDoc(
                        seq,
                        created_at,
                        tuple(e or "" for e in entity),  # type: ignore[arg-type]
                        terms,
                        sum(terms.values()),
                        None if vector is None else np.frombuffer(vector, np.float32),
                    )
                    out[memory_id] = (text_hash, doc)
        return out

    def terms_of(self, memory_id: str) -> dict[str, int] | None:
        """The stored term counts of one memory, None when it has no row."""
        k = schema.keyword_docs
        with self._guard(), self._engine.connect() as conn:
            row = conn.execute(select(k.c.terms).where(k.c.memory_id == memory_id)).scalar()
        return None if row is None else dict(json.loads(row))

    def drift(self) -> list[str]:
        """Ids whose row differs from their text's terms, has no memory, or is missing.
        Empty when the keyword index is exact."""
        k, m = schema.keyword_docs, schema.memories
        with self._guard(), self._engine.connect() as conn:
            stored = {r.memory_id: json.loads(r.terms) for r in conn.execute(select(k))}
            texts = {r.id: r.memory for r in conn.execute(select(m.c.id, m.c.memory))}
        wrong = {i for i in stored if i not in texts}
        wrong.update(i for i, text in texts.items() if stored.get(i) != dict(term_counts(text)))
        return sorted(wrong)


def _fetch_query(embeddings: bool) -> Select[Any]:
    """The read of ``KeywordIndex._fetch``, built once: search runs it for every scope it
    has not cached, and a reused statement skips SQLAlchemy's compile."""
    k, m = schema.keyword_docs, schema.memories
    columns: list[Any] = [k.c.memory_id, m.c.hash, k.c.seq, k.c.terms, m.c.created_at]
    columns += [m.c[name] for name in _ENTITY]
    columns.append(m.c.embedding if embeddings else null())
    ids: BindParameter[list[str]] = bindparam("ids", expanding=True)
    return select(*columns).join(m, m.c.id == k.c.memory_id).where(k.c.memory_id.in_(ids))


_FETCH = _fetch_query(embeddings=False)
_FETCH_WITH_EMBEDDINGS = _fetch_query(embeddings=True)


def _rebuild(conn: Connection) -> None:
    k, m, h = schema.keyword_docs, schema.memories, schema.history
    conn.execute(delete(k))
    # Rows get their seq in write order: creation time, then the memory's first history
    # entry (history ids are assigned in write order), for memories written before the
    # keyword index existed.
    first = (
        select(h.c.memory_id, func.min(h.c.id).label("first")).group_by(h.c.memory_id).subquery()
    )
    query = (
        select(m.c.id, m.c.memory)
        .outerjoin(first, first.c.memory_id == m.c.id)
        .order_by(m.c.created_at, first.c.first, m.c.id)
    )
    batch: list[dict[str, Any]] = []
    for row in conn.execute(query).all():
        batch.append({"memory_id": row.id, "terms": _encode(row.memory)})
        if len(batch) == 2000:
            conn.execute(k.insert(), batch)
            batch = []
    if batch:
        conn.execute(k.insert(), batch)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
