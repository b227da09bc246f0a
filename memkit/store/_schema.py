"""Tables of the SQL record store, the system of record.

Times are float epoch seconds (UTC): they sort and compare the same on SQLite and
PostgreSQL. Embeddings are float32 bytes so the Chroma index can be rebuilt
without re-embedding.

These definitions are what the code reads and writes; the tables themselves are
created by the frozen DDL of ``memkit.store._migrations``. A change here needs a new
migration that makes it: ``tests/test_migrations.py`` fails until the two agree.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata_obj = MetaData()

ID = String(255)

memories = Table(
    "memories",
    metadata_obj,
    Column("id", String(36), primary_key=True),
    Column("memory", Text, nullable=False),
    Column("hash", String(32), nullable=False),
    Column("user_id", ID),
    Column("agent_id", ID),
    Column("app_id", ID),
    Column("run_id", ID),
    Column("metadata", Text, nullable=False),  # JSON object
    Column("categories", Text, nullable=False),  # JSON list
    Column("embedding", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("immutable", Boolean),  # NULL or false: update and the extractor may change it
    Column("expiration_date", String(32)),  # "YYYY-MM-DD" as given; NULL never expires
    Index("ix_memories_user_id", "user_id"),
    Index("ix_memories_agent_id", "agent_id"),
    Index("ix_memories_app_id", "app_id"),
    Index("ix_memories_run_id", "run_id"),
    Index("ix_memories_updated", "updated_at", "id"),
    Index("ix_memories_hash", "hash"),
    Index("ix_memories_expiration", "expiration_date"),
)

history = Table(
    "history",
    metadata_obj,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("memory_id", String(36), nullable=False),
    Column("event", String(16), nullable=False),
    Column("old_memory", Text),
    Column("new_memory", Text),
    Column("metadata", Text, nullable=False),
    Column("categories", Text, nullable=False),
    Column("user_id", ID),
    Column("agent_id", ID),
    Column("app_id", ID),
    Column("run_id", ID),
    Column("created_at", Float, nullable=False),
    Index("ix_history_memory_id", "memory_id", "id"),
)

activity = Table(
    "activity",
    metadata_obj,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("scope", Text, nullable=False),  # JSON object of the entity ids
    Column("counts", Text, nullable=False),  # JSON object, e.g. {"ADD": 2}
    Column("latency_ms", Float, nullable=False),
    Column("error", Text),
    Column("created_at", Float, nullable=False),
    Index("ix_activity_created", "created_at"),
)

# Index writes the record store has committed but Chroma may not have applied yet.
index_journal = Table(
    "index_journal",
    metadata_obj,
    Column("memory_id", String(36), primary_key=True),
    Column("op", String(8), nullable=False),  # "upsert" | "delete"
)

store_meta = Table(
    "store_meta",
    metadata_obj,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

schema_migrations = Table(
    "schema_migrations",
    metadata_obj,
    Column("version", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("applied_at", Float, nullable=False),
)

# One chat session's transcript (short-term memory for the framework adapters).
transcripts = Table(
    "transcripts",
    metadata_obj,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("name", String(255)),
    Column("metadata", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("parts", Text),  # the content parts as JSON; NULL when the content is plain text
    Index("ix_transcripts_session", "session_id", "id"),
)

# Messages of an add whose extraction failed for good, kept for replay.
pending_extractions = Table(
    "pending_extractions",
    metadata_obj,
    Column("id", String(36), primary_key=True),
    Column("messages", Text, nullable=False),  # JSON list of {role, content, name}
    Column("options", Text, nullable=False),  # JSON: the add's ids, metadata, timestamp, ...
    Column("error", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)

# The keyword index of search (``memkit.search._bm25``): each memory's stemmed term counts,
# written in the same transaction as the memory itself, so it never drifts from it.
# ``seq`` numbers memories in the order they were written (search's neighbouring context).
keyword_docs = Table(
    "keyword_docs",
    metadata_obj,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("memory_id", String(36), nullable=False, unique=True),
    Column("terms", Text, nullable=False),  # JSON object: term -> count
)

# Memories the vector index refused (``memkit.store._quarantine``): kept in the record store,
# left out of the index, and retried by ``Memory.check()`` and when the store is opened.
index_quarantine = Table(
    "index_quarantine",
    metadata_obj,
    Column("memory_id", String(36), primary_key=True),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", Float, nullable=False),
    Column("last_failed_at", Float, nullable=False),
)

# Structured exports (``Memory.create_memory_export``): the LLM's filled object, kept in the
# store so any process serving the store (a server's workers) can return it; ``filters_key``
# finds the latest made with the same filters and ids.
memory_exports = Table(
    "memory_exports",
    metadata_obj,
    Column("id", String(36), primary_key=True),
    Column("filters_key", Text, nullable=False),
    Column("result", Text, nullable=False),  # JSON object
    Column("created_at", Float, nullable=False),
    Index("ix_memory_exports_filters", "filters_key", "created_at"),
)
