"""The record store and its index opened together, checked, and written in order.

Write order is record store first (with a journal row per index change), index
second (``memkit.store.index_writer``: in the background when embedded, always before
the index is read), journal cleared third. A crash at any point therefore leaves each memory
wholly present with its history, or wholly absent, once the store is reopened:
``open_backend`` replays the journal and, after an unclean shutdown, compares the
index with the record store and repairs it (or rebuilds it from stored embeddings,
no re-embedding, when Chroma cannot even open it).

Within one process, every ``Memory`` on the same store shares one backend, so
opening the same directory twice in a notebook is not a lock conflict.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from memkit.activity import ActivityLog
from memkit.config import MemoryConfig
from memkit.errors import ConfigError, VectorStoreError
from memkit.store.index import VectorIndex, generation_dir, revision, switch_generation
from memkit.store.index_writer import IndexWriter, replay_journal
from memkit.store.lock import DirectoryLock
from memkit.store.records import ENTITY_FIELDS, RecordStore, WriteSet

__all__ = ["Backend", "RepairReport", "open_backend"]

log = logging.getLogger("memkit")


@dataclass(frozen=True)
class RepairReport:
    journal_replayed: int = 0
    upserted: int = 0
    deleted: int = 0
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.journal_replayed or self.upserted or self.deleted or self.rebuilt)


class Backend:
    """Record store + index + (embedded) directory lock, shared per store."""

    def __init__(self, key: str, config: MemoryConfig, embedder_name: str) -> None:
        self.key = key
        self.refs = 0
        self.write_lock = threading.RLock()
        home = config.home()
        self.chroma = chroma = config.vector_store.config
        self.lock = DirectoryLock(home) if chroma.host is None else None
        try:
            url = config.record_store.url or f"sqlite:///{home / 'memkit.db'}"
            self.records = RecordStore(url)
            self._check_embedder(embedder_name)
            self.index_base = Path(chroma.path).expanduser() if chroma.path else home / "index"
            self._open_marker = home / "OPEN" if self.lock else None
            unclean = bool(self._open_marker and self._open_marker.exists())
            if self._open_marker:
                self._open_marker.touch()
            index, self.last_repair = self._open_index(thorough=unclean)
        except BaseException:
            if self.lock:
                self.lock.release()
            raise
        # Embedded, this process alone reads the index (the directory lock): it can take
        # writes in the background. On a server, other processes read it too.
        self._writer = IndexWriter(index, self.records, background=self.lock is not None)
        self._entity_writes: Counter[tuple[str, str]] = Counter()  # (id field, value) -> writes
        self._resets = 0
        self.activity = ActivityLog(self.records)

    @property
    def index(self) -> VectorIndex:
        """The vector index; each of its reads of Chroma first applies the committed writes
        still queued (``IndexWriter``), so reads see every acknowledged write."""
        return self._writer.index

    @index.setter
    def index(self, index: VectorIndex) -> None:
        self._writer.index = index

    def _check_embedder(self, name: str) -> None:
        stored = self.records.get_meta("embedder")
        if stored is None:
            self.records.set_meta("embedder", name)
        elif stored != name:
            raise ConfigError(
                f"embedder: this store was written with {stored!r}; its vectors cannot be "
                f"searched with {name!r}. Use the same embedder or a new store path."
            )

    # ---- opening and repair -------------------------------------------------------------

    def _open_index(self, thorough: bool) -> tuple[VectorIndex, RepairReport]:
        started = time.perf_counter()
        try:
            index = self._make_index()
            index.probe()
            report = self._reconcile(index, thorough)
        except VectorStoreError as exc:
            if self.chroma.host is not None:
                raise
            log.warning("memkit: the vector index is broken (%s); rebuilding it", exc)
            index = self._rebuild()
            report = RepairReport(rebuilt=True, upserted=self.records.count())
        report = RepairReport(**{**report.__dict__, "seconds": time.perf_counter() - started})
        if report.changed:
            self.records.log_activity(
                "repair",
                {},
                {
                    "journal_replayed": report.journal_replayed,
                    "upserted": report.upserted,
                    "deleted": report.deleted,
                    "rebuilt": int(report.rebuilt),
                },
                report.seconds * 1000,
            )
        return index, report

    def _make_index(self) -> VectorIndex:
        directory = generation_dir(self.index_base) if self.chroma.host is None else None
        return VectorIndex(self.chroma, directory, self.records)

    def _rebuild(self) -> VectorIndex:
        """A new, empty index generation filled from the record store's embeddings."""
        switch_generation(self.index_base)
        index = self._make_index()
        for batch in self.records.iter_all():
            index.upsert(batch)
        self.records.clear_journal(self.records.journal())
        return index

    def _reconcile(self, index: VectorIndex, thorough: bool) -> RepairReport:
        replayed = replay_journal(self.records, index)
        if not thorough and index.count() == self.records.count():
            return RepairReport(journal_replayed=replayed)
        truth = self.records.stamps()
        indexed = index.stamps()
        stale = [i for i, stamp in truth.items() if indexed.get(i) != revision(stamp)]
        extra = [i for i in indexed if i not in truth]
        if extra:
            index.delete(extra)
        for start in range(0, len(stale), 2000):
            found = self.records.get_many(stale[start : start + 2000])
            index.upsert(list(found.values()))
        return RepairReport(journal_replayed=replayed, upserted=len(stale), deleted=len(extra))

    # ---- writes -------------------------------------------------------------------------

    def write(self, writes: WriteSet) -> None:
        """Commit to the record store; the index takes the writes before its next read."""
        if not writes:
            return
        with self.write_lock:
            self._writer.commit(writes)
            for memory in (*writes.inserts, *writes.updates, *writes.deletes):
                for name in ENTITY_FIELDS.values():
                    value = getattr(memory, name)
                    if value is not None:
                        self._entity_writes[(name, value)] += 1

    def writes_to(self, scope: Mapping[str, str]) -> tuple[int, ...]:
        """A stamp of the writes this process made to memories carrying each of ``scope``'s
        ids: equal stamps mean no memory of that scope was written (or reset) in between."""
        return (self._resets, *(self._entity_writes[pair] for pair in sorted(scope.items())))

    def sync_index(self) -> None:
        """Apply committed writes the index has not taken yet (VectorStoreError if it fails)."""
        self._writer.sync()

    def reset(self) -> None:
        with self.write_lock:
            self._writer.reset()
            self.records.reset()
            self._resets += 1

    def close(self) -> None:
        self.activity.flush()
        self._writer.close()
        self._writer.index.close()
        self.records.close()
        if self._open_marker:
            self._open_marker.unlink(missing_ok=True)
        if self.lock:
            self.lock.release()


_OPEN: dict[str, Backend] = {}
_OPEN_LOCK = threading.Lock()


def _key(config: MemoryConfig) -> str:
    chroma = config.vector_store.config
    if chroma.host is None:
        return str(config.home().resolve())
    return f"{config.record_store.url}|{chroma.host}:{chroma.port}/{chroma.collection_name}"


def open_backend(config: MemoryConfig, embedder_name: str) -> Backend:
    """The process's backend for this store, opened (and checked) on first use."""
    key = _key(config)
    with _OPEN_LOCK:
        backend = _OPEN.get(key)
        if backend is None:
            backend = Backend(key, config, embedder_name)
            _OPEN[key] = backend
        else:
            backend._check_embedder(embedder_name)
        backend.refs += 1
        return backend


def release_backend(backend: Backend) -> None:
    with _OPEN_LOCK:
        backend.refs -= 1
        if backend.refs <= 0 and _OPEN.get(backend.key) is backend:
            del _OPEN[backend.key]
            backend.close()


@atexit.register
def _close_all() -> None:
    with _OPEN_LOCK:
        for backend in list(_OPEN.values()):
            backend.close()
        _OPEN.clear()
