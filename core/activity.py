"""The activity log: every operation with its kind, scope, counts and latency.

Entries are buffered and written in one transaction every second or 64 entries
(and on close), so monitoring never adds a commit to a search.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from memkit.store.records import ActivityEntry, RecordStore

P = ParamSpec("P")
R = TypeVar("R")

FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
MAX_ERROR_LENGTH = 1000  # characters of an error message kept in the log

log = logging.getLogger("memkit")


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
            self._buffer.append((kind, scope, counts, latency_ms, error))
            due = len(self._buffer) >= FLUSH_EVERY or (
                time.monotonic() - self._last_flush >= FLUSH_SECONDS
            )
        if due:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._buffer = self._buffer, []
            self._last_flush = time.monotonic()
        if pending:
            self._records.log_activities(pending)

    def recent(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        self.flush()
        return self._records.activity(limit=limit, kind=kind)


class Outcome:
    """What a monitored call reports about itself: its scope and counts."""

    def __init__(self) -> None:
        self.scope: dict[str, str] = {}
        self.counts: dict[str, int] = {}


def monitored(kind: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log the call's latency and outcome (or error) to ``self._activity``.

    The method receives an ``Outcome`` as keyword ``_outcome`` to fill in.
    """

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            self = args[0]
            outcome = Outcome()
            started = time.perf_counter()
            try:
                return method(*args, _outcome=outcome, **kwargs)  # type: ignore[arg-type]
            finally:
                latency = (time.perf_counter() - started) * 1000
                failure = sys.exception()
                error = f"{type(failure).__name__}: {failure}" if failure else None
                activity: ActivityLog | None = getattr(self, "_activity", None)
                if activity is not None:
                    try:
                        activity.record(kind, outcome.scope, outcome.counts, latency, error)
                    except Exception:  # monitoring never replaces the call's own outcome
                        log.exception("memkit: the activity log could not record %s", kind)

        return run

    return wrap
