"""The record store and its index opened together, checked, and written in order.

Write order is record store first (with a journal row per index change), index
second (``memkit.store._index_writer``: in the background when embedded, always before
the index is read), journal cleared third. A crash at any point therefore leaves each memory
wholly present with its history, or wholly absent, once the store is reopened:
``open_backend`` replays the journal and, after an unclean shutdown, compares the
index with the record store and repairs it (or rebuilds it from stored embeddings,
no re-embedding, when Chroma cannot even open it).

A memory the index refuses is quarantined (``memkit.store._quarantine``): every other read
and write goes on, and ``check()`` reports it and retries it. An embedded store locks its
home, its index directory and its SQLite file before it opens any of them
(``memkit.store._lock``).

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
from dataclasses import dataclass, replace
from pathlib import Path

from memkit._domain import WriteSet, epoch_to_datetime
from memkit.config import MemoryConfig
from memkit.errors import ConfigError, VectorStoreError
from memkit.models import QuarantinedMemory, StoreHealth, StoreRepair
from memkit.store._activity_log import ActivityLog
from memkit.store._index import (
    ExactAnswers,
    VectorIndex,
    generation_dir,
    revision,
    switch_generation,
)
from memkit.store._index_writer import IndexWriter, replay_journal
from memkit.store._lock import lock_all
from memkit.store._paths import sqlite_file, writable_directory
from memkit.store._quarantine import index_memories, retry_quarantined
from memkit.store._records import ENTITY_FIELDS, RecordStore

__all__ = ["Backend", "RepairReport", "open_backend"]

log = logging.getLogger("memkit")

# Set in store_meta once the index is known to hold no key a memory lost in an update.
_KEYS_CHECKED = "index_keys_checked"


@dataclass(frozen=True)
class RepairReport:
    journal_replayed: int = 0
    upserted: int = 0
    deleted: int = 0
    released: int = 0  # quarantined memories the index took when retried
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(
            self.journal_replayed or self.upserted or self.deleted or self.released or self.rebuilt
        )


def _lock_targets(
    config: MemoryConfig, url: str, index_base: Path, embedded: bool
) -> list[tuple[Path, str]]:
    """The lock files of an embedded store: its home, its index directory, and its SQLite
    file if it has one, each checked to be a writable directory first (ConfigError). A
    store on a Chroma server locks nothing; its SQLite file, if any, is checked too."""
    targets = []
    if embedded:
        home = writable_directory(config.home(), "path")
        index_key = "vector_store.config.path" if config.vector_store.config.path else "path"
        writable_directory(index_base, index_key)
        targets += [
            (home / "memkit.lock", f"the memkit store at {home}"),
            (index_base / "memkit.lock", f"the memkit index at {index_base}"),
        ]
    database = sqlite_file(url)
    if database is not None:
        key = "record_store.url" if config.record_store.url else "path"
        if database.is_dir():
            raise ConfigError(f"{key}: the SQLite database {database} is a directory")
        writable_directory(database.parent, key)
        if embedded:
            lock = database.with_name(database.name + ".lock")
            targets.append((lock, f"the memkit record store {database}"))
    return targets


class Backend:
    """Record store + index + (embedded) file locks, shared per store."""

    def __init__(
        self,
        key: str,
        config: MemoryConfig,
        embedder_name: str,
        exact: ExactAnswers | None = None,
    ) -> None:
        self._exact = exact  # see VectorIndex: answers for one small scope, from the records
        self.key = key
        self.refs = 0
        self.write_lock = threading.RLock()
        home = config.home()
        self.chroma = chroma = config.vector_store.config
        embedded = chroma.host is None
        url = config.record_store.url or f"sqlite:///{home / 'memkit.db'}"
        self.index_base = Path(chroma.path).expanduser() if chroma.path else home / "index"
        self.locks = lock_all(_lock_targets(config, url, self.index_base, embedded))
        self._open_markers = [home / "OPEN", self.index_base / "OPEN"] if embedded else []
        records: RecordStore | None = None
        try:
            self.records = records = RecordStore(url)
            self._check_embedder(embedder_name)
            unclean = any(marker.exists() for marker in self._open_markers)
            for marker in self._open_markers:
                marker.touch()
            index, self.last_repair = self._open_index(thorough=unclean)
        except BaseException:
            if records is not None:
                records.close()
            for lock in self.locks:
                lock.release()
            raise
        # Embedded, this process alone reads the index (the file locks): it can take
        # writes in the background. On a server, other processes read it too.
        self._writer = IndexWriter(index, self.records, background=embedded)
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
            if self.chroma.host is None:
                # Embedded, a broken segment found now is rebuilt before any call needs it.
                # A server's index is not ours to rebuild, and probing it races the other
                # processes writing it: a brand-new collection read while another process
                # writes its first records failed with "Nothing found on disk".
                index.probe()
            report = self._reconcile(index, thorough)
            report = replace(report, upserted=report.upserted + self._drop_stale_keys(index))
        except VectorStoreError as exc:
            if self.chroma.host is not None:
                raise
            log.warning("memkit: the vector index is broken (%s); rebuilding it", exc)
            index = self._rebuild()
            report = RepairReport(rebuilt=True, upserted=self.records.count())
        report = replace(report, seconds=time.perf_counter() - started)
        self._log_repair(report)
        return index, report

    def _log_repair(self, report: RepairReport) -> None:
        if report.changed:
            self.records.log_activity(
                "repair",
                {},
                {
                    "journal_replayed": report.journal_replayed,
                    "upserted": report.upserted,
                    "deleted": report.deleted,
                    "released": report.released,
                    "rebuilt": int(report.rebuilt),
                },
                report.seconds * 1000,
            )

    def _drop_stale_keys(self, index: VectorIndex) -> int:
        """Once per store: re-index the memories the index holds with categories or metadata
        keys they lost in an update (written before ``VectorIndex.upsert`` removed such keys;
        the revision check cannot see them). Returns how many there were."""
        if self.records.get_meta(_KEYS_CHECKED) is not None:
            return 0
        stale = 0
        for batch in self.records.iter_all():
            found = index.with_stale_keys(batch)
            index_memories(index, self.records, found)
            stale += len(found)
        self.records.set_meta(_KEYS_CHECKED, "1")
        return stale

    def _make_index(self) -> VectorIndex:
        directory = generation_dir(self.index_base) if self.chroma.host is None else None
        return VectorIndex(self.chroma, directory, self.records, self._exact)

    def _rebuild(self) -> VectorIndex:
        """A new, empty index generation filled from the record store's embeddings."""
        switch_generation(self.index_base)
        index = self._make_index()
        for batch in self.records.iter_all():
            index_memories(index, self.records, batch)  # what it refuses is quarantined
        self.records.clear_journal(self.records.journal())
        self.records.set_meta(_KEYS_CHECKED, "1")
        return index

    def _reconcile(self, index: VectorIndex, thorough: bool) -> RepairReport:
        """Replay the journal, retry the quarantined memories, and (if ``thorough``, or
        if the counts disagree) make the index hold exactly the record store's memories
        outside quarantine, each at its current revision."""
        replayed = replay_journal(self.records, index)
        released = retry_quarantined(index, self.records)
        held = self.records.quarantine.ids()
        if not thorough and index.count() == self.records.count() - len(held):
            return RepairReport(journal_replayed=replayed, released=released)
        truth = {i: stamp for i, stamp in self.records.stamps().items() if i not in held}
        indexed = index.stamps()
        stale = [i for i, stamp in truth.items() if indexed.get(i) != revision(stamp)]
        extra = [i for i in indexed if i not in truth]
        if extra:
            index.delete(extra)
        for start in range(0, len(stale), 2000):
            found = self.records.get_many(stale[start : start + 2000])
            index_memories(index, self.records, list(found.values()))
        return RepairReport(
            journal_replayed=replayed,
            upserted=len(stale),
            deleted=len(extra),
            released=released,
        )

    # ---- health -------------------------------------------------------------------------

    def check(self, repair: bool = True) -> StoreHealth:
        """The store's health; with ``repair``, first apply queued writes, replay the
        journal, retry quarantined memories and reconcile the index with the records."""
        started = time.perf_counter()
        report, error = RepairReport(), None
        with self.write_lock:  # no write commits meanwhile: the counts agree with each other
            if repair:
                try:
                    self._writer.settle()
                    report = self._reconcile(self.index, thorough=True)
                except VectorStoreError as exc:
                    error = str(exc)
            try:
                indexed: int | None = self.index.count()
            except VectorStoreError as exc:
                indexed, error = None, error or str(exc)
            pending = self._writer.pending()
            quarantined = self.records.quarantine.list()
            total = self.records.count()
        report = replace(report, seconds=time.perf_counter() - started)
        self._log_repair(report)
        return StoreHealth(
            records=total,
            indexed=indexed,
            journal_pending=pending,
            quarantined=[
                QuarantinedMemory(
                    id=row["memory_id"],
                    error=row["error"],
                    attempts=row["attempts"],
                    first_failed_at=epoch_to_datetime(row["first_failed_at"]),
                    last_failed_at=epoch_to_datetime(row["last_failed_at"]),
                )
                for row in quarantined
            ],
            locked=bool(self.locks),
            locks=[str(lock.path) for lock in self.locks],
            repaired=StoreRepair(
                journal_replayed=report.journal_replayed,
                upserted=report.upserted,
                deleted=report.deleted,
                released=report.released,
            ),
            index_error=error,
        )

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
        for marker in self._open_markers:
            marker.unlink(missing_ok=True)
        for lock in self.locks:
            lock.release()


_OPEN: dict[str, Backend] = {}
_OPEN_LOCK = threading.Lock()


def _key(config: MemoryConfig) -> str:
    chroma = config.vector_store.config
    if chroma.host is None:
        return str(config.home().resolve())
    return f"{config.record_store.url}|{chroma.host}:{chroma.port}/{chroma.collection_name}"


def open_backend(
    config: MemoryConfig, embedder_name: str, exact: ExactAnswers | None = None
) -> Backend:
    """The process's backend for this store, opened (and checked) on first use."""
    key = _key(config)
    with _OPEN_LOCK:
        backend = _OPEN.get(key)
        if backend is None:
            backend = Backend(key, config, embedder_name, exact)
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
