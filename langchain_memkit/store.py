"""``MemkitStore``: LangGraph's long-term memory store (``BaseStore``) on memkit."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    NamespacePath,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    TTLConfig,
)

from langchain_memkit._calls import Flow, call, resolve_scope, run_async, run_sync
from langchain_memkit._store_codec import (
    INDEXED,
    check_namespace,
    decode_item,
    decode_namespace,
    decode_value,
    encode_item,
    matches,
    namespace_filter,
    namespace_matches,
    push_down,
)
from langchain_memkit._store_ttl import (
    DEFAULT_SWEEP_MINUTES,
    Sweeper,
    check_ttl,
    ensure_refresh,
    ensure_ttl,
    expiry,
    live,
    omits_expired,
    refresh,
    sweep,
)
from memkit.models import MemoryRecord

__all__ = ["MemkitStore"]

_PAGE = 1000  # memkit's largest page and top_k


class MemkitStore(BaseStore):
    """LangGraph's ``BaseStore`` on memkit, so graphs and langmem's tools keep their memories
    in memkit: persistent, searchable by meaning, and visible to memkit's own API.

    Each item is one memory (written with ``infer=False``): its text is the value's
    indexed text (the whole value, or ``index_fields``), the value itself, namespace and
    key travel in metadata. Every item carries ``app_id``; with ``user_label=i`` the
    namespace's i-th label is also the memory's ``user_id``, so langmem memories kept under
    ``("memories", "{user_id}")`` are that user's memkit memories too. Namespace labels may
    contain ``.`` (e-mail addresses), which LangGraph's base class would refuse.

    Instantiate:

    >>> from memkit import Memory
    >>> from langchain_memkit import MemkitStore
    >>> store = MemkitStore(Memory(), user_label=1)

    Add:

    >>> alice = ("memories", "alice@example.com")
    >>> store.put(alice, "k1", {"content": "Likes green tea", "kind": "preference"})

    Search:

    >>> [item.key for item in store.search(alice, query="drinks", limit=3)]
    ['k1']
    >>> [item.key for item in store.search(("memories",), filter={"kind": "preference"})]
    ['k1']
    >>> store.get(alice, "k1").value
    {'content': 'Likes green tea', 'kind': 'preference'}

    Async:

    >>> import asyncio
    >>> asyncio.run(store.aput(("memories", "bob"), "k2", {"content": "Plays chess"}))
    >>> [item.key for item in asyncio.run(store.asearch(("memories", "bob"), query="games"))]
    ['k2']

    TTL, in minutes, with LangGraph's ``TTLConfig``, as PostgresStore keeps it, except that
    expired items are hidden at once unless ``omit_expired`` is False (``_store_ttl`` has
    the rules):

    >>> notes = MemkitStore(store.memory, ttl={"default_ttl": 60, "sweep_interval_minutes": 10})
    >>> notes.put(("sessions", "s1"), "k", {"note": "kept an hour after its last read"})
    >>> notes.put(("sessions", "s1"), "k2", {"note": "kept for good"}, ttl=None)
    >>> notes.sweep_ttl()  # deletes the expired items; start_ttl_sweeper() runs it every 10 min
    0

    Limits: a value is at most about 16 KB of JSON (memkit's metadata bound); query
    search ranks within memkit's top 1000 hits; a TTL refresh is a memkit metadata update.
    """

    __slots__ = (
        "_clock",
        "_sweeper",
        "app_id",
        "index_fields",
        "memory",
        "ttl_config",
        "user_label",
    )
    supports_ttl = True

    def __init__(
        self,
        memory: Any,
        *,
        app_id: str = "langgraph",
        user_label: int | None = None,
        index_fields: Sequence[str] | None = None,
        ttl: TTLConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.memory = memory
        self.app_id = resolve_scope({"app_id": app_id})["app_id"]
        self.user_label = user_label
        self.index_fields = list(index_fields) if index_fields else None
        if ttl is not None:
            check_ttl(ttl.get("default_ttl"))
        self.ttl_config = ttl
        # Expiry times are read and written with this clock (epoch seconds); tests pass the
        # fake one their Memory(clock=...) uses.
        self._clock = clock
        self._sweeper = Sweeper()

    def _scope(self, namespace: tuple[str, ...]) -> dict[str, str]:
        scope = {"app_id": self.app_id}
        if self.user_label is not None and len(namespace) > self.user_label:
            scope["user_id"] = namespace[self.user_label]
        return scope

    # ---- batch: all operations go through here ----------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return run_sync(self.memory, self._batch(list(ops)))

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await run_async(self.memory, self._batch(list(ops)))

    def _batch(self, ops: list[Op]) -> Flow[list[Result]]:
        for op in ops:  # validate all before running any
            _check_op(op)
        results: list[Result] = []
        for op in ops:
            now = self._clock()
            if isinstance(op, GetOp):
                results.append((yield from self._get(op, now)))
            elif isinstance(op, SearchOp):
                results.append((yield from self._search(op, now)))
            elif isinstance(op, PutOp):
                yield from self._put(op, now)
                results.append(None)
            else:
                results.append((yield from self._list_namespaces(op, now)))
        return results

    def _visible(self, now: float) -> list[dict[str, Any]]:
        """The condition a read adds so that it does not see expired items."""
        return [live(now)] if omits_expired(self.ttl_config) else []

    def _find(
        self, namespace: tuple[str, ...], key: str, visible: list[dict[str, Any]]
    ) -> Flow[MemoryRecord | None]:
        where = namespace_filter(namespace, exact=True, key=key)
        page = yield from call(
            "get_all",
            filters={"AND": [where, *visible]} if visible else where,
            app_id=self.app_id,
            page_size=1,
        )
        return page.results[0] if page.results else None

    def _get(self, op: GetOp, now: float) -> Flow[Item | None]:
        found = yield from self._find(op.namespace, op.key, self._visible(now))
        if found is None:
            return None
        if op.refresh_ttl:
            yield from refresh([found], now)
        return decode_item(found)

    def _put(self, op: PutOp, now: float) -> Flow[None]:
        existing = yield from self._find(op.namespace, op.key, [])  # expired or not
        if op.value is None:
            if existing is not None:
                yield from call("delete", existing.id)
            return
        index = self.index_fields if op.index is None or op.index is False else op.index
        ttl = None if op.ttl is None else (expiry(now, op.ttl), float(op.ttl))
        text, metadata = encode_item(
            op.namespace, op.key, op.value, index, op.index is not False, expiry=ttl
        )
        if existing is not None:
            yield from call("update", existing.id, text=text, metadata=metadata)
            return
        scope = self._scope(op.namespace)
        # Namespace and key are in the metadata, so no other item is ever a duplicate.
        yield from call("add", text, infer=False, metadata=metadata, **scope)

    def _search(self, op: SearchOp, now: float) -> Flow[list[SearchItem]]:
        page = yield from self._search_records(op, now)
        if op.refresh_ttl:
            yield from refresh([record for record, _ in page], now)
        return [_search_item(record, score) for record, score in page]

    def _search_records(
        self, op: SearchOp, now: float
    ) -> Flow[list[tuple[MemoryRecord, float | None]]]:
        want = op.offset + op.limit
        if op.limit <= 0 or want <= 0:
            return []
        base = [
            namespace_filter(op.namespace_prefix),
            *self._visible(now),
            *push_down(op.filter),
        ]
        if not op.query:
            found = yield from self._scan(base, op.filter, want)
            return [(r, None) for r in found[op.offset : want]]
        ranked: list[tuple[MemoryRecord, float | None]] = []
        top_k = min(_PAGE, max(want, 10))
        indexed = {"metadata": {INDEXED: {"ne": False}}}
        while True:
            result = yield from call(
                "search",
                op.query,
                filters={"AND": [*base, indexed]},
                top_k=top_k,
                app_id=self.app_id,
            )
            ranked = [(h, h.score) for h in result.results if matches(decode_value(h), op.filter)]
            if len(ranked) >= want or len(result.results) < top_k or top_k == _PAGE:
                break
            top_k = min(_PAGE, top_k * 4)
        page = ranked[op.offset : want]
        if len(page) < op.limit:
            # Like InMemoryStore: items stored with index=False fill up, unscored.
            unscored = {"metadata": {INDEXED: False}}
            extra = yield from self._scan([*base, unscored], op.filter, op.limit - len(page))
            page.extend((r, None) for r in extra)
        return page

    def _scan(
        self, conditions: list[dict[str, Any]], filter: dict[str, Any] | None, want: int
    ) -> Flow[list[MemoryRecord]]:
        """The first ``want`` matching items, most recently updated first."""
        found: list[MemoryRecord] = []
        page_number: int | None = 1
        while page_number is not None and len(found) < want:
            page = yield from call(
                "get_all",
                filters={"AND": conditions},
                app_id=self.app_id,
                page=page_number,
                page_size=min(_PAGE, max(want, 100)),
            )
            found.extend(r for r in page.results if matches(decode_value(r), filter))
            page_number = page.next
        return found[:want]

    def _list_namespaces(self, op: ListNamespacesOp, now: float) -> Flow[list[tuple[str, ...]]]:
        conditions = op.match_conditions or ()
        prefixes = [c.path for c in conditions if c.match_type == "prefix"]
        where = namespace_filter(prefixes[0] if prefixes else (), wildcards=True)
        visible = self._visible(now)
        query = {"AND": [where, *visible]} if visible else where
        seen: set[tuple[str, ...]] = set()
        page_number: int | None = 1
        while page_number is not None:
            page = yield from call(
                "get_all", filters=query, app_id=self.app_id, page=page_number, page_size=_PAGE
            )
            seen.update(decode_namespace(r) for r in page.results)
            page_number = page.next
        namespaces = [ns for ns in seen if namespace_matches(ns, conditions)]
        if op.max_depth is not None:
            namespaces = list({ns[: op.max_depth] for ns in namespaces})
        return sorted(namespaces)[op.offset : op.offset + op.limit]

    # ---- the public methods, with labels that may contain "." --------------------------
    # BaseStore.batch is typed as returning any op's result; each method below sends one op
    # and returns that op's result type, hence the targeted return-value ignores.

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        op = GetOp(tuple(namespace), str(key), ensure_refresh(self.ttl_config, refresh_ttl))
        return self.batch([op])[0]  # type: ignore[return-value]

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        op = GetOp(tuple(namespace), str(key), ensure_refresh(self.ttl_config, refresh_ttl))
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        refresh = ensure_refresh(self.ttl_config, refresh_ttl)
        op = SearchOp(tuple(namespace_prefix), filter, limit, offset, query, refresh)
        return self.batch([op])[0]  # type: ignore[return-value]

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        refresh = ensure_refresh(self.ttl_config, refresh_ttl)
        op = SearchOp(tuple(namespace_prefix), filter, limit, offset, query, refresh)
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        self.batch([_put_op(namespace, key, value, index, ensure_ttl(self.ttl_config, ttl))])

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        await self.abatch([_put_op(namespace, key, value, index, ensure_ttl(self.ttl_config, ttl))])

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        self.batch([PutOp(tuple(namespace), str(key), None)])

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        await self.abatch([PutOp(tuple(namespace), str(key), None)])

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        op = _list_op(prefix, suffix, max_depth, limit, offset)
        return self.batch([op])[0]  # type: ignore[return-value]

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        op = _list_op(prefix, suffix, max_depth, limit, offset)
        return (await self.abatch([op]))[0]  # type: ignore[return-value]

    # ---- TTL sweeping, as PostgresStore's ------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete the expired items; returns how many."""
        return run_sync(self.memory, sweep(self.app_id, self._clock()))

    async def asweep_ttl(self) -> int:
        return await run_async(self.memory, sweep(self.app_id, self._clock()))

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Run :meth:`sweep_ttl` every ``sweep_interval_minutes`` (else the config's, else
        5) in a daemon thread until :meth:`stop_ttl_sweeper`; without a ``TTLConfig``, do
        nothing. Cancelling the returned future also stops it."""
        if not self.ttl_config:
            done: concurrent.futures.Future[None] = concurrent.futures.Future()
            done.set_result(None)
            return done
        minutes = (
            sweep_interval_minutes
            or self.ttl_config.get("sweep_interval_minutes")
            or DEFAULT_SWEEP_MINUTES
        )
        return self._sweeper.start(self.sweep_ttl, float(minutes))

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; False when it was still running after ``timeout`` s."""
        return self._sweeper.stop(timeout)


def _search_item(record: MemoryRecord, score: float | None) -> SearchItem:
    item = decode_item(record)
    return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score)


def _put_op(
    namespace: tuple[str, ...],
    key: str,
    value: Mapping[str, Any],
    index: Literal[False] | list[str] | None,
    ttl: float | None,
) -> PutOp:
    return PutOp(tuple(namespace), str(key), value, index=index, ttl=ttl)


def _list_op(
    prefix: NamespacePath | None,
    suffix: NamespacePath | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> ListNamespacesOp:
    conditions = [MatchCondition("prefix", tuple(prefix))] if prefix else []
    if suffix:
        conditions.append(MatchCondition("suffix", tuple(suffix)))
    return ListNamespacesOp(tuple(conditions), max_depth, limit, offset)


def _check_op(op: Op) -> None:
    if isinstance(op, PutOp):
        check_namespace(op.namespace, writing=op.value is not None)
        check_ttl(op.ttl)
    elif isinstance(op, GetOp):
        check_namespace(op.namespace)
    elif isinstance(op, SearchOp):
        check_namespace(op.namespace_prefix)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            check_namespace(tuple(condition.path))
    else:
        raise ValueError(f"Unknown operation type: {type(op).__name__}")
