"""The activity log's buffer: operations recorded in memory and written in batches.

Entries are buffered and written in one transaction every second or 64 entries (and on
close), so monitoring never adds a commit to a search. What is recorded (kind, scope,
counts, latency, error) is decided above, by ``memkit._monitoring``; this is its storage.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from memkit.store._records import ActivityEntry, RecordStore

__all__ = ["ActivityLog", "storable"]

FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
MAX_ERROR_LENGTH = 1000  # characters of an error message kept in the log


def storable(text: str, limit: int = MAX_ERROR_LENGTH) -> str:
    """``text`` as the log can hold it: an error message quotes the bad input it refused
    (a lone surrogate, a NUL, a 50,000-character string), and the log must take it anyway."""
    clean = text[:limit].encode("utf-8", "backslashreplace").decode("utf-8")
    return clean.replace("\x00", "\\x00")


class ActivityLog:
    def __init__(self, records: RecordStore) -> None:
        self._records = records
        self._buffer: list[ActivityEntry] = []
        self._lock = threading.Lock()
        self._flushing = threading.Lock()
        self._last_flush = time.monotonic()

    def record(
        self,
        kind: str,
        scope: dict[str, str],
        counts: dict[str, int],
        latency_ms: float,
        error: str | None = None,
    ) -> None:
        scope = {name: storable(value) for name, value in scope.items()}
        error = None if error is None else storable(error)
        with self._lock:
            # Stamped now, not when the buffer is written: a row's time is its call's.
            self._buffer.append((kind, scope, counts, latency_ms, error, time.time()))
            due = len(self._buffer) >= FLUSH_EVERY or (
                time.monotonic() - self._last_flush >= FLUSH_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        # One flush at a time, written before it returns: a reader that flushes while
        # another thread's flush is still writing waits for it instead of missing its rows.
        with self._flushing:
            with self._lock:
                pending, self._buffer = self._buffer, []
                self._last_flush = time.monotonic()
            if pending:
                self._records.log_activities(pending)

    def recent(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        self.flush()
        return self._records.activity(limit=limit, kind=kind)
