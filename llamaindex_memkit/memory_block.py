"""``MemkitMemoryBlock``: memkit as a block of LlamaIndex's ``Memory``.

LlamaIndex's ``Memory`` keeps a session's messages in a FIFO queue and hands the
messages it flushes out of the queue to its blocks; on every ``get`` it asks each
block for content to inject. This block writes the flushed messages to memkit
and recalls by memkit scope (user / agent / app / run), not by session, so what
one session taught is recalled in every other session of the same scope.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, field_validator
from llama_index.core.memory.memory import BaseMemoryBlock

from llamaindex_memkit._messages import to_memkit_all, turns
from llamaindex_memkit.context import Client, MemkitContext, ScopeArg, build_context
from llamaindex_memkit.filters import resolve_filters
from memkit.adapter_driver import Flow, call, run_async
from memkit.models import SearchHit
from memkit.recall import DEFAULT_HEADER, format_recall, recall_query
from memkit.tokens import count_tokens

__all__ = ["MemkitMemoryBlock"]

_REMEMBERED = 16  # recent renderings kept so atruncate can drop the least relevant lines


class MemkitMemoryBlock(BaseMemoryBlock[str]):
    """Recall memkit memories into a LlamaIndex ``Memory``; write what it flushes.

    Example:

    >>> import asyncio
    >>> import memkit
    >>> from llama_index.core.base.llms.types import ChatMessage
    >>> from llama_index.core.memory import Memory
    >>> from llamaindex_memkit import MemkitMemoryBlock, offline_tokenizer
    >>> store = memkit.Memory()
    >>> block = MemkitMemoryBlock(store, user_id="alex")
    >>> memory = Memory.from_defaults(
    ...     session_id="chat-1", token_limit=4000, memory_blocks=[block],
    ...     tokenizer_fn=offline_tokenizer(),
    ... )
    >>> asyncio.run(block.aput([ChatMessage(role="user", content="I live in Paris")]))
    >>> print(asyncio.run(block.aget([ChatMessage(role="user", content="Where do I live?")])))
    Relevant long-term memories about the user and the conversation:
    - Lives in Paris

    Messages reach memkit when ``Memory`` flushes them (its queue outgrows
    ``token_limit * chat_history_token_ratio``), or when you call ``await
    block.aput(messages)``. ``priority`` defaults to 1 so that, when ``Memory`` is
    over its budget, this block gives up its least relevant memories first.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = Field(default="memkit_memories", description="The block's name in the prompt.")
    priority: int = Field(default=1, description="0 never truncates; higher truncates later.")
    context: MemkitContext = Field(description="The memkit scope read and written.")
    similarity_top_k: int = Field(default=10, ge=1, le=1000)
    threshold: float | None = None
    filters: dict[str, Any] | None = Field(
        default=None, description="memkit v2 filter (or MetadataFilters) ANDed with the scope."
    )
    token_limit: int = Field(default=1000, gt=0, description="Tokens the block may yield.")
    infer: bool = True
    metadata: dict[str, Any] | None = None
    header: str = DEFAULT_HEADER

    _client: Client = PrivateAttr()
    _rendered: OrderedDict[str, list[SearchHit]] = PrivateAttr(default_factory=OrderedDict)

    def __init__(
        self,
        memory: Any,
        *,
        context: ScopeArg = None,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        **data: Any,
    ) -> None:
        scope = build_context(
            context, user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id
        )
        # pydantic's __init__ validates this class's fields; mypy checks BaseMemoryBlock's only.
        super().__init__(context=scope, **data)  # type: ignore[call-arg]
        self._client = Client.of(memory)

    @field_validator("filters", mode="before")
    @classmethod
    def _translate_filters(cls, value: Any) -> dict[str, Any] | None:
        return resolve_filters(value)

    async def _aget(self, messages: list[ChatMessage] | None = None, **block_kwargs: Any) -> str:
        """The memories relevant to the latest user turns; ``session_id`` is not a filter."""
        return await run_async(self._client.aio, self._recall(messages or []))

    async def _aput(self, messages: list[ChatMessage]) -> None:
        """Remember the messages (tool traffic and empty messages are skipped)."""
        await run_async(self._client.aio, self._remember(messages))

    def _recall(self, messages: list[ChatMessage]) -> Flow[str]:
        query = recall_query(turns(messages))
        if not query:
            return ""
        found = yield from call(
            "search",
            query,
            top_k=self.similarity_top_k,
            threshold=self.threshold,
            **self.context.search_kwargs(self.filters),
        )
        text = format_recall(found.results, self.token_limit, self.header)
        if text:
            self._rendered[text] = list(found.results)
            while len(self._rendered) > _REMEMBERED:
                self._rendered.popitem(last=False)
        return text

    def _remember(self, messages: list[ChatMessage]) -> Flow[None]:
        admitted = to_memkit_all(messages)
        if any(m["role"] != "system" for m in admitted):
            yield from call(
                "add", admitted, infer=self.infer, metadata=self.metadata, **self.context.ids()
            )

    async def atruncate(self, content: str, tokens_to_truncate: int) -> str | None:
        """Drop the least relevant memories until ``tokens_to_truncate`` are saved."""
        hits = self._rendered.get(content)
        if hits is None:
            return None
        text = format_recall(hits, count_tokens(content) - tokens_to_truncate, self.header)
        return text or None
