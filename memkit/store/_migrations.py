"""Numbered schema migrations, applied in order and recorded in ``schema_migrations``.

Each migration is the DDL it ran when it was written, frozen here as text for each
database memkit supports; it never reads ``memkit.store._schema``. So an edit to
``schema.py`` cannot change what an old migration does to an old store: it changes
nothing until it comes with a new migration, and ``tests/test_migrations.py`` fails
until it does (it compares ``schema.py`` with a store migrated step by step, on SQLite
and PostgreSQL, and pins each released migration's text).

A released migration is never edited; a change to the schema is a new entry. Changes
so far added tables, and nullable columns (``ALTER TABLE ... ADD COLUMN``, which SQLite
and PostgreSQL both do in place, old rows reading NULL). The first change SQLite cannot
do in place (a dropped, renamed or retyped column) is the moment to move to alembic.

``CREATE ... IF NOT EXISTS`` keeps the ``checkfirst`` behaviour the first migrations had,
so a step that finds its table already there leaves it be.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, text

__all__ = ["MIGRATIONS", "Migration", "migrate", "statements"]

# The two places the supported databases spell a column differently: an integer primary
# key that numbers itself, and bytes. Frozen with the migrations that use them.
_TYPES: dict[str, dict[str, str]] = {
    "sqlite": {"serial": "INTEGER", "blob": "BLOB"},
    "postgresql": {"serial": "SERIAL", "blob": "BYTEA"},
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    ddl: tuple[str, ...]  # statements; {serial} and {blob} are spelled per database


# The table of applied migrations, created before any migration runs.
_BOOKKEEPING = (
    """CREATE TABLE IF NOT EXISTS schema_migrations (
    version {serial} NOT NULL,
    name VARCHAR(128) NOT NULL,
    applied_at FLOAT NOT NULL,
    PRIMARY KEY (version)
)""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "initial: memories, history, activity, index journal, store meta",
        (
            """CREATE TABLE IF NOT EXISTS memories (
    id VARCHAR(36) NOT NULL,
    memory TEXT NOT NULL,
    hash VARCHAR(32) NOT NULL,
    user_id VARCHAR(255),
    agent_id VARCHAR(255),
    app_id VARCHAR(255),
    run_id VARCHAR(255),
    metadata TEXT NOT NULL,
    categories TEXT NOT NULL,
    embedding {blob} NOT NULL,
    created_at FLOAT NOT NULL,
    updated_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
            "CREATE INDEX IF NOT EXISTS ix_memories_user_id ON memories (user_id)",
            "CREATE INDEX IF NOT EXISTS ix_memories_agent_id ON memories (agent_id)",
            "CREATE INDEX IF NOT EXISTS ix_memories_app_id ON memories (app_id)",
            "CREATE INDEX IF NOT EXISTS ix_memories_run_id ON memories (run_id)",
            "CREATE INDEX IF NOT EXISTS ix_memories_updated ON memories (updated_at, id)",
            "CREATE INDEX IF NOT EXISTS ix_memories_hash ON memories (hash)",
            """CREATE TABLE IF NOT EXISTS history (
    id {serial} NOT NULL,
    memory_id VARCHAR(36) NOT NULL,
    event VARCHAR(16) NOT NULL,
    old_memory TEXT,
    new_memory TEXT,
    metadata TEXT NOT NULL,
    categories TEXT NOT NULL,
    user_id VARCHAR(255),
    agent_id VARCHAR(255),
    app_id VARCHAR(255),
    run_id VARCHAR(255),
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
            "CREATE INDEX IF NOT EXISTS ix_history_memory_id ON history (memory_id, id)",
            """CREATE TABLE IF NOT EXISTS activity (
    id {serial} NOT NULL,
    kind VARCHAR(32) NOT NULL,
    scope TEXT NOT NULL,
    counts TEXT NOT NULL,
    latency_ms FLOAT NOT NULL,
    error TEXT,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
            "CREATE INDEX IF NOT EXISTS ix_activity_created ON activity (created_at)",
            """CREATE TABLE IF NOT EXISTS index_journal (
    memory_id VARCHAR(36) NOT NULL,
    op VARCHAR(8) NOT NULL,
    PRIMARY KEY (memory_id)
)""",
            """CREATE TABLE IF NOT EXISTS store_meta (
    "key" VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY ("key")
)""",
        ),
    ),
    Migration(
        2,
        "transcripts: short-term session messages",
        (
            """CREATE TABLE IF NOT EXISTS transcripts (
    id {serial} NOT NULL,
    session_id VARCHAR(255) NOT NULL,
    role VARCHAR(16) NOT NULL,
    content TEXT NOT NULL,
    name VARCHAR(255),
    metadata TEXT NOT NULL,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
            "CREATE INDEX IF NOT EXISTS ix_transcripts_session ON transcripts (session_id, id)",
        ),
    ),
    Migration(
        3,
        "pending_extractions: messages kept when extraction fails",
        (
            """CREATE TABLE IF NOT EXISTS pending_extractions (
    id VARCHAR(36) NOT NULL,
    messages TEXT NOT NULL,
    options TEXT NOT NULL,
    error TEXT NOT NULL,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
        ),
    ),
    Migration(
        4,
        # Filled from the memories' text when the store opens (KeywordIndex.sync).
        "keyword_docs: the keyword index of search",
        (
            """CREATE TABLE IF NOT EXISTS keyword_docs (
    seq {serial} NOT NULL,
    memory_id VARCHAR(36) NOT NULL,
    terms TEXT NOT NULL,
    PRIMARY KEY (seq),
    UNIQUE (memory_id)
)""",
        ),
    ),
    Migration(
        5,
        "index_quarantine: memories the vector index refused",
        (
            """CREATE TABLE IF NOT EXISTS index_quarantine (
    memory_id VARCHAR(36) NOT NULL PRIMARY KEY,
    error TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failed_at FLOAT NOT NULL,
    last_failed_at FLOAT NOT NULL
)""",
        ),
    ),
    Migration(
        6,
        # NULL is the default of both: mutable, never expires.
        "memories.immutable and memories.expiration_date: the platform's add options",
        (
            "ALTER TABLE memories ADD COLUMN immutable BOOLEAN",
            "ALTER TABLE memories ADD COLUMN expiration_date VARCHAR(32)",
            "CREATE INDEX IF NOT EXISTS ix_memories_expiration ON memories (expiration_date)",
        ),
    ),
    Migration(
        7,
        # NULL for a message of plain text, as every older row is.
        "transcripts.parts: a message's content parts (text and images) as JSON",
        ("ALTER TABLE transcripts ADD COLUMN parts TEXT",),
    ),
    Migration(
        8,
        "memory_exports: structured exports kept in the store, for every process serving it",
        (
            """CREATE TABLE IF NOT EXISTS memory_exports (
    id VARCHAR(36) NOT NULL,
    filters_key TEXT NOT NULL,
    result TEXT NOT NULL,
    created_at FLOAT NOT NULL,
    PRIMARY KEY (id)
)""",
            "CREATE INDEX IF NOT EXISTS ix_memory_exports_filters "
            "ON memory_exports (filters_key, created_at)",
        ),
    ),
)


def statements(ddl: tuple[str, ...], dialect: str) -> list[str]:
    """The statements of ``ddl`` as ``dialect`` (``sqlite`` or ``postgresql``) spells them."""
    try:
        types = _TYPES[dialect]
    except KeyError:
        raise ValueError(
            f"memkit's migrations know sqlite and postgresql, not {dialect!r}"
        ) from None
    return [statement.format(**types) for statement in ddl]


def migrate(conn: Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Apply every migration of ``migrations`` not yet recorded; returns the versions applied.
    (``migrations`` is a prefix of ``MIGRATIONS`` only in tests, to stand for an older store.)
    """
    dialect = conn.dialect.name
    for statement in statements(_BOOKKEEPING, dialect):
        conn.execute(text(statement))
    done = set(conn.execute(text("SELECT version FROM schema_migrations")).scalars())
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        for statement in statements(migration.ddl, dialect):
            conn.execute(text(statement))
        conn.execute(
            text(
                "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES (:version, :name, :applied_at)"
            ),
            {"version": migration.version, "name": migration.name, "applied_at": time.time()},
        )
        applied.append(migration.version)
    return applied
