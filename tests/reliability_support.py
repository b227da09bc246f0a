"""Shared helpers of the reliability campaign (issue 12, "nothing accepted can brick the store").

``test_fuzz_api``, ``test_state_machine`` and ``test_kill`` use them: a fast store (the
``HashEmbedder`` test double), a content snapshot read straight from the SQL file (so a
refused call can be shown to have changed nothing, byte for byte), a health check that
every accepted call must leave true, and the figures file RELIABILITY.md quotes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from memkit import Memory
from memkit.models import MemoryRecord
from memkit.testing import HashEmbedder

__all__ = [
    "CONTENT_TABLES",
    "FIGURES",
    "all_records",
    "assert_healthy",
    "content_snapshot",
    "index_disagreement",
    "open_memory",
    "record_figures",
]

FIGURES = Path(__file__).parent / ".reliability" / "figures.json"

# What a memory store *holds*. The activity log and the index journal are bookkeeping: a
# refused call is logged in the former, and the latter empties as the index catches up.
CONTENT_TABLES = {
    "memories": "id",
    "history": "id",
    "transcripts": "id",
    "pending_extractions": "id",
    "keyword_docs": "seq",
}


def open_memory(path: Path | str) -> Memory:
    return Memory(path=str(path), embedder=HashEmbedder())


def content_snapshot(path: Path | str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every content table, in key order, read from the SQLite file itself."""
    db = Path(path) / "memkit.db"
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()
            for table, key in CONTENT_TABLES.items()
        }
    finally:
        conn.close()


def all_records(memory: Memory) -> dict[str, MemoryRecord]:
    """Every memory through the public API, page by page."""
    out: dict[str, MemoryRecord] = {}
    page = 1
    while True:
        result = memory.get_all(page=page, page_size=1000)
        for record in result.results:
            assert record.id not in out, f"pages overlap at {record.id}"
            out[record.id] = record
        if result.next is None:
            assert len(out) == result.count, (len(out), result.count)
            return out
        page = result.next


def index_disagreement(memory: Memory) -> dict[str, list[str]]:
    """Memories the index lacks, holds but should not, or holds at another revision.

    Compares the record store's stamps with the index's once the queued index writes are
    applied (what reopening a store checks after an unclean shutdown).
    """
    from memkit.store._index import revision

    backend = memory.backend
    backend.sync_index()
    truth = backend.records.stamps()
    indexed = backend.index.stamps()
    return {
        "missing": sorted(i for i in truth if i not in indexed),
        "extra": sorted(i for i in indexed if i not in truth),
        "stale": sorted(i for i in truth if i in indexed and indexed[i] != revision(truth[i])),
    }


def assert_healthy(memory: Memory, words: tuple[str, ...] = ("fact",)) -> dict[str, MemoryRecord]:
    """The store reads: every page, every id, a search per entity, and index == records."""
    records = all_records(memory)
    assert len(records) == memory.backend.records.count()
    for memory_id, record in records.items():
        got = memory.get(memory_id)
        assert got.model_dump() == record.model_dump()
        memory.history(memory_id)
    users = {r.user_id for r in records.values() if r.user_id is not None}
    for user in sorted(users)[:5]:
        for word in words:
            for hit in memory.search(word, user_id=user, top_k=50).results:
                assert hit.user_id == user
                assert hit.id in records
    for hit in memory.search(words[0], top_k=50).results:
        assert hit.id in records
    memory.users()
    problems = index_disagreement(memory)
    assert not any(problems.values()), problems
    return records


@contextlib.contextmanager
def _figures_lock() -> Iterator[None]:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    with open(FIGURES.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def record_figures(section: str, figures: dict[str, Any]) -> None:
    """Merge one test's counts into tests/.reliability/figures.json (for RELIABILITY.md)."""
    with _figures_lock():
        data: dict[str, Any] = {}
        if FIGURES.exists():
            with contextlib.suppress(ValueError):
                data = json.loads(FIGURES.read_text())
        data[section] = figures
        FIGURES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
