"""``AsyncMemory``: the same engine as ``Memory``, awaited.

There is one implementation. Each coroutine runs the ``Memory`` method in a worker
thread (``asyncio.to_thread``, here and nowhere else), so the blocking parts
(ONNX, SQLite, Chroma) never block the event loop, and behaviour cannot drift
between the two classes. The signatures are spelled out for editors and type
checkers; a test holds them equal to ``Memory``'s.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import IO, Any, ParamSpec, TypeVar, overload

from pydantic import BaseModel

from memkit._embedder import Embedder
from memkit._export import ConflictPolicy
from memkit._memory import Memory
from memkit._options import KEEP, V10, V11, Keep, OutputFormat
from memkit.config import MemoryConfig
from memkit.extract._interface import Extractor
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

__all__ = ["AsyncMemory"]

P = ParamSpec("P")
R = TypeVar("R")


class AsyncMemory:
    """Async twin of :class:`Memory`, with the same methods and parameters.

    Example::

        memory = AsyncMemory()
        await memory.add("I'm travelling to SF", user_id="john")
        hits = await memory.search("where is john going?", user_id="john")
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        config: MemoryConfig | dict[str, Any] | None = None,
        embedder: Embedder | None = None,
        extractor: Extractor | None = None,
        memory: Memory | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.sync = memory or Memory(
            path, config=config, embedder=embedder, extractor=extractor, clock=clock
        )

    @classmethod
    def from_config(cls, config: MemoryConfig | dict[str, Any]) -> AsyncMemory:
        return cls(config=config)

    @staticmethod
    async def _run(method: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(method, *args, **kwargs)

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
        return await self._run(
            self.sync.add,  # type: ignore[arg-type]  # the overloads pick the result
            messages,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            metadata=metadata,
            infer=infer,
            categories=categories,
            timestamp=timestamp,
            includes=includes,
            excludes=excludes,
            custom_instructions=custom_instructions,
            custom_categories=custom_categories,
            expiration_date=expiration_date,
            immutable=immutable,
            version=version,
            output_format=output_format,
            async_mode=async_mode,
            **platform_options,
        )

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
        return await self._run(
            self.sync.search,  # type: ignore[arg-type]  # the overloads pick the result
            query,
            filters=filters,
            top_k=top_k,
            threshold=threshold,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            fields=fields,
            keyword_search=keyword_search,
            rerank=rerank,
            limit=limit,
            version=version,
            output_format=output_format,
            **platform_options,
        )

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
        return await self._run(
            self.sync.get_all,
            filters=filters,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            categories=categories,
            keywords=keywords,
            page=page,
            page_size=page_size,
            fields=fields,
            version=version,
            output_format=output_format,
            **platform_options,
        )

    async def get(self, memory_id: str) -> MemoryRecord:
        return await self._run(self.sync.get, memory_id)

    async def update(
        self,
        memory_id: str,
        text: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        *,
        data: str | None = None,
        expiration_date: str | date | Keep | None = KEEP,
    ) -> MemoryRecord:
        return await self._run(
            self.sync.update, memory_id, text, metadata, data=data, expiration_date=expiration_date
        )

    async def batch_update(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        return await self._run(self.sync.batch_update, memories)

    async def batch_delete(self, memories: Sequence[Mapping[str, Any]]) -> BatchResult:
        return await self._run(self.sync.batch_delete, memories)

    async def history(self, memory_id: str) -> list[HistoryEntry]:
        return await self._run(self.sync.history, memory_id)

    async def users(self) -> UsersResult:
        return await self._run(self.sync.users)

    async def delete(self, memory_id: str) -> MessageResult:
        return await self._run(self.sync.delete, memory_id)

    async def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> MessageResult:
        return await self._run(
            self.sync.delete_all,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            filters=filters,
        )

    async def delete_users(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> MessageResult:
        return await self._run(
            self.sync.delete_users, user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id
        )

    async def reset(self) -> MessageResult:
        return await self._run(self.sync.reset)

    async def append_messages(self, session_id: str, messages: Any) -> None:
        await self._run(self.sync.append_messages, session_id, messages)

    async def get_messages(
        self, session_id: str, last: int | None = None
    ) -> list[TranscriptMessage]:
        return await self._run(self.sync.get_messages, session_id, last)

    async def clear_messages(self, session_id: str) -> None:
        await self._run(self.sync.clear_messages, session_id)

    async def activity(self, limit: int = 100, kind: str | None = None) -> list[dict[str, Any]]:
        return await self._run(self.sync.activity, limit, kind)

    async def check(self, repair: bool = True) -> StoreHealth:
        return await self._run(self.sync.check, repair)

    async def pending(self) -> list[dict[str, Any]]:
        return await self._run(self.sync.pending)

    async def replay(self, pending_id: str) -> AddResult:
        return await self._run(self.sync.replay, pending_id)

    async def usage(self) -> dict[str, int]:
        return await self._run(self.sync.usage)

    async def close(self) -> None:
        await self._run(self.sync.close)

    async def __aenter__(self) -> AsyncMemory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- export and import ----------------------------------------------------------------

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
        return await self._run(
            self.sync.export,
            destination,
            filters=filters,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            embeddings=embeddings,
        )

    async def import_(
        self,
        source: str | os.PathLike[str] | IO[str] | Iterable[str],
        *,
        on_conflict: ConflictPolicy = "newer",
    ) -> ImportResult:
        return await self._run(self.sync.import_, source, on_conflict=on_conflict)

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
        return await self._run(
            self.sync.create_memory_export,
            schema,
            filters=filters,
            export_instructions=export_instructions,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            **platform_options,
        )

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
        return await self._run(
            self.sync.get_memory_export,
            memory_export_id,
            filters=filters,
            user_id=user_id,
            agent_id=agent_id,
            app_id=app_id,
            run_id=run_id,
            **platform_options,
        )
