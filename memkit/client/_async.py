"""``AsyncMemoryClient``: ``AsyncMemory``'s methods, answered by a memkit server.

Moving from embedded to served is one line::

    memory = AsyncMemory()                                   # in this process
    memory = AsyncMemoryClient(api_key=KEY, host=URL)        # on a `memkit serve`

Each method sends its arguments as given (``memkit.client._calls``) and returns the same
model types; a memkit error on the server is raised here as the same exception type. The
signatures are spelled out for editors and type checkers; a test holds them equal to
``AsyncMemory``'s.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import IO, Any, overload

import httpx
from pydantic import BaseModel

from memkit import Memory
from memkit.client._calls import ClientSettings, borrow_docstrings, prepare
from memkit.client._errors import ServerUnavailableError
from memkit.client._sync import MemoryClient
from memkit.errors import InvalidInputError
from memkit.models import (
    AddEvent,
    AddResult,
    BatchResult,
    ExportResult,
    FieldsPage,
    FieldsResult,
    HistoryEntry,
    ImportResult,
    MemoryExportJob,
    MemoryRecord,
    MessageResult,
    Page,
    SearchHit,
    SearchResult,
    StoreHealth,
    TranscriptMessage,
    UsersResult,
)
from memkit.options import KEEP, V10, V11, ConflictPolicy, Keep, OutputFormat

__all__ = ["AsyncMemoryClient"]


class AsyncMemoryClient:
    """Async twin of :class:`memkit.client.MemoryClient`: ``AsyncMemory``'s methods over HTTP.

    ``api_key`` defaults to ``$MEMKIT_API_KEY`` and ``host`` to ``$MEMKIT_HOST`` (else
    ``http://127.0.0.1:8000``). ``close()`` closes the connection, not the server's store.

    >>> async with AsyncMemoryClient(api_key="mk_...") as memory:  # doctest: +SKIP
    ...     await memory.add("I'm a vegetarian", user_id="alex")
    ...     await memory.search("What does Alex eat?", filters={"user_id": "alex"})
    """

    def __init__(
        self,
        api_key: str | None = None,
        host: str | None = None,
        *,
        timeout: float = 120.0,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        settings = ClientSettings.resolve(api_key, host, timeout, headers)
        self.host = settings.base_url
        self._arguments = (api_key, host, timeout, headers)
        self._sync: MemoryClient | None = None
        self._http: httpx.AsyncClient | None = httpx.AsyncClient(
            base_url=settings.base_url,
            headers=settings.headers,
            timeout=settings.timeout,
            verify=settings.verify,
            transport=transport,
        )

    async def _send(self, operation: str, local_vars: dict[str, Any]) -> Any:
        if self._http is None:
            raise InvalidInputError("this AsyncMemoryClient is closed")
        call = prepare(operation, local_vars)
        try:
            response = await self._http.request(
                call.method, call.path, content=call.content, headers=dict(call.headers)
            )
        except httpx.TransportError as exc:
            raise ServerUnavailableError(f"memkit server at {self.host}: {exc}") from exc
        return call.finish(response)

    @property
    def sync(self) -> MemoryClient:
        """A blocking client on the same server and key, as ``AsyncMemory.sync`` is its
        ``Memory``: the framework adapters drive their sync paths through it."""
        if self._sync is None:
            api_key, host, timeout, headers = self._arguments
            self._sync = MemoryClient(api_key, host, timeout=timeout, headers=headers)
        return self._sync

    async def close(self) -> None:
        """Close the connection to the server (the server's store stays open)."""
        if self._sync is not None:
            self._sync.close()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def __aenter__(self) -> AsyncMemoryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @overload
    async def add(
        self,
        messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        output_format: V10,
        **options: Any,
    ) -> list[AddEvent]: ...
    @overload
    async def add(
        self, messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]], **options: Any
    ) -> AddResult: ...
    async def add(
        self,
        messages: str | Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        infer: bool = True,
        categories: Sequence[str] | None = None,
        timestamp: float | str | Any | None = None,
        includes: str | None = None,
        excludes: str | None = None,
        custom_instructions: str | None = None,
        custom_categories: Sequence[Mapping[str, str] | str] | Mapping[str, str] | None = None,
        expiration_date: str | date | None = None,
        immutable: bool = False,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        async_mode: bool | None = None,
        **platform_options: Any,
    ) -> AddResult | list[AddEvent]:
        result: AddResult | list[AddEvent] = await self._send("add", locals())
        return result

    @overload
    async def search(
        self, query: str, *, fields: Sequence[str], output_format: V10, **options: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    async def search(
        self, query: str, *, fields: None = None, output_format: V10, **options: Any
    ) -> list[SearchHit]: ...
    @overload
    async def search(
        self, query: str, *, fields: Sequence[str], output_format: V11 = None, **options: Any
    ) -> FieldsResult: ...
    @overload
    async def search(self, query: str, **options: Any) -> SearchResult: ...
    async def search(
        self,
        query: str,
        *,
        filters: Mapping[str, Any] | None = None,
        top_k: int = 10,
        threshold: float | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        fields: Sequence[str] | None = None,
        keyword_search: bool = False,
        rerank: bool | None = None,
        limit: int | None = None,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        **platform_options: Any,
    ) -> SearchResult | FieldsResult | list[SearchHit] | list[dict[str, Any]]:
        result: (
            SearchResult | FieldsResult | list[SearchHit] | list[dict[str, Any]]
        ) = await self._send("search", locals())
        return result

    @overload
    async def get_all(
        self, *, fields: Sequence[str], output_format: V10, **options: Any
    ) -> list[dict[str, Any]]: ...
    @overload
    async def get_all(
        self, *, fields: None = None, output_format: V10, **options: Any
    ) -> list[MemoryRecord]: ...
    @overload
    async def get_all(
        self, *, fields: Sequence[str], output_format: V11 = None, **options: Any
    ) -> FieldsPage: ...
    @overload
    async def get_all(self, **options: Any) -> Page: ...
    async def get_all(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        categories: Sequence[str] | None = None,
        keywords: str | None = None,
        page: int = 1,
        page_size: int = 100,
        fields: Sequence[str] | None = None,
        version: str | None = None,
        output_format: OutputFormat | None = None,
        **platform_options: Any,
    ) -> Page | FieldsPage | list[MemoryRecord] | list[dict[str, Any]]:
        result: Page | FieldsPage | list[MemoryRecord] | list[dict[str, Any]] = await self._send(
            "get_all", locals()
        )
        return result

    async def get(self, memory_id: str) -> MemoryRecord:
        result: MemoryRecord = await self._send("get", locals())
        return result

    async def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        data: str | None = None,
        expiration_date: str | date | Keep | None = KEEP,
    ) -> MemoryRecord:
        result: MemoryRecord = await self._send("update", locals())
        return result

    async def batch_update(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        result: BatchResult = await self._send("batch_update", locals())
        return result

    async def batch_delete(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        result: BatchResult = await self._send("batch_delete", locals())
        return result

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        result: list[HistoryEntry] = await self._send("history", locals())
        return result

    async def users(self) -> UsersResult:
        result: UsersResult = await self._send("users", locals())
        return result

    async def delete(self, memory_id: str) -> MessageResult:
        result: MessageResult = await self._send("delete", locals())
        return result

    async def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> MessageResult:
        result: MessageResult = await self._send("delete_all", locals())
        return result

    async def delete_users(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> MessageResult:
        result: MessageResult = await self._send("delete_users", locals())
        return result

    async def reset(self) -> MessageResult:
        result: MessageResult = await self._send("reset", locals())
        return result

    async def append_messages(self, session_id: str, messages: Any) -> None:
        await self._send("append_messages", locals())

    async def get_messages(
        self, session_id: str, last: int | None = None
    ) -> list[TranscriptMessage]:
        result: list[TranscriptMessage] = await self._send("get_messages", locals())
        return result

    async def clear_messages(self, session_id: str) -> None:
        await self._send("clear_messages", locals())

    async def activity(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._send("activity", locals())
        return result

    async def check(self, repair: bool = True) -> StoreHealth:
        result: StoreHealth = await self._send("check", locals())
        return result

    async def pending(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._send("pending", locals())
        return result

    async def replay(self, pending_id: str) -> AddResult:
        result: AddResult = await self._send("replay", locals())
        return result

    async def usage(self) -> dict[str, int]:
        result: dict[str, int] = await self._send("usage", locals())
        return result

    async def export(
        self,
        destination: str | os.PathLike[str] | IO[str],
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        embeddings: bool = True,
    ) -> ExportResult:
        result: ExportResult = await self._send("export", locals())
        return result

    async def import_(
        self,
        source: str | os.PathLike[str] | IO[str] | Iterable[str],
        *,
        on_conflict: ConflictPolicy = "newer",
    ) -> ImportResult:
        result: ImportResult = await self._send("import_", locals())
        return result

    async def create_memory_export(
        self,
        schema: type[BaseModel] | Mapping[str, Any] | str,
        *,
        filters: Mapping[str, Any] | None = None,
        export_instructions: str | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **platform_options: Any,
    ) -> MemoryExportJob:
        result: MemoryExportJob = await self._send("create_memory_export", locals())
        return result

    async def get_memory_export(
        self,
        memory_export_id: str | None = None,
        *,
        filters: Mapping[str, Any] | None = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **platform_options: Any,
    ) -> dict[str, Any]:
        result: dict[str, Any] = await self._send("get_memory_export", locals())
        return result


borrow_docstrings(AsyncMemoryClient, Memory)  # AsyncMemory spells out no docstrings
