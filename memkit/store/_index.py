"""The Chroma vector and filter index, derived from the record store.

Chroma is an index here, not the system of record: memkit can drop and rebuild it
from the stored embeddings at any time (see ``memkit.store._backend``). Calls are
split under Chroma's batch limit. Every call to a Chroma server, the ones that
building the client makes included, is bounded by ``timeout``: chromadb 1.5.9 builds
its httpx session with ``timeout=None`` and calls the server from the constructor,
so a server that accepts connections but never answers would hang ``Memory(...)``
forever (see ``_bounded_http_client``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Protocol, cast

import chromadb
import chromadb.api.fastapi
import httpx
from chromadb.api.types import Metadata, WhereDocument
from chromadb.config import Settings
from chromadb.errors import ChromaError

from memkit._domain import StoredMemory
from memkit.config import ChromaConfig
from memkit.errors import MetadataError, VectorStoreError
from memkit.store._layout import VARIABLE_PREFIXES, chroma_metadata
from memkit.store._records import RecordStore

__all__ = ["VectorIndex"]

CHROMA_MAX_BATCH = 5461  # measured: a Chroma call accepts at most 5,461 records
_FAILURES = (ChromaError, httpx.HTTPError, OSError, RuntimeError, ValueError, KeyError)


# Measured: Chroma returns some float metadata one ulp off what was written, so the
# index is checked against the record store with an exact integer instead.
REVISION_KEY = "rev"


def revision(memory: StoredMemory | float) -> int:
    """updated_at in whole microseconds: exact in Chroma, and it orders like updated_at."""
    updated_at = memory if isinstance(memory, float | int) else memory.updated_at
    return round(updated_at * 1_000_000)


@contextmanager
def chroma_errors(action: str) -> Iterator[None]:
    """Chroma's many failure types become one VectorStoreError naming the action."""
    try:
        yield
    except _FAILURES as exc:
        raise VectorStoreError(f"vector index failed to {action}: {exc}") from exc


class IndexQuery(Protocol):
    """A filter pushed down to the index: Chroma's ``where`` and ``where_document``
    (``memkit.filters`` translates the filter language into one)."""

    @property
    def where(self) -> dict[str, Any] | None: ...

    @property
    def where_document(self) -> dict[str, Any] | None: ...


class ExactCandidates(Protocol):
    """The memories a query selects, read from the record store with their embeddings."""

    @property
    def ids(self) -> list[str]: ...

    @property
    def stamps(self) -> list[float]: ...

    def nearest(self, vectors: Sequence[Any], n: int) -> list[list[tuple[str, float]]]: ...


# Answers a query exactly from the record store when it pins one small scope (else None).
# Supplied from above (``memkit.search._exact.candidates``): deciding that needs the filter
# language, which sits above the store.
ExactAnswers = Callable[[RecordStore, IndexQuery, Sequence[str] | None], ExactCandidates | None]


class VectorIndex:
    """One Chroma collection; entity scoping and filters are metadata.

    Embedded, with ``records`` given, queries and scans pinned to one entity with few memories
    are answered exactly from the record store (see ``memkit.search._exact``): embedded Chroma's
    filtered calls cost what a scan of the whole collection costs.
    """

    def __init__(
        self,
        config: ChromaConfig,
        directory: Path | None,
        records: RecordStore | None = None,
        exact: ExactAnswers | None = None,
    ) -> None:
        self.config = config
        self._exact = exact
        self.directory = directory
        # Called before every read of Chroma itself (not of the record store's exact
        # answers): the index writer applies the committed writes still queued.
        self.before_read: Callable[[], None] = _nothing
        self.embedded = config.host is None
        self.records = records if self.embedded else None
        settings = Settings(anonymized_telemetry=False, allow_reset=False)
        with chroma_errors("open"):
            if self.embedded:
                assert directory is not None
                directory.mkdir(parents=True, exist_ok=True)
                _journal_in_wal(directory / "chroma.sqlite3")
                self._client = chromadb.PersistentClient(path=str(directory), settings=settings)
            else:
                with _bounded_http_client(config.timeout):
                    self._client = chromadb.HttpClient(
                        host=config.host or "localhost",
                        port=config.port,
                        ssl=config.ssl,
                        headers=config.headers,
                        settings=settings,
                    )
                _set_http_timeout(self._client, config.timeout)
            self._collection = self._client.get_or_create_collection(
                config.collection_name,
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )
            server_limit = self._client.get_max_batch_size()
        self.batch = min(server_limit, CHROMA_MAX_BATCH)

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    # ---- writes -------------------------------------------------------------------------

    def upsert(self, memories: Sequence[StoredMemory]) -> None:
        """Index each memory exactly as it is now, whatever version of it the index holds.

        Measured with chromadb 1.5.9, embedded and on a server: ``upsert`` merges the new
        metadata into the record's old metadata, and a key sent as None is removed. So the
        metadata the index holds for the chunk is read first, and each key the layout writes
        only for some memories (``VARIABLE_PREFIXES``: categories, metadata) that the new
        version lacks is sent as None; otherwise filters served by Chroma would still match
        an updated memory's old categories and metadata.

        Each record is replaced by one upsert, never a delete and an add: it is never absent
        from the index, not even for a reader on a server, and a write interrupted anywhere
        is simply written again by the journal's replay or the repair at open, which read the
        index's metadata afresh. (On a server, two processes writing one memory at the same
        moment race here as their revisions already do; ``Memory.check()`` repairs a stale
        revision, not a stale key.)
        """
        for start in range(0, len(memories), self.batch):
            chunk = memories[start : start + self.batch]
            ids = [m.id for m in chunk]
            with chroma_errors("upsert"):  # a memory the layout refuses fails like one Chroma does
                fresh = [
                    {**chroma_metadata(m.as_filter_record()), REVISION_KEY: revision(m)}
                    for m in chunk
                ]
                held = self._collection.get(ids=ids, include=["metadatas"])
                old = dict(zip(held["ids"], held["metadatas"] or [], strict=True))
                metadatas: list[Metadata] = [
                    {**new, **dict.fromkeys(_dropped(old.get(i), new))}
                    for i, new in zip(ids, fresh, strict=True)
                ]
                self._collection.upsert(
                    ids=ids,
                    embeddings=[m.embedding for m in chunk],
                    documents=[m.memory for m in chunk],
                    metadatas=metadatas,
                )

    def with_stale_keys(self, memories: Sequence[StoredMemory]) -> list[StoredMemory]:
        """The memories the index holds with a category or metadata key they no longer have
        (an index written before ``upsert`` removed them); ``upsert`` puts them right."""
        out: list[StoredMemory] = []
        for start in range(0, len(memories), self.batch):
            chunk = {m.id: m for m in memories[start : start + self.batch]}
            with chroma_errors("read"):
                held = self._collection.get(ids=list(chunk), include=["metadatas"])
            for memory_id, old in zip(held["ids"], held["metadatas"] or [], strict=True):
                memory = chunk[memory_id]
                try:
                    if _dropped(old, chroma_metadata(memory.as_filter_record())):
                        out.append(memory)
                except MetadataError:
                    out.append(memory)  # ``upsert`` refuses it, and it is quarantined
        return out

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), self.batch):
            with chroma_errors("delete"):
                self._collection.delete(ids=list(ids[start : start + self.batch]))

    def wipe(self) -> None:
        """Drop and recreate the collection (``reset``)."""
        with chroma_errors("reset"):
            self._client.delete_collection(self.config.collection_name)
            self._collection = self._client.get_or_create_collection(
                self.config.collection_name,
                metadata={"hnsw:space": "cosine"},
                embedding_function=None,
            )

    # ---- reads --------------------------------------------------------------------------

    def count(self) -> int:
        self.before_read()
        with chroma_errors("count"):
            return self._collection.count()

    def query(
        self,
        vector: Any,
        where: IndexQuery,
        n: int,
        ids: Sequence[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) of the ``n`` nearest memories matching the pushed-down filter."""
        return self.query_many([vector], where, n, ids)[0]

    def query_many(
        self,
        vectors: Sequence[Any],
        where: IndexQuery,
        n: int,
        ids: Sequence[str] | None = None,
    ) -> list[list[tuple[str, float]]]:
        """``query`` for several vectors in one Chroma call."""
        if not len(vectors) or n <= 0 or (ids is not None and not ids):
            return [[] for _ in vectors]
        small = self._small(where, ids)
        if small is not None:
            return small.nearest(vectors, n)
        self.before_read()
        with chroma_errors("query"):
            reply = self._collection.query(
                query_embeddings=list(vectors),
                n_results=n,
                where=where.where,
                # memkit.filters builds these in Chroma's where_document grammar.
                where_document=cast("WhereDocument | None", where.where_document),
                ids=list(ids) if ids is not None else None,
                include=["distances"],
            )
        distances = reply.get("distances") or [[] for _ in vectors]
        return [
            [(i, 1.0 - float(d)) for i, d in zip(found, dist, strict=True)]
            for found, dist in zip(reply["ids"], distances, strict=True)
        ]

    def matching(self, where: IndexQuery) -> dict[str, int]:
        """id -> revision (see ``revision``) of every memory matching the pushed-down filter."""
        small = self._small(where, None)
        if small is not None:
            return {i: revision(stamp) for i, stamp in zip(small.ids, small.stamps, strict=True)}
        return self._scan(where.where, where.where_document)

    def _small(self, where: IndexQuery, ids: Sequence[str] | None) -> ExactCandidates | None:
        """The exact answer from the record store, when ``where`` pins one small scope."""
        if self.records is None or self._exact is None:
            return None
        return self._exact(self.records, where, ids)

    def stamps(self) -> dict[str, int]:
        """id -> revision of every indexed memory."""
        return self._scan(None, None)

    def some_ids(self, limit: int) -> list[str]:
        """Up to ``limit`` ids the index holds, whichever come first (no wait for queued
        writes: the index writer calls this while it applies them)."""
        with chroma_errors("read"):
            return list(self._collection.get(limit=limit, include=[])["ids"])

    def probe(self) -> None:
        """Read a record back with its vector: a broken segment fails here, not mid-call."""
        with chroma_errors("read"):
            sample = self._collection.get(limit=1, include=["embeddings"])
            embeddings = sample.get("embeddings")
            if sample["ids"] and embeddings is not None:
                first: list[Sequence[float] | Sequence[int]] = [[float(x) for x in embeddings[0]]]
                self._collection.query(query_embeddings=first, n_results=1)

    def _scan(self, where: Any, where_document: Any) -> dict[str, int]:
        self.before_read()
        out: dict[str, int] = {}
        offset, page = 0, 10_000
        while True:
            with chroma_errors("scan"):
                reply = self._collection.get(
                    where=where,
                    where_document=where_document,
                    include=["metadatas"],
                    limit=page,
                    offset=offset,
                )
            for memory_id, meta in zip(reply["ids"], reply["metadatas"] or [], strict=True):
                stamp = meta[REVISION_KEY]
                if not isinstance(stamp, int | float | str):
                    raise VectorStoreError(f"index record {memory_id!r} has no revision")
                out[memory_id] = int(stamp)
            if len(reply["ids"]) < page:
                return out
            offset += page


def _nothing() -> None:
    return None


def _dropped(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """The variable keys of ``old`` (categories, metadata) that ``new`` no longer has."""
    if not old:
        return []
    return [k for k in old if k not in new and k.startswith(VARIABLE_PREFIXES)]


def _journal_in_wal(path: Path) -> None:
    """Put embedded Chroma's SQLite file in WAL mode before Chroma opens it.

    Chroma commits with a rollback journal (several fsyncs per write); in WAL mode a commit
    syncs once, and a one-memory index write is about 20% faster (chromadb 1.5.9, measured
    here). The mode is kept in the file and Chroma keeps it. The index stays derived: after a
    crash memkit checks it against the record store and repairs it, whatever Chroma lost.
    """
    try:
        with closing(sqlite3.connect(path)) as db:
            db.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError:
        pass  # not a database: Chroma's own open fails, and memkit rebuilds the index


# chromadb.api.fastapi looks up ``httpx`` in its module namespace when it builds a session;
# memkit swaps in a shim for the moment one HttpClient is built, one build at a time.
_BUILD_LOCK = threading.Lock()


class _TimedHttpx:
    """``httpx`` as chromadb's FastAPI client sees it, except that ``httpx.Client`` gets a
    timeout where chromadb asks for none."""

    def __init__(self, seconds: float) -> None:
        self._timeout = httpx.Timeout(seconds)

    def Client(self, *args: Any, **kwargs: Any) -> httpx.Client:  # httpx's name
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return httpx.Client(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(httpx, name)


@contextmanager
def _bounded_http_client(seconds: float) -> Iterator[None]:
    """While chromadb builds an HttpClient, its session has ``seconds`` as timeout from the
    start: the constructor's own calls (identity, tenant, database) are bounded too."""
    module = chromadb.api.fastapi
    with _BUILD_LOCK:
        real = module.httpx
        module.httpx = _TimedHttpx(seconds)  # type: ignore[assignment]
        try:
            yield
        finally:
            module.httpx = real


def _set_http_timeout(client: Any, seconds: float) -> None:
    """Hold the session to ``seconds`` after construction as well (a session chromadb may
    have built another way)."""
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(seconds)


def generation_dir(base: Path) -> Path:
    """The current index generation under ``base`` (rebuilds write a new one)."""
    current = base / "CURRENT"
    name = current.read_text().strip() if current.is_file() else "gen-1"
    return base / name


def switch_generation(base: Path) -> Path:
    """Start a fresh generation directory and make it current; old ones are removed."""
    old = generation_dir(base)
    number = int(old.name.split("-")[1]) + 1
    new = base / f"gen-{number}"
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir(parents=True)
    tmp = base / "CURRENT.tmp"
    tmp.write_text(new.name)
    os.replace(tmp, base / "CURRENT")
    shutil.rmtree(old, ignore_errors=True)
    return new
