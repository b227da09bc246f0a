"""``MemkitStore``: LangGraph's long-term memory store (``BaseStore``) on memkit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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

    Limits: a value is at most about 16 KB of JSON (memkit's metadata bound); query
    search ranks within memkit's top 1000 hits; no TTL.
    """

    __slots__ = ("app_id", "index_fields", "memory", "user_label")

    def __init__(
        self,
        memory: Any,
        *,
        app_id: str = "langgraph",
        user_label: int | None = None,
        index_fields: Sequence[str] | None = None,
    ) -> None:
        self.memory = memory
        self.app_id = resolve_scope({"app_id": app_id})["app_id"]
        self.user_label = user_label
        self.index_fields = list(index_fields) if index_fields else None

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
            if isinstance(op, GetOp):
                found = yield from self._find(op.namespace, op.key)
                results.append(None if found is None else decode_item(found))
            elif isinstance(op, SearchOp):
                results.append((yield from self._search(op)))
            elif isinstance(op, PutOp):
                yield from self._put(op)
                results.append(None)
            else:
                results.append((yield from self._list_namespaces(op)))
        return results

    def _find(self, namespace: tuple[str, ...], key: str) -> Flow[MemoryRecord | None]:
        page = yield from call(
            "get_all",
            filters=namespace_filter(namespace, exact=True, key=key),
            app_id=self.app_id,
            page_size=1,
        )
        return page.results[0] if page.results else None

    def _put(self, op: PutOp) -> Flow[None]:
        existing = yield from self._find(op.namespace, op.key)
        if op.value is None:
            if existing is not None:
                yield from call("delete", existing.id)
            return
        index = self.index_fields if op.index is None or op.index is False else op.index
        text, metadata = encode_item(op.namespace, op.key, op.value, index, op.index is not False)
        if existing is not None:
            yield from call("update", existing.id, text=text, metadata=metadata)
            return
        scope = self._scope(op.namespace)
        # Namespace and key are in the metadata, so no other item is ever a duplicate.
        yield from call("add", text, infer=False, metadata=metadata, **scope)

    def _search(self, op: SearchOp) -> Flow[list[SearchItem]]:
        want = op.offset + op.limit
        if op.limit <= 0 or want <= 0:
            return []
        base = [namespace_filter(op.namespace_prefix), *push_down(op.filter)]
        if not op.query:
            found = yield from self._scan(base, op.filter, want)
            return [_search_item(r, None) for r in found[op.offset : want]]
        ranked: list[tuple[MemoryRecord, float]] = []
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
        items = [_search_item(r, score) for r, score in ranked[op.offset : want]]
        if len(items) < op.limit:
            # Like InMemoryStore: items stored with index=False fill up, unscored.
            unscored = {"metadata": {INDEXED: False}}
            extra = yield from self._scan([*base, unscored], op.filter, op.limit - len(items))
            items.extend(_search_item(r, None) for r in extra)
        return items

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

    def _list_namespaces(self, op: ListNamespacesOp) -> Flow[list[tuple[str, ...]]]:
        conditions = op.match_conditions or ()
        prefixes = [c.path for c in conditions if c.match_type == "prefix"]
        query = namespace_filter(prefixes[0] if prefixes else (), wildcards=True)
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
        return self.batch([GetOp(tuple(namespace), str(key))])[0]  # type: ignore[return-value]

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        return (await self.abatch([GetOp(tuple(namespace), str(key))]))[0]  # type: ignore[return-value]

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
        op = SearchOp(tuple(namespace_prefix), filter, limit, offset, query)
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
        op = SearchOp(tuple(namespace_prefix), filter, limit, offset, query)
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
        self.batch([_put_op(namespace, key, value, index, ttl)])

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        await self.abatch([_put_op(namespace, key, value, index, ttl)])

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


def _search_item(record: MemoryRecord, score: float | None) -> SearchItem:
    item = decode_item(record)
    return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score)


def _put_op(
    namespace: tuple[str, ...],
    key: str,
    value: Mapping[str, Any],
    index: Literal[False] | list[str] | None,
    ttl: float | NotProvided | None,
) -> PutOp:
    if ttl not in (NOT_PROVIDED, None):
        raise NotImplementedError("MemkitStore does not support TTL; pass ttl=None")
    return PutOp(tuple(namespace), str(key), value, index=index)


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
        if op.ttl is not None:
            raise NotImplementedError("MemkitStore does not support TTL")
    elif isinstance(op, GetOp):
        check_namespace(op.namespace)
    elif isinstance(op, SearchOp):
        check_namespace(op.namespace_prefix)
    elif isinstance(op, ListNamespacesOp):
        for condition in op.match_conditions or ():
            check_namespace(tuple(condition.path))
    else:
        raise ValueError(f"Unknown operation type: {type(op).__name__}")
