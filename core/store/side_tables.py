"""Tables beside the memories: session transcripts and extractions kept for replay."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlalchemy import Engine, delete, func, select

from memkit.store import schema


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
