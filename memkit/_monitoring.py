"""Monitoring: every public call is logged with its kind, scope, counts, latency and error.

The calls fill in :func:`current_outcome`; :func:`monitored` times them and hands the entry
to the store's buffered activity log (``memkit.store._activity_log``).
"""

from __future__ import annotations

import functools
import logging
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from memkit.store._activity_log import ActivityLog

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger("memkit")


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
