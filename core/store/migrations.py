"""Numbered schema migrations, applied in order and recorded in ``schema_migrations``.

A migration is never edited once released; a change to the schema is a new entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, select, text

from memkit.store import schema

Migration = tuple[int, str, Callable[[Connection], None]]


def _initial(conn: Connection) -> None:
    for table in (
        schema.memories,
        schema.history,
        schema.activity,
        schema.index_journal,
        schema.store_meta,
    ):
        table.create(conn, checkfirst=True)


def _transcripts(conn: Connection) -> None:
    schema.transcripts.create(conn, checkfirst=True)


def _pending_extractions(conn: Connection) -> None:
    schema.pending_extractions.create(conn, checkfirst=True)


def _keyword_index(conn: Connection) -> None:
    # Filled from the memories' text when the store opens (KeywordIndex.sync).
    schema.keyword_docs.create(conn, checkfirst=True)


def _index_quarantine(conn: Connection) -> None:
    # Frozen here: later edits to ``schema.index_quarantine`` must not change this step.
    conn.execute(
        text(
            "CREATE TABLE IF NOT EXISTS index_quarantine ("
            "memory_id VARCHAR(36) NOT NULL PRIMARY KEY, "
            "error TEXT NOT NULL, "
            "attempts INTEGER NOT NULL, "
            "first_failed_at FLOAT NOT NULL, "
            "last_failed_at FLOAT NOT NULL)"
        )
    )


MIGRATIONS: list[Migration] = [
    (1, "initial: memories, history, activity, index journal, store meta", _initial),
    (2, "transcripts: short-term session messages", _transcripts),
    (3, "pending_extractions: messages kept when extraction fails", _pending_extractions),
    (4, "keyword_docs: the keyword index of search", _keyword_index),
    (5, "index_quarantine: memories the vector index refused", _index_quarantine),
]


def migrate(conn: Connection) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied."""
    schema.schema_migrations.create(conn, checkfirst=True)
    done = set(conn.execute(select(schema.schema_migrations.c.version)).scalars())
    applied = []
    for version, name, apply in MIGRATIONS:
        if version in done:
            continue
        apply(conn)
        conn.execute(
            schema.schema_migrations.insert().values(
                version=version, name=name, applied_at=time.time()
            )
        )
        applied.append(version)
    return applied
