"""``MemkitStore``'s TTL: LangGraph's expiry rules as pure decisions, and the sweeper thread.

The rules are PostgresStore's (``langgraph/store/postgres/base.py`` in
langgraph-checkpoint-postgres), the store LangGraph's TTL was written for:

- ``put(..., ttl=m)`` keeps the expiry (now + ``m`` minutes) and ``m`` with the item;
  ``ttl=None`` keeps neither; ``put`` without ``ttl`` takes ``TTLConfig.default_ttl``
  (``_ensure_ttl`` in ``langgraph.store.base``). A ``PutOp`` given to ``batch`` keeps its
  own ``ttl``, as there.
- A read asked to refresh (``refresh_ttl``, defaulting to ``TTLConfig.refresh_on_read``,
  itself True: ``_ensure_refresh``) moves the expiry of each item it returns to now + that
  item's ``m``; items without a TTL are untouched. The item comes back as it was read, and
  its ``updated_at`` stays the time of its last write (a read is not a write). SqliteStore
  refreshes only when the config also says ``refresh_on_read``; PostgresStore whenever the
  operation asks, which is what ``BaseStore``'s docstrings describe, so this store does that.
- Expired items are left out of ``get``, ``search`` and ``list_namespaces`` and never
  refreshed back to life (PostgresStore with ``omit_expired``,
  ``test_omit_expired_refresh_ttl_only_refreshes_live_rows``). Here that is the default:
  PostgresStore's default (shown until a sweep) relies on a sweeper the database runs, and
  memkit has none unless the caller starts one. ``TTLConfig(omit_expired=False)`` restores it.
- ``sweep_ttl()`` deletes the expired items; ``start_ttl_sweeper()`` runs it every
  ``sweep_interval_minutes`` (5 when unset) in a daemon thread until ``stop_ttl_sweeper()``.

Where it is kept: each memory's metadata, under ``lg.expires_at`` (epoch seconds of the
store's clock) and ``lg.ttl_minutes``; a refresh also writes ``lg.updated_at`` (the item's
last write, since memkit's own ``updated_at`` moves with the refresh). An item is live while
``lg.expires_at`` is after now, expired from that instant on, so no item is both.

What memkit's public API makes a refresh cost: it is an ``update`` of the metadata, so memkit
records it like any update (its own ``updated_at`` and history, one index write), and a
search without a query, ordered by memkit's ``updated_at``, lists an item read with refresh
as recently updated. The metadata is written whole, so a ``put`` of the same item landing
between a read and its refresh would lose its metadata to the refresh; one store object
serialises nothing across processes.
"""

from __future__ import annotations

import concurrent.futures
import logging
import math
import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from langgraph.store.base import NotProvided, TTLConfig

from langchain_memkit._calls import Flow, call
from langchain_memkit._store_codec import EXPIRES_AT, TTL_MINUTES, UPDATED_AT, namespace_filter
from memkit.errors import MemkitError, MemoryNotFoundError
from memkit.models import MemoryRecord

__all__ = [
    "DEFAULT_SWEEP_MINUTES",
    "Sweeper",
    "check_ttl",
    "ensure_refresh",
    "ensure_ttl",
    "expired",
    "expiry",
    "live",
    "omits_expired",
    "refresh",
    "refreshed",
    "sweep",
]

DEFAULT_SWEEP_MINUTES = 5.0  # PostgresStore.start_ttl_sweeper's fallback
_BATCH = 1000  # memkit's batch_update / batch_delete limit

logger = logging.getLogger(__name__)


def ensure_ttl(config: TTLConfig | None, ttl: float | NotProvided | None) -> float | None:
    """The TTL in minutes a ``put`` writes: its own, else the config's ``default_ttl``."""
    if isinstance(ttl, NotProvided):
        return config.get("default_ttl") if config else None
    return ttl


def ensure_refresh(config: TTLConfig | None, refresh_ttl: bool | None) -> bool:
    """Whether a read refreshes: its own choice, else ``refresh_on_read`` (True when unset)."""
    if refresh_ttl is not None:
        return refresh_ttl
    return config.get("refresh_on_read", True) if config is not None else True


def omits_expired(config: TTLConfig | None) -> bool:
    return (config or {}).get("omit_expired", True) is not False


def check_ttl(ttl: Any) -> None:
    """A TTL is a finite number of minutes (zero or less: expired as soon as written)."""
    if ttl is None:
        return
    finite = False
    if isinstance(ttl, int | float) and not isinstance(ttl, bool):
        with suppress(OverflowError):  # an int beyond float's range
            finite = math.isfinite(float(ttl) * 60.0)
    if not finite:
        raise ValueError(f"ttl is a finite number of minutes or None, got {ttl!r}")


def expiry(now: float, ttl_minutes: float) -> float:
    at = now + float(ttl_minutes) * 60.0
    if not math.isfinite(at):
        raise ValueError(f"ttl of {ttl_minutes} minutes is too large")
    return at


def live(now: float) -> dict[str, Any]:
    """memkit filter: items without a TTL, or whose expiry is still ahead."""
    return {"NOT": [expired(now)]}  # NOT is true where the key is missing


def expired(now: float) -> dict[str, Any]:
    return {"metadata": {EXPIRES_AT: {"lte": now}}}


def refreshed(record: MemoryRecord, now: float) -> dict[str, Any] | None:
    """The metadata that moves the item's expiry to ``now`` + its TTL; None: nothing to do."""
    metadata = record.metadata
    ttl = metadata.get(TTL_MINUTES)
    if ttl is None:
        return None
    at = expiry(now, ttl)
    if metadata.get(EXPIRES_AT) == at:
        return None
    return {
        **metadata,
        EXPIRES_AT: at,
        UPDATED_AT: metadata.get(UPDATED_AT, record.updated_at.isoformat()),
    }


def refresh(records: list[MemoryRecord], now: float) -> Flow[None]:
    """Move the expiry of each record that has a TTL to ``now`` + its TTL."""
    changes = [
        {"memory_id": record.id, "metadata": metadata}
        for record in records
        if (metadata := refreshed(record, now)) is not None
    ]
    for start in range(0, len(changes), _BATCH):
        chunk = changes[start : start + _BATCH]
        try:
            yield from call("batch_update", chunk)
        except MemoryNotFoundError:
            # batch_update is all or nothing and one was deleted since it was read: a
            # deleted item needs no refresh, so refresh the others one by one.
            for change in chunk:
                with suppress(MemoryNotFoundError):
                    yield from call("update", change["memory_id"], metadata=change["metadata"])


def sweep(app_id: str, now: float) -> Flow[int]:
    """Delete the store's items expired at ``now``; returns how many."""
    query = {"AND": [namespace_filter(()), expired(now)]}
    count = 0
    seen: set[str] = set()
    while True:
        page = yield from call("get_all", filters=query, app_id=app_id, page_size=_BATCH)
        ids = [record.id for record in page.results]
        if seen.issuperset(ids):  # none left (or only ones a failed delete left behind)
            return count
        seen.update(ids)
        try:
            result = yield from call("batch_delete", [{"memory_id": i} for i in ids])
            count += result.count
        except MemoryNotFoundError:
            # All or nothing, and one went since the listing: delete the others alone.
            for memory_id in ids:
                with suppress(MemoryNotFoundError):
                    yield from call("delete", memory_id)
                    count += 1


class Sweeper:
    """PostgresStore's TTL sweeper thread: ``sweep`` every ``interval`` minutes until stopped.

    A memkit error in one sweep (the store locked by another process, Chroma timing out) is
    logged and the next sweep runs; any other error ends the thread and its future.
    """

    __slots__ = ("_stop", "_thread")

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, sweep: Callable[[], int], minutes: float) -> concurrent.futures.Future[None]:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        # Cancelling the future stops the thread, as PostgresStore's does.
        future.add_done_callback(lambda f: self._stop.set() if f.cancelled() else None)
        if self._thread is not None and self._thread.is_alive():
            logger.info("TTL sweeper thread is already running")
            return future
        self._stop.clear()
        logger.info("Starting store TTL sweeper with interval %s minutes", minutes)

        def loop() -> None:
            try:
                while not self._stop.wait(minutes * 60):
                    try:
                        count = sweep()
                    except MemkitError:
                        logger.exception("Store TTL sweep iteration failed")
                        continue
                    if count:
                        logger.info("Store swept %d expired items", count)
            except Exception as error:  # not swallowed: the future's owner receives it
                logger.exception("Store TTL sweeper stopped")
                if not future.cancelled():
                    future.set_exception(error)
                return
            if not future.cancelled():
                future.set_result(None)

        self._thread = threading.Thread(target=loop, daemon=True, name="ttl-sweeper")
        self._thread.start()
        return future

    def stop(self, timeout: float | None = None) -> bool:
        """True when no sweeper runs any more; False when ``timeout`` ran out first."""
        if self._thread is None or not self._thread.is_alive():
            return True
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            logger.warning("Timed out waiting for TTL sweeper thread to stop")
            return False
        self._thread = None
        return True
