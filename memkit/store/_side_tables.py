"""Tables beside the memories: session transcripts, extractions kept for replay, and the
memories the vector index refused."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Engine, delete, func, select, update

from memkit.store import _schema as schema


class _Guarded(Protocol):
    def _guard(self) -> AbstractContextManager[None]: ...


class TranscriptLog:
    """The messages of one chat session, in order; short-term memory for the adapters."""

    def __init__(self, engine: Engine, guard: _Guarded) -> None:
        self._engine = engine
        self._guard = guard._guard

    def append(self, session_id: str, messages: Sequence[dict[str, Any]]) -> None:
        now = time.time()
        rows = [
            {
                "session_id": session_id,
                "role": m["role"],
                "content": m["content"],
                "name": m.get("name"),
                "metadata": json.dumps(m.get("metadata") or {}, sort_keys=True),
                "created_at": now,
                "parts": json.dumps(m["parts"]) if m.get("parts") else None,
            }
            for m in messages
        ]
        if rows:
            with self._guard(), self._engine.begin() as conn:
                conn.execute(schema.transcripts.insert(), rows)

    def read(self, session_id: str, last: int | None = None) -> list[dict[str, Any]]:
        t = schema.transcripts
        query = select(t).where(t.c.session_id == session_id).order_by(t.c.id.desc())
        if last is not None:
            query = query.limit(last)
        with self._guard(), self._engine.connect() as conn:
            rows = list(conn.execute(query))
        return [
            {
                "role": r.role,
                "content": r.content,
                "name": r.name,
                "metadata": json.loads(r.metadata),
                "created_at": r.created_at,
                "parts": json.loads(r.parts) if r.parts else [],
            }
            for r in reversed(rows)
        ]

    def count(self, session_id: str) -> int:
        t = schema.transcripts
        query = select(func.count()).select_from(t).where(t.c.session_id == session_id)
        with self._guard(), self._engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def clear(self, session_id: str) -> None:
        t = schema.transcripts
        with self._guard(), self._engine.begin() as conn:
            conn.execute(delete(t).where(t.c.session_id == session_id))


class PendingExtractions:
    """Messages whose extraction failed for good: kept, never dropped, until replayed."""

    def __init__(self, engine: Engine, guard: _Guarded) -> None:
        self._engine = engine
        self._guard = guard._guard

    def keep(self, messages: Sequence[dict[str, Any]], options: dict[str, Any], error: str) -> str:
        pending_id = str(uuid.uuid4())
        values = {
            "id": pending_id,
            "messages": json.dumps(list(messages)),
            "options": json.dumps(options, sort_keys=True),
            "error": error,
            "created_at": time.time(),
        }
        with self._guard(), self._engine.begin() as conn:
            conn.execute(schema.pending_extractions.insert().values(**values))
        return pending_id

    def list(self) -> list[dict[str, Any]]:
        p = schema.pending_extractions
        with self._guard(), self._engine.connect() as conn:
            rows = list(conn.execute(select(p).order_by(p.c.created_at)))
        return [
            {
                "id": r.id,
                "messages": json.loads(r.messages),
                "options": json.loads(r.options),
                "error": r.error,
                "created_at": r.created_at,
            }
            for r in rows
        ]

    def drop(self, pending_id: str) -> None:
        p = schema.pending_extractions
        with self._guard(), self._engine.begin() as conn:
            conn.execute(delete(p).where(p.c.id == pending_id))


class MemoryExports:
    """Structured exports by id, and the latest per filters key: in the store, not in one
    process, so a server's workers answer for each other's exports."""

    def __init__(self, engine: Engine, guard: _Guarded) -> None:
        self._engine = engine
        self._guard = guard._guard

    def keep(self, filters_key: str, result: dict[str, Any]) -> str:
        export_id = str(uuid.uuid4())
        values = {
            "id": export_id,
            "filters_key": filters_key,
            "result": json.dumps(result),
            "created_at": time.time(),
        }
        with self._guard(), self._engine.begin() as conn:
            conn.execute(schema.memory_exports.insert().values(**values))
        return export_id

    def get(self, export_id: str) -> dict[str, Any] | None:
        e = schema.memory_exports
        with self._guard(), self._engine.connect() as conn:
            text = conn.execute(select(e.c.result).where(e.c.id == export_id)).scalar()
        return None if text is None else dict(json.loads(text))

    def latest(self, filters_key: str) -> str | None:
        e = schema.memory_exports
        query = (
            select(e.c.id)
            .where(e.c.filters_key == filters_key)
            .order_by(e.c.created_at.desc(), e.c.id.desc())
            .limit(1)
        )
        with self._guard(), self._engine.connect() as conn:
            found: str | None = conn.execute(query).scalar()
        return found


class Quarantine:
    """Memories the vector index refused: id -> the index's error, with how often it failed.

    A memory here is whole in the record store and absent from the index; any new write of
    it drops its row (``RecordStore.commit``), and a retry that the index takes drops it too.
    """

    def __init__(self, engine: Engine, guard: _Guarded) -> None:
        self._engine = engine
        self._guard = guard._guard

    def keep(self, refused: Mapping[str, str]) -> None:
        """Record (or count again) each refused memory with the index's error."""
        if not refused:
            return
        q = schema.index_quarantine
        now = time.time()
        with self._guard(), self._engine.begin() as conn:
            known = set(
                conn.execute(
                    select(q.c.memory_id).where(q.c.memory_id.in_(list(refused)))
                ).scalars()
            )
            for memory_id in known:
                conn.execute(
                    update(q)
                    .where(q.c.memory_id == memory_id)
                    .values(
                        error=refused[memory_id],
                        attempts=q.c.attempts + 1,
                        last_failed_at=now,
                    )
                )
            fresh = [
                {
                    "memory_id": memory_id,
                    "error": error,
                    "attempts": 1,
                    "first_failed_at": now,
                    "last_failed_at": now,
                }
                for memory_id, error in refused.items()
                if memory_id not in known
            ]
            if fresh:
                conn.execute(q.insert(), fresh)

    def drop(self, ids: Iterable[str]) -> None:
        q = schema.index_quarantine
        wanted = list(ids)
        if not wanted:
            return
        with self._guard(), self._engine.begin() as conn:
            for start in range(0, len(wanted), 500):
                conn.execute(delete(q).where(q.c.memory_id.in_(wanted[start : start + 500])))

    def ids(self) -> set[str]:
        q = schema.index_quarantine
        with self._guard(), self._engine.connect() as conn:
            return set(conn.execute(select(q.c.memory_id)).scalars())

    def count(self) -> int:
        q = schema.index_quarantine
        with self._guard(), self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(q)).scalar_one()

    def list(self) -> list[dict[str, Any]]:
        """Every quarantined memory, the longest-quarantined first."""
        q = schema.index_quarantine
        query = select(q).order_by(q.c.first_failed_at, q.c.memory_id)
        with self._guard(), self._engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]
