"""A memory the vector index refuses is quarantined, so it cannot take the store down.

The record store accepted the memory, so it stays there, readable; only the index (derived,
rebuildable) lacks it. Without this step one refused record fails every write batch it is
in, so every read of the index, ``close`` and the replay at open would fail on it for good.

When a write to the index fails, this module tells "the index is down" from "the index
refuses these records":

1. A transport failure (timeout, refused connection) means the index is down: raise at
   once, split nothing. The writes stay journaled and are retried.
2. Otherwise a *canary* is written: one memory the index already holds, re-upserted in its
   current state (idempotent). If the index refuses that too, it is down: raise.
3. The failed batch is bisected, so the records the index takes are written and only those
   that fail alone remain: O(k log n) calls for k refused records among n.
4. Those are refused (quarantined) if the index took a write meanwhile (a sibling or the
   canary); with nothing to compare against (an index holding no other memory), only if
   Chroma's error rejects the request itself (a 4xx ChromaError or its client-side
   ValueError / TypeError), not if it is an internal or unknown failure.

A quarantined memory is recorded with the error in ``index_quarantine``, removed from the
index (an older revision there would answer filters with stale fields), and retried when the
store opens and by ``Memory.check()``. Any new write of the memory drops its row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
from chromadb.errors import ChromaError

from memkit._domain import StoredMemory
from memkit.errors import VectorStoreError
from memkit.store._index import VectorIndex
from memkit.store._records import RecordStore

__all__ = [
    "forget_refused",
    "index_memories",
    "quarantine",
    "retry_quarantined",
    "upsert_isolating",
]

log = logging.getLogger("memkit")

# 4xx answers that reject the request rather than the caller or the load: an invalid
# argument, a duplicate, a record too large. 401/403 (auth) and 429 (rate) are not here.
_REFUSAL_CODES = frozenset({400, 409, 413, 422})


def _is_outage(exc: BaseException) -> bool:
    cause = exc.__cause__
    return isinstance(cause, httpx.TransportError | OSError)


def _is_refusal(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(cause, ChromaError):
        return cause.code() in _REFUSAL_CODES
    return isinstance(cause, ValueError | TypeError)


def upsert_isolating(
    index: VectorIndex, records: RecordStore, memories: Sequence[StoredMemory]
) -> dict[str, str]:
    """Upsert ``memories``; return those the index refuses (id -> error), the rest written.

    Raises VectorStoreError when the index itself is failing (see the module's rules).
    """
    if not memories:
        return {}
    try:
        index.upsert(memories)
        return {}
    except VectorStoreError as exc:
        if _is_outage(exc):
            raise
        first = exc
    batch_ids = {m.id for m in memories}
    canary = _canary(index, records, batch_ids)
    if canary is False:
        raise first
    refused: dict[str, str] = {}
    accepted = _bisect(index, list(memories), refused)
    if refused and not accepted and canary is None and not _is_refusal(first):
        raise first
    return refused


def _bisect(index: VectorIndex, memories: list[StoredMemory], refused: dict[str, str]) -> int:
    """Write what the index takes of ``memories`` (each half whole when it can); collect the
    records that fail alone in ``refused``; return how many were written."""
    if len(memories) == 1:
        try:
            index.upsert(memories)
            return 1
        except VectorStoreError as exc:
            if _is_outage(exc):
                raise
            refused[memories[0].id] = str(exc)
            return 0
    middle = len(memories) // 2
    written = 0
    for half in (memories[:middle], memories[middle:]):
        try:
            index.upsert(half)
            written += len(half)
        except VectorStoreError as exc:
            if _is_outage(exc):
                raise
            written += _bisect(index, half, refused)
    return written


def _canary(index: VectorIndex, records: RecordStore, exclude: set[str]) -> bool | None:
    """Re-upsert one memory the index holds, outside ``exclude``: True if the index took it,
    False if it failed, None if the index holds no such memory."""
    for memory_id in index.some_ids(len(exclude) + 1):
        if memory_id in exclude:
            continue
        before = records.get_many([memory_id]).get(memory_id)
        if before is None:
            continue  # not a memory of the record store: reconcile removes it
        try:
            index.upsert([before])
        except VectorStoreError:
            return False
        # On a server another process may have written this memory meanwhile: leave the
        # index with the record store's state, not the one read before.
        after = records.get_many([memory_id]).get(memory_id)
        if after is None:
            index.delete([memory_id])
        elif after.updated_at != before.updated_at:
            index.upsert([after])
        return True
    return None


def quarantine(index: VectorIndex, records: RecordStore, refused: dict[str, str]) -> None:
    """Record ``refused`` memories and take any older revision of them out of the index."""
    records.quarantine.keep(refused)
    forget_refused(index, refused)


def forget_refused(index: VectorIndex, refused: dict[str, str]) -> None:
    """Take refused (already recorded) memories out of the index, and say so."""
    if not refused:
        return
    index.delete(list(refused))
    for memory_id, error in refused.items():
        log.warning("memkit: the vector index refused memory %s; quarantined: %s", memory_id, error)


def index_memories(
    index: VectorIndex, records: RecordStore, memories: Sequence[StoredMemory]
) -> dict[str, str]:
    """Upsert ``memories``, quarantining those the index refuses and releasing those it now
    takes; returns the refused (id -> error). Raises VectorStoreError if the index is down."""
    refused = upsert_isolating(index, records, memories)
    quarantine(index, records, refused)
    held = records.quarantine.ids()
    if held:
        records.quarantine.drop(held.intersection(m.id for m in memories).difference(refused))
    return refused


def retry_quarantined(index: VectorIndex, records: RecordStore) -> int:
    """Offer every quarantined memory to the index again; returns how many it took."""
    held = records.quarantine.ids()
    if not held:
        return 0
    present = records.get_many(sorted(held))
    records.quarantine.drop(held.difference(present))  # deleted since: nothing to index
    refused = index_memories(index, records, list(present.values()))
    return len(present) - len(refused)
