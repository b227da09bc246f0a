"""The SQL record store: every memory with its embedding, its history, the activity log.

This is the system of record. Every write is one transaction that also leaves a
row in ``index_journal`` for each memory whose index entry must change; the row
is cleared only after Chroma applied the change, so a crash between the two is
repaired from the journal when the store is opened again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import (
    Engine,
    Select,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from memkit._domain import HistoryRow, StoredMemory, WriteSet, epoch_to_datetime
from memkit.errors import ConfigError, MissingDependencyError, RecordStoreError
from memkit.models import ENTITY_FIELDS, EntityType, HistoryEntry
from memkit.store import _schema as schema
from memkit.store._keyword_index import KeywordIndex, write_keywords
from memkit.store._migrations import migrate
from memkit.store._side_tables import (
    MemoryExports,
    PendingExtractions,
    Quarantine,
    TranscriptLog,
)

__all__ = [
    "ENTITY_FIELDS",
    "RecordStore",
]


# (kind, scope, counts, latency in ms, error or None, when the call ended in epoch
# seconds): one row of the activity log.
ActivityEntry = tuple[str, dict[str, str], dict[str, int], float, str | None, float]


def _row_values(m: StoredMemory) -> dict[str, Any]:
    return {
        "id": m.id,
        "memory": m.memory,
        "hash": m.hash,
        "user_id": m.user_id,
        "agent_id": m.agent_id,
        "app_id": m.app_id,
        "run_id": m.run_id,
        "metadata": json.dumps(m.metadata, sort_keys=True),
        "categories": json.dumps(m.categories),
        "embedding": np.asarray(m.embedding, dtype=np.float32).tobytes(),
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "immutable": m.immutable,
        "expiration_date": m.expiration_date,
    }


# Rows of ``select(memories)`` are read by position: a third of the cost of by-name access.
_COLUMN = {c.name: i for i, c in enumerate(schema.memories.columns)}
(
    _ID,
    _MEMORY,
    _HASH,
    _USER,
    _AGENT,
    _APP,
    _RUN,
    _META,
    _CATS,
    _VEC,
    _CREATED,
    _UPDATED,
    _IMMUTABLE,
    _EXPIRES,
) = (
    _COLUMN[name]
    for name in (
        "id",
        "memory",
        "hash",
        "user_id",
        "agent_id",
        "app_id",
        "run_id",
        "metadata",
        "categories",
        "embedding",
        "created_at",
        "updated_at",
        "immutable",
        "expiration_date",
    )
)
# PostgreSQL advisory lock id for schema changes: a fixed 64-bit number of memkit's own.
_SCHEMA_LOCK_KEY = int.from_bytes(b"memkitdb", "big") >> 1

# Built once: SQLAlchemy then reuses the compiled form without recomputing its cache key.
_GET_MANY = select(schema.memories).where(
    schema.memories.c.id.in_(bindparam("ids", expanding=True))
)
_HISTORY = (
    select(schema.history)
    .where(schema.history.c.memory_id == bindparam("memory_id"))
    .order_by(schema.history.c.id)
)


@lru_cache(maxsize=16)
def _hashes_of_scope(fields: frozenset[str]) -> Select[str, str]:
    """The query of ``RecordStore.hashes_of_scope`` for one set of id fields, built once per
    set: search runs it every time, and a reused statement skips SQLAlchemy's compile."""
    m = schema.memories
    unknown = sorted(fields.difference(ENTITY_FIELDS.values()))
    if unknown:
        raise ValueError(f"not an entity id field: {unknown[0]!r}")
    return select(m.c.id, m.c.hash).where(*(m.c[name] == bindparam(name) for name in fields))


def _json(text: str) -> Any:
    return {} if text == "{}" else [] if text == "[]" else json.loads(text)


def _from_row(row: Any) -> StoredMemory:
    """A row of ``select(schema.memories)`` as a StoredMemory."""
    return StoredMemory(
        id=row[_ID],
        memory=row[_MEMORY],
        hash=row[_HASH],
        user_id=row[_USER],
        agent_id=row[_AGENT],
        app_id=row[_APP],
        run_id=row[_RUN],
        metadata=_json(row[_META]),
        categories=_json(row[_CATS]),
        embedding=np.frombuffer(row[_VEC], dtype=np.float32),
        created_at=row[_CREATED],
        updated_at=row[_UPDATED],
        immutable=bool(row[_IMMUTABLE]),
        expiration_date=row[_EXPIRES],
    )


def _missing_driver(url: str, exc: ImportError) -> MissingDependencyError:
    """The error for a database driver that cannot be imported: PostgreSQL's own driver
    (psycopg) comes with memkit's ``server`` extra, any other is the user's to install."""
    scheme = url.split(":", 1)[0]
    if scheme == "postgresql+psycopg":
        return MissingDependencyError(
            "record_store.url: PostgreSQL needs the psycopg driver, which is not installed "
            f"({exc}): pip install 'memkit[server]'"
        )
    return MissingDependencyError(
        f"record_store.url: the database driver for {scheme!r} is not installed ({exc}); "
        "install it, or use postgresql:// with pip install 'memkit[server]'"
    )


def _engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        if not url.startswith("sqlite"):
            return create_engine(url, pool_pre_ping=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    except NoSuchModuleError as exc:
        raise ConfigError(f"record_store.url: unknown database or driver in {url!r}") from exc
    except ImportError as exc:
        raise _missing_driver(url, exc) from exc
    except ArgumentError as exc:
        raise ConfigError(f"record_store.url: not a database URL: {url!r} ({exc})") from exc

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # an acknowledged add survives power loss
        cursor.close()

    return engine


class RecordStore:
    """SQLite (WAL) by default, PostgreSQL when the URL says so; schema by migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = _engine(url)
        self.keywords = KeywordIndex(self._engine, self)
        with self._guard(), self._schema_lock():
            with self._engine.begin() as conn:
                migrate(conn)
            self.keywords.sync()
        self.transcripts = TranscriptLog(self._engine, self)
        self.pending = PendingExtractions(self._engine, self)
        self.memory_exports = MemoryExports(self._engine, self)
        self.quarantine = Quarantine(self._engine, self)

    def close(self) -> None:
        self._engine.dispose()

    @contextmanager
    def _schema_lock(self) -> Iterator[None]:
        """Processes that open one new PostgreSQL database at the same moment (the workers
        of a server) take turns to create its tables, instead of racing to create them
        twice. A SQLite store is opened by one process at a time (the directory lock)."""
        if self._engine.dialect.name != "postgresql":
            yield
            return
        with self._engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _SCHEMA_LOCK_KEY})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SCHEMA_LOCK_KEY})
                conn.commit()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            raise RecordStoreError(f"record store failed: {exc}") from exc

    # ---- writes -------------------------------------------------------------------------

    def commit(self, writes: WriteSet, applied: Sequence[str] = ()) -> None:
        """Apply a write set and journal its index changes, all or nothing.

        ``applied`` are ids of earlier journal rows the index has since taken; they are
        cleared in this same transaction, so a write costs one commit, not two.
        """
        m, j, q = schema.memories, schema.index_journal, schema.index_quarantine
        with self._guard(), self._engine.begin() as conn:
            if writes.deletes:
                ids = [d.id for d in writes.deletes]
                for chunk in _chunks(ids, 500):
                    conn.execute(delete(m).where(m.c.id.in_(chunk)))
            if writes.inserts:
                conn.execute(m.insert(), [_row_values(x) for x in writes.inserts])
            for row in writes.updates:
                values = _row_values(row)
                conn.execute(update(m).where(m.c.id == values.pop("id")).values(**values))
            if writes.history:
                conn.execute(schema.history.insert(), [_history_values(h) for h in writes.history])
            write_keywords(conn, writes)
            journal = {x.id: "upsert" for x in [*writes.inserts, *writes.updates]}
            journal.update({x.id: "delete" for x in writes.deletes})
            # One statement clears the applied rows and any older rows of these memories.
            for chunk in _chunks(list({*applied, *journal}), 500):
                conn.execute(delete(j).where(j.c.memory_id.in_(chunk)))
            # A new write of a quarantined memory supersedes the state the index refused.
            for chunk in _chunks(list(journal), 500):
                conn.execute(delete(q).where(q.c.memory_id.in_(chunk)))
            if journal:
                conn.execute(j.insert(), [{"memory_id": k, "op": v} for k, v in journal.items()])

    def clear_journal(self, ids: Iterable[str]) -> None:
        j = schema.index_journal
        with self._guard(), self._engine.begin() as conn:
            for chunk in _chunks(list(ids), 500):
                conn.execute(delete(j).where(j.c.memory_id.in_(chunk)))

    def journal(self) -> dict[str, str]:
        j = schema.index_journal
        with self._guard(), self._engine.connect() as conn:
            return {r.memory_id: r.op for r in conn.execute(select(j))}

    def reset(self) -> None:
        """Delete every memory, history entry and activity row."""
        with self._guard(), self._engine.begin() as conn:
            for table in (
                schema.memories,
                schema.history,
                schema.activity,
                schema.index_journal,
                schema.index_quarantine,
                schema.transcripts,
                schema.keyword_docs,
                schema.memory_exports,  # drawn from the memories just deleted
            ):
                conn.execute(delete(table))
        self.keywords.forget()

    # ---- reads --------------------------------------------------------------------------

    def hashes(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> text hash of those memories that exist."""
        m = schema.memories
        found: dict[str, str] = {}
        with self._guard(), self._engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                rows = conn.execute(select(m.c.id, m.c.hash).where(m.c.id.in_(chunk)))
                found.update((r.id, r.hash) for r in rows)
        return found

    def hashes_of_scope(self, scope: Mapping[str, str]) -> dict[str, str]:
        """id -> text hash of every memory whose id fields equal ``scope``'s values."""
        query = _hashes_of_scope(frozenset(scope))
        with self._guard(), self._engine.connect() as conn:
            return dict(conn.execute(query, dict(scope)).all())

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """id -> stored embedding, without the rest of the record."""
        m = schema.memories
        found: dict[str, np.ndarray] = {}
        with self._guard(), self._engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                for r in conn.execute(select(m.c.id, m.c.embedding).where(m.c.id.in_(chunk))):
                    found[r.id] = np.frombuffer(r.embedding, dtype=np.float32)
        return found

    def get_many(self, ids: Sequence[str]) -> dict[str, StoredMemory]:
        found: dict[str, StoredMemory] = {}
        if not ids:
            return found
        with self._guard(), self._engine.connect() as conn:
            for chunk in _chunks(list(ids), 500):
                for row in conn.execute(_GET_MANY, {"ids": chunk}):
                    found[row[_ID]] = _from_row(row)
        return found

    def find_by_hash(
        self, hashes: Sequence[str], scope: Mapping[str, str | None]
    ) -> list[StoredMemory]:
        """Memories with one of these texts (by hash) and exactly this entity scope."""
        if not hashes:
            return []
        m = schema.memories
        query = select(m).where(m.c.hash.in_(list(hashes)))
        for name in ENTITY_FIELDS.values():
            value = scope.get(name)
            query = query.where(m.c[name].is_(None) if value is None else m.c[name] == value)
        with self._guard(), self._engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(query)]

    def scoped(self, scope: Mapping[str, str], limit: int) -> list[StoredMemory] | None:
        """The memories carrying these entity ids, or None when there are more than ``limit``."""
        m = schema.memories
        query = select(m).where(*(m.c[k] == v for k, v in scope.items())).limit(limit + 1)
        with self._guard(), self._engine.connect() as conn:
            rows = [_from_row(r) for r in conn.execute(query)]
        return None if len(rows) > limit else rows

    def scoped_vectors(
        self, scope: Mapping[str, str], limit: int
    ) -> list[tuple[str, float, bytes]] | None:
        """(id, updated_at, embedding bytes) of ``scoped``: enough to rank, cheaper to read."""
        m = schema.memories
        query = (
            select(m.c.id, m.c.updated_at, m.c.embedding)
            .where(*(m.c[k] == v for k, v in scope.items()))
            .limit(limit + 1)
        )
        with self._guard(), self._engine.connect() as conn:
            rows = [(r[0], r[1], r[2]) for r in conn.execute(query)]
        return None if len(rows) > limit else rows

    def count(self) -> int:
        with self._guard(), self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(schema.memories)).scalar_one()

    def page(self, offset: int, limit: int) -> list[StoredMemory]:
        """All memories, most recently updated first, ties by id (pages never overlap)."""
        m = schema.memories
        query = select(m).order_by(m.c.updated_at.desc(), m.c.id).offset(offset).limit(limit)
        with self._guard(), self._engine.connect() as conn:
            return [_from_row(r) for r in conn.execute(query)]

    def iter_all(self, batch: int = 2000) -> Iterator[list[StoredMemory]]:
        """Every memory in id order, a batch at a time (for index rebuilds)."""
        m = schema.memories
        last = ""
        while True:
            query = select(m).where(m.c.id > last).order_by(m.c.id).limit(batch)
            with self._guard(), self._engine.connect() as conn:
                rows = [_from_row(r) for r in conn.execute(query)]
            if not rows:
                return
            yield rows
            last = rows[-1].id

    def stamps(self) -> dict[str, float]:
        """id -> updated_at of every memory, to check the index against."""
        m = schema.memories
        with self._guard(), self._engine.connect() as conn:
            return {r.id: r.updated_at for r in conn.execute(select(m.c.id, m.c.updated_at))}

    def expiration_dates(self) -> dict[str, str]:
        """id -> expiration date as stored, of the memories that have one (few: most never
        expire, and the column is indexed)."""
        m = schema.memories
        query = select(m.c.id, m.c.expiration_date).where(m.c.expiration_date.is_not(None))
        with self._guard(), self._engine.connect() as conn:
            return {r.id: r.expiration_date for r in conn.execute(query)}

    def ids_of_entity(self, kind: EntityType, entity_id: str) -> list[str]:
        column = schema.memories.c[ENTITY_FIELDS[kind]]
        with self._guard(), self._engine.connect() as conn:
            query = select(schema.memories.c.id).where(column == entity_id)
            return list(conn.execute(query).scalars())

    def entities(self) -> list[tuple[EntityType, str, int, float, float]]:
        """(type, id, total memories, first created, last updated) for every entity."""
        m = schema.memories
        out: list[tuple[EntityType, str, int, float, float]] = []
        with self._guard(), self._engine.connect() as conn:
            for kind, name in ENTITY_FIELDS.items():
                col = m.c[name]
                query = (
                    select(col, func.count(), func.min(m.c.created_at), func.max(m.c.updated_at))
                    .where(col.is_not(None))
                    .group_by(col)
                    .order_by(col)
                )
                out.extend((kind, r[0], r[1], r[2], r[3]) for r in conn.execute(query))
        return out

    def history(self, memory_id: str) -> list[HistoryEntry]:
        with self._guard(), self._engine.connect() as conn:
            return [
                HistoryEntry(
                    id=r.id,
                    memory_id=r.memory_id,
                    event=r.event,
                    old_memory=r.old_memory,
                    new_memory=r.new_memory,
                    metadata=_json(r.metadata),
                    categories=_json(r.categories),
                    created_at=epoch_to_datetime(r.created_at),
                )
                for r in conn.execute(_HISTORY, {"memory_id": memory_id})
            ]

    # ---- activity log and store metadata ------------------------------------------------

    def log_activity(
        self,
        kind: str,
        scope: dict[str, str],
        counts: dict[str, int],
        latency_ms: float,
        error: str | None = None,
    ) -> None:
        self.log_activities([(kind, scope, counts, latency_ms, error, time.time())])

    def log_activities(self, entries: Sequence[ActivityEntry]) -> None:
        rows = [
            {
                "kind": kind,
                "scope": json.dumps(scope, sort_keys=True),
                "counts": json.dumps(counts, sort_keys=True),
                "latency_ms": latency_ms,
                "error": error,
                "created_at": ended,
            }
            for kind, scope, counts, latency_ms, error, ended in entries
        ]
        with self._guard(), self._engine.begin() as conn:
            conn.execute(schema.activity.insert(), rows)

    def activity(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        a = schema.activity
        query = select(a).order_by(a.c.id.desc()).limit(limit)
        if kind:
            query = query.where(a.c.kind == kind)
        with self._guard(), self._engine.connect() as conn:
            return [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "scope": json.loads(r.scope),
                    "counts": json.loads(r.counts),
                    "latency_ms": r.latency_ms,
                    "error": r.error,
                    "created_at": epoch_to_datetime(r.created_at),
                }
                for r in conn.execute(query)
            ]

    def get_meta(self, key: str) -> str | None:
        s = schema.store_meta
        with self._guard(), self._engine.connect() as conn:
            return conn.execute(select(s.c.value).where(s.c.key == key)).scalar_one_or_none()

    def set_meta(self, key: str, value: str) -> None:
        """Set one store-wide value; processes that open one store together may set the
        same key at once, so it is one upsert rather than a delete and an insert."""
        s = schema.store_meta
        dialect = self._engine.dialect.name
        with self._guard(), self._engine.begin() as conn:
            if dialect in ("postgresql", "sqlite"):
                insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
                upsert = insert(s).values(key=key, value=value)
                conn.execute(upsert.on_conflict_do_update(index_elements=[s.c.key],
                                                          set_={"value": value}))  # fmt: skip
                return
            conn.execute(delete(s).where(s.c.key == key))
            conn.execute(s.insert().values(key=key, value=value))


def _history_values(h: HistoryRow) -> dict[str, Any]:
    return {
        "memory_id": h.memory_id,
        "event": h.event,
        "old_memory": h.old_memory,
        "new_memory": h.new_memory,
        "metadata": json.dumps(h.memory.metadata, sort_keys=True),
        "categories": json.dumps(h.memory.categories),
        "user_id": h.memory.user_id,
        "agent_id": h.memory.agent_id,
        "app_id": h.memory.app_id,
        "run_id": h.memory.run_id,
        "created_at": h.created_at,
    }


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
