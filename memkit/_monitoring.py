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
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from memkit.store._records import ActivityEntry, RecordStore

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


# The Outcome of the monitored call running in this context. A context variable rather than
# a parameter, so that no public signature carries monitoring plumbing; AsyncMemory's worker
# threads run in a copy of the caller's context, so each call still sees its own.
_CURRENT: ContextVar[Outcome | None] = ContextVar("memkit_outcome", default=None)


def current_outcome() -> Outcome:
    """The running monitored call's Outcome to fill in (a discarded one outside any call)."""
    outcome = _CURRENT.get()
    return outcome if outcome is not None else Outcome()


def monitored(kind: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log the call's latency and outcome (or error) to ``self._activity``.

    The method fills in :func:`current_outcome`: its scope and counts.
    """

    def wrap(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            self = args[0]
            outcome = Outcome()
            token = _CURRENT.set(outcome)
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                _CURRENT.reset(token)
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
