"""``MemkitRetriever``: memkit's search as a LangChain retriever."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, ensure_config
from pydantic import ConfigDict, Field

from langchain_memkit._calls import Flow, call, resolve_scope, run_async, run_sync
from memkit.models import SearchHit

__all__ = ["MemkitRetriever", "hit_to_document"]

_SCOPE = "_memkit_scope"


def hit_to_document(hit: SearchHit) -> Document:
    """A search hit as a Document: the memory text, and every other field (with score)."""
    fields = hit.model_dump(mode="json")
    return Document(id=hit.id, page_content=fields.pop("memory"), metadata=fields)


class MemkitRetriever(BaseRetriever):
    """The memories relevant to a query, as ``Document``\\ s with their score and fields.

    Scope is the retriever's ``user_id`` / ``agent_id`` / ``app_id`` / ``run_id``, each
    replaced by the same key in the run config's ``configurable`` when given there.
    ``filters`` (memkit's v2 filter language) are ANDed with a call's ``filters=``. As in
    ``Memory.search``, the ids are ANDed: memkit files a user's facts under the user_id
    and an agent's under the agent_id, so for both use
    ``filters={"OR": [{"user_id": ...}, {"agent_id": ...}]}``.

    Instantiate:

    >>> from memkit import Memory
    >>> from langchain_memkit import MemkitRetriever
    >>> memory = Memory()
    >>> retriever = MemkitRetriever(memory=memory, user_id="alex", k=5)

    Add (memories are written through memkit, or by the other adapters):

    >>> _ = memory.add("I'm a vegetarian. I play the cello.", user_id="alex")

    Search (``contains`` matches a whole category; the categories are memkit's):

    >>> docs = retriever.invoke("what can alex eat?")
    >>> [(doc.page_content, 0 < doc.metadata["score"] <= 1) for doc in docs]
    [('Is a vegetarian', True), ('Plays the cello', True)]
    >>> food = {"categories": {"contains": "food_preferences"}}
    >>> [doc.page_content for doc in retriever.invoke("food", k=2, filters=food)]
    ['Is a vegetarian']
    >>> retriever.invoke("food", config={"configurable": {"user_id": "sam"}})
    []

    Async:

    >>> import asyncio
    >>> len(asyncio.run(retriever.ainvoke("what can alex eat?")))
    2
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    memory: Any = Field(description="A memkit Memory, AsyncMemory or a client with their API.")
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    k: int = Field(default=4, ge=1, le=1000, description="How many memories to return.")
    filters: dict[str, Any] | None = Field(
        default=None, description="memkit v2 filters applied to every search."
    )
    threshold: float | None = Field(default=None, description="Drop hits scoring below this.")

    def invoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        config = ensure_config(config)
        return super().invoke(input, config, **{_SCOPE: self._scope(config), **kwargs})

    async def ainvoke(
        self, input: str, config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[Document]:
        config = ensure_config(config)
        return await super().ainvoke(input, config, **{_SCOPE: self._scope(config), **kwargs})

    def _scope(self, config: RunnableConfig) -> dict[str, str]:
        defaults = {
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "app_id": self.app_id,
            "run_id": self.run_id,
        }
        return resolve_scope(defaults, config.get("configurable") or {})

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return run_sync(self.memory, self._search(query, **kwargs))

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        return await run_async(self.memory, self._search(query, **kwargs))

    def _search(
        self,
        query: str,
        *,
        k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        threshold: float | None = None,
        **rest: Any,
    ) -> Flow[list[Document]]:
        scope = rest.pop(_SCOPE, None)
        if rest:
            raise TypeError(f"unexpected keyword arguments: {sorted(rest)}")
        if scope is None:  # called directly, not through invoke
            scope = self._scope(ensure_config())
        parts = [f for f in (self.filters, filters) if f]
        combined = parts[0] if len(parts) == 1 else ({"AND": parts} if parts else None)
        result = yield from call(
            "search",
            query,
            filters=combined,
            top_k=k or self.k,
            threshold=self.threshold if threshold is None else threshold,
            **scope,
        )
        return [hit_to_document(hit) for hit in result.results]
