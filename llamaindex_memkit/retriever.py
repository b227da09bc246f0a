"""``MemkitRetriever``: memkit search as a LlamaIndex retriever.

Each memory becomes a ``TextNode`` (id = memory id, text = memory) with its record
fields in the node's metadata, scored by memkit's search (in [0, 1], higher is more
relevant), so it drops into query engines, chat engines and node postprocessors.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.callbacks.base import CallbackManager
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.vector_stores.types import MetadataFilters

from llamaindex_memkit.context import Client, ScopeArg, build_context
from llamaindex_memkit.filters import resolve_filters
from memkit.adapter_driver import Flow, call, run_async, run_sync
from memkit.models import ID_FIELDS, SearchHit

__all__ = ["MemkitRetriever", "hit_to_node"]

_RECORD_FIELDS = (
    "user_id",
    "agent_id",
    "app_id",
    "run_id",
    "categories",
    "created_at",
    "updated_at",
    "hash",
)
# The model sees the memory, its categories and when it was recorded; ids stay out.
_HIDDEN_FROM_LLM = [*ID_FIELDS, "updated_at", "hash"]


def hit_to_node(hit: SearchHit) -> NodeWithScore:
    """A search hit as a scored node: record fields, then the memory's own metadata."""
    record = hit.model_dump(mode="json", include=set(_RECORD_FIELDS))
    extra = {k: v for k, v in hit.metadata.items() if k not in record}
    node = TextNode(
        id_=hit.id,
        text=hit.memory,
        metadata={**record, **extra},
        excluded_llm_metadata_keys=list(_HIDDEN_FROM_LLM),
        excluded_embed_metadata_keys=[*_RECORD_FIELDS, *extra],
    )
    return NodeWithScore(node=node, score=hit.score)


class MemkitRetriever(BaseRetriever):
    """Retrieve a scope's memkit memories as ``NodeWithScore``.

    Instantiate:

    >>> from memkit import Memory
    >>> from llamaindex_memkit import MemkitRetriever
    >>> memory = Memory()
    >>> _ = memory.add("I'm a vegetarian. I play the cello.", user_id="alex")
    >>> retriever = MemkitRetriever(memory, user_id="alex", similarity_top_k=5)

    Retrieve (sync and async):

    >>> import asyncio
    >>> [node.node.text for node in retriever.retrieve("what does alex eat?")]
    ['Is a vegetarian', 'Plays the cello']
    >>> len(asyncio.run(retriever.aretrieve("what does alex eat?")))
    2

    Filter with memkit's v2 language or LlamaIndex ``MetadataFilters`` (``contains``
    matches a whole category):

    >>> food = {"categories": {"contains": "food_preferences"}}
    >>> foods = MemkitRetriever(memory, user_id="alex", filters=food)
    >>> [node.node.text for node in foods.retrieve("food")]
    ['Is a vegetarian']

    In a query engine: ``RetrieverQueryEngine.from_args(retriever, llm=llm)``, as
    ``cookbook/llamaindex_chat_engine.py`` does with a chat engine.
    """

    def __init__(
        self,
        memory: Any,
        *,
        context: ScopeArg = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        similarity_top_k: int = 10,
        threshold: float | None = None,
        filters: MetadataFilters | dict[str, Any] | None = None,
        callback_manager: CallbackManager | None = None,
        verbose: bool = False,
    ) -> None:
        self.context = build_context(
            context, user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id
        )
        self.similarity_top_k = similarity_top_k
        self.threshold = threshold
        self.filters = resolve_filters(filters)
        self._client = Client.of(memory)
        super().__init__(callback_manager=callback_manager, verbose=verbose)

    @property
    def client(self) -> Any:
        """The memkit store (sync API)."""
        return self._client.sync

    def _search_kwargs(self) -> dict[str, Any]:
        return {
            "top_k": self.similarity_top_k,
            "threshold": self.threshold,
            **self.context.search_kwargs(self.filters),
        }

    def _search(self, query_bundle: QueryBundle) -> Flow[list[NodeWithScore]]:
        found = yield from call("search", query_bundle.query_str, **self._search_kwargs())
        return [hit_to_node(hit) for hit in found.results]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return run_sync(self._client.sync, self._search(query_bundle))

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return await run_async(self._client.aio, self._search(query_bundle))
