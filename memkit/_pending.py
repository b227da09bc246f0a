"""Adds kept for replay: an add whose extraction failed for good, run again later.

The failed add wrote nothing and kept its messages and options (``_adding``); a replay
runs that same add again through ``Memory.add``, drops the row on success and keeps it,
under its own id, on another failure. One replay of a row runs at a time, and it holds
no store lock while the model is called.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from memkit._domain import epoch_to_datetime
from memkit.errors import ExtractionError, InvalidInputError
from memkit.models import AddResult
from memkit.store._backend import Backend

__all__ = ["Replays", "pending_rows", "replay_row"]


class Replays:
    """The pending ids whose replay is running in this Memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[str] = set()

    @contextmanager
    def only_one(self, pending_id: str) -> Iterator[None]:
        """Claim ``pending_id`` for this replay; a second replay of it is refused."""
        with self._lock:
            if pending_id in self._running:
                raise InvalidInputError(f"pending extraction {pending_id!r} is being replayed")
            self._running.add(pending_id)
        try:
            yield
        finally:
            with self._lock:
                self._running.discard(pending_id)


def pending_rows(backend: Backend) -> list[dict[str, Any]]:
    return [
        {**row, "created_at": epoch_to_datetime(row["created_at"])}
        for row in backend.records.pending.list()
    ]


def replay_row(backend: Backend, pending_id: str, add: Callable[..., AddResult]) -> AddResult:
    """Run the kept add with ``add``; on success its row is dropped."""
    pending = backend.records.pending
    row = next((r for r in pending.list() if r["id"] == pending_id), None)
    if row is None:
        raise InvalidInputError(f"no pending extraction with id {pending_id!r}")
    options = {k: v for k, v in row["options"].items() if v is not None}
    try:
        result = add(row["messages"], **options)
    except ExtractionError as exc:
        if exc.pending_id is not None and exc.pending_id != pending_id:
            pending.drop(exc.pending_id)  # the original row already keeps them
        exc.pending_id = pending_id
        raise
    pending.drop(pending_id)
    return result
