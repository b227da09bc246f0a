"""Committed writes carried to the vector index: off the caller's thread, before it is read.

A write is committed to the record store first, with a journal row per index change (see
``RecordStore.commit``); that commit is what makes it durable. Carrying it to Chroma is
a second step, and a costly one for small writes: chromadb 1.5.9 takes about 4 ms for a
one-record upsert but about 0.2 ms a record in a batch, and holds the GIL while it works,
so it cannot overlap the caller's next embedding. For an embedded store a background
thread therefore applies committed writes in groups: it lingers :data:`LINGER` seconds
after a write so that the writes arriving meanwhile share one Chroma call (group
commit). Every read of Chroma itself calls :meth:`IndexWriter.sync` first (the index's
``before_read``), which waits for the writes in flight and applies those still queued:
a search sees every write acknowledged before it. Reads the record store answers exactly
(``memkit.search._exact``, one entity's memories) wait for nothing.

A store on a Chroma server is written synchronously instead: other processes read that
index directly, and they could not wait for this process's queue.

Journal rows are cleared lazily, by the next commit, once the index has taken their
writes (``applied``). A row is marked applied only if no newer write of that memory was
queued meanwhile; commits and that marking are serialised by one lock, so a journal row
never disappears while its write is still unapplied. After a crash the rows left in
the journal are replayed when the store is opened (``replay_journal``).

A record the index refuses (not an index that is down) is quarantined instead of failing
its batch for good (``memkit.store._quarantine``): its journal row is cleared like an
applied one, and the quarantine table keeps it for a retry.
"""

from __future__ import annotations

import logging
import threading

from memkit._domain import StoredMemory, WriteSet
from memkit.errors import VectorStoreError
from memkit.store._index import VectorIndex
from memkit.store._quarantine import forget_refused, index_memories, upsert_isolating
from memkit.store._records import RecordStore

__all__ = ["LINGER", "IndexWriter", "replay_journal"]

log = logging.getLogger("memkit")

# How long the background thread waits after a write for more writes to apply with it.
# Reads never wait for it (they apply the queue themselves); it bounds only how long a
# burst of small writes shares one Chroma call.
LINGER = 0.05


def replay_journal(records: RecordStore, index: VectorIndex) -> int:
    """Bring the index to the record store's current state for every journaled memory;
    returns how many journal rows there were."""
    journal = records.journal()
    if not journal:
        return 0
    present = records.get_many([i for i, op in journal.items() if op == "upsert"])
    gone = [i for i in journal if i not in present]
    if gone:
        index.delete(gone)
    if present:
        index_memories(index, records, list(present.values()))
    records.clear_journal(journal)
    return len(journal)


class IndexWriter:
    """The index of one store and the committed writes it has not taken yet."""

    def __init__(self, index: VectorIndex, records: RecordStore, background: bool) -> None:
        self._index = index
        index.before_read = self.sync
        self._records = records
        self._background = background
        # Guards the queue and ``_applied``, and makes commit + enqueue one step.
        self._queue_lock = threading.Lock()
        # One applier at a time: the worker, a reader's sync, a reset.
        self._apply_lock = threading.RLock()
        self._queue: dict[str, StoredMemory | None] = {}  # id -> state to index, None: delete
        self._applied: set[str] = set()  # journal rows whose writes the index has taken
        self._failed = False  # the journal holds writes the queue lost to an index failure
        self._wake = threading.Event()
        self._stop = threading.Event()  # cuts the linger short on close
        self._closing = False
        self._worker: threading.Thread | None = None

    @property
    def index(self) -> VectorIndex:
        return self._index

    @index.setter
    def index(self, index: VectorIndex) -> None:
        self.sync()
        self._index = index
        index.before_read = self.sync

    def commit(self, writes: WriteSet) -> None:
        """Commit ``writes`` to the record store and queue them for the index (applied
        here and now when not in the background)."""
        with self._queue_lock:
            applied, self._applied = self._applied, set()
            try:
                self._records.commit(writes, sorted(applied))
            except BaseException:
                self._applied |= applied
                raise
            for memory in writes.deletes:
                self._queue[memory.id] = None
            for memory in (*writes.inserts, *writes.updates):
                self._queue[memory.id] = memory
        if not self._background:
            self.sync()
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._run, name="memkit-index", daemon=True)
            self._worker.start()
        self._wake.set()

    def sync(self) -> None:
        """Apply every committed write to the index, waiting for those in flight.

        Raises VectorStoreError when the index is down; the writes stay in the journal and
        the next sync (or the next open of the store) applies them. A record the index
        refuses is quarantined instead (``memkit.store._quarantine``).
        """
        with self._apply_lock:
            if self._failed:
                with self._queue_lock:  # no commit may clear a journal row mid-replay
                    replay_journal(self._records, self.index)
                    self._queue.clear()
                self._failed = False
            with self._queue_lock:
                batch, self._queue = self._queue, {}
            if not batch:
                return
            try:
                gone = [i for i, memory in batch.items() if memory is None]
                if gone:
                    self.index.delete(gone)
                kept = [memory for memory in batch.values() if memory is not None]
                refused = upsert_isolating(self.index, self._records, kept)
                with self._queue_lock:
                    # A memory written again meanwhile is queued anew: its new state is the
                    # one to index (or to quarantine), and its commit dropped any old row.
                    refused = {i: e for i, e in refused.items() if i not in self._queue}
                    if refused:
                        self._records.quarantine.keep(refused)
                    self._applied.update(i for i in batch if i not in self._queue)
                forget_refused(self.index, refused)
            except BaseException:
                self._failed = True
                raise

    def settle(self) -> None:
        """``sync``, then clear the journal rows of every write the index has taken."""
        self.sync()
        with self._queue_lock:
            applied, self._applied = self._applied, set()
            try:
                self._records.clear_journal(applied)
            except BaseException:
                self._applied |= applied
                raise

    def pending(self) -> int:
        """Journal rows of writes the index has not taken yet (rows of taken writes wait
        for the next commit to clear them, and are not counted)."""
        with self._queue_lock:
            return len(set(self._records.journal()).difference(self._applied))

    def reset(self) -> None:
        """Forget the queue and empty the index (the caller empties the record store)."""
        with self._apply_lock, self._queue_lock:
            self._queue.clear()
            self._applied.clear()
            self._failed = False
            self.index.wipe()

    def close(self) -> None:
        """Apply what is queued (what fails stays journaled), stop the worker, clear the
        journal rows of applied writes."""
        self._closing = True
        self._stop.set()
        self._wake.set()
        if self._worker is not None:
            self._worker.join()
        try:
            self.sync()
        except VectorStoreError as exc:
            log.warning("memkit: the index missed writes it will take on reopen: %s", exc)
        if self._applied:
            self._records.clear_journal(self._applied)
            self._applied.clear()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._closing:
                return
            self._stop.wait(LINGER)  # group commit: writes arriving meanwhile join in
            try:
                self.sync()
            except VectorStoreError as exc:
                log.warning("memkit: index write failed; retried before the next read: %s", exc)
            except Exception:  # keep the worker alive; the journal keeps the writes
                log.exception("memkit: index write failed")
