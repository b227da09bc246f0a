"""``MemkitMemory``: LlamaIndex chat memory on memkit, for chat engines and agents.

Short-term: the session's transcript, kept by memkit (``append_messages``) under
``session_id`` and returned newest-first within ``token_limit``. Long-term: each
finished turn (the user's messages and the assistant's reply) goes to
``memkit.add`` once, in the component's scope (a last turn left without a reply goes
when the session ends, at ``reset``), and every ``get`` searches memkit
for the memories relevant to the latest user turns and puts them, fitted to
``recall_token_limit`` by ``memkit.recall``, into a system message.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, Literal

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import ConfigDict, Field, PrivateAttr, field_validator
from llama_index.core.memory.types import BaseMemory

from llamaindex_memkit._messages import (
    from_transcript,
    split_turns,
    to_memkit,
    to_memkit_all,
    with_recall,
)
from llamaindex_memkit.context import Client, MemkitContext, ScopeArg, build_context
from llamaindex_memkit.filters import resolve_filters
from llamaindex_memkit.tokenizer import offline_tokenizer
from memkit.adapter_driver import Flow, call, run_async, run_sync, worth_remembering
from memkit.adapter_messages import as_given, message_text
from memkit.models import SearchHit, TranscriptMessage
from memkit.recall import DEFAULT_HEADER, format_recall, recall_query
from memkit.tokens import count_tokens

__all__ = ["MemkitMemory"]


class MemkitMemory(BaseMemory):
    """A session transcript plus recall of memkit memories, written turn by turn.

    The transcript is written through at once: every ``put`` appends to it in memkit.
    Long-term memory is written per turn: a turn reaches ``memkit.add`` when the
    assistant's reply completes it, so a user message waits (in this object) for its
    reply. When the session ends, ``reset()`` / ``areset()`` also writes a user turn
    still waiting, rather than never; a ``MemkitMemory`` dropped without ``reset``
    loses that last unanswered turn (its transcript stays).

    Instantiate (``from_defaults(user_id=...)`` opens ``Memory()``, ``from_config(config,
    user_id=...)`` a ``Memory.from_config(config)``):

    >>> from memkit import Memory
    >>> from llamaindex_memkit import MemkitMemory
    >>> store = Memory()
    >>> memory = MemkitMemory.from_client(store, user_id="alex")

    Use, in an agent (any LlamaIndex LLM in place of the recording one, which answers
    with the memories it was shown) or a chat engine:

    >>> import asyncio
    >>> from llama_index.core.agent.workflow import FunctionAgent
    >>> from llama_index.core.chat_engine import SimpleChatEngine
    >>> from llamaindex_memkit.testing import RecordingLLM
    >>> agent = FunctionAgent(tools=[], llm=RecordingLLM())
    >>> async def chat(text, memory):
    ...     return str(await agent.run(text, memory=memory))
    >>> _ = asyncio.run(chat("I'm vegetarian", memory))   # remembered for alex
    >>> [found.memory for found in store.get_all(user_id="alex").results]
    ['Is vegetarian']
    >>> later = MemkitMemory.from_client(store, user_id="alex")        # a new session
    >>> asyncio.run(chat("What do I eat?", later))
    'I remember: Is vegetarian.'
    >>> engine = SimpleChatEngine.from_defaults(llm=RecordingLLM(), memory=later)
    >>> engine.chat("What do I eat?").response
    'I remember: Is vegetarian.'


    A new ``MemkitMemory`` (or a new ``session_id``) starts a fresh transcript;
    what memkit learned about the scope is recalled in every session. Pass the
    same ``session_id`` to resume a transcript. ``reset()`` clears the transcript
    only; forget long-term memories through ``memory.client`` (memkit's API).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    context: MemkitContext = Field(description="The memkit scope read and written.")
    session_id: str = Field(
        default_factory=lambda: str(uuid.uuid4()),
        description="Key of the short-term transcript in memkit.",
    )
    token_limit: int = Field(
        default=30000, gt=0, description="Tokens for the transcript and recalled memories."
    )
    recall_token_limit: int = Field(
        default=1000, gt=0, description="Tokens for the recalled memories (least relevant dropped)."
    )
    similarity_top_k: int = Field(default=10, ge=1, le=1000)
    threshold: float | None = Field(default=None, description="Minimum memkit score recalled.")
    filters: dict[str, Any] | None = Field(
        default=None, description="memkit v2 filter (or MetadataFilters) ANDed with the scope."
    )
    infer: bool = Field(default=True, description="Extract facts (True) or store verbatim.")
    metadata: dict[str, Any] | None = Field(default=None, description="Metadata on new memories.")
    insert_method: Literal["system", "user"] = Field(
        default="system",
        description="Recall in a system message, or in front of the latest user message.",
    )
    recall_header: str = DEFAULT_HEADER
    tokenizer_fn: Callable[[str], Sequence[object]] = Field(
        default_factory=offline_tokenizer,
        exclude=True,
        description="Counts transcript tokens; offline cl100k_base by default.",
    )

    _client: Client = PrivateAttr()
    _pending: list[dict[str, Any]] = PrivateAttr(default_factory=list)

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
        # pydantic's __init__ validates this class's fields; mypy checks BaseMemory's only.
        super().__init__(context=scope, **data)  # type: ignore[call-arg]
        self._client = Client.of(memory)

    @field_validator("filters", mode="before")
    @classmethod
    def _translate_filters(cls, value: Any) -> dict[str, Any] | None:
        return resolve_filters(value)

    @classmethod
    def class_name(cls) -> str:
        return "MemkitMemory"

    @classmethod
    def from_defaults(
        cls, memory: Any = None, *, config: Any = None, **kwargs: Any
    ) -> MemkitMemory:
        """``memory`` if given, else ``Memory.from_config(config)``, else ``Memory()``."""
        return cls(Client.default(memory, config).aio, **kwargs)

    @classmethod
    def from_client(cls, memory: Any, **kwargs: Any) -> MemkitMemory:
        """On an existing ``Memory``, ``AsyncMemory`` or client with Memory's methods."""
        return cls(memory, **kwargs)

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> MemkitMemory:
        """On a new ``Memory.from_config(config)`` (memkit's / mem0's config shape)."""
        return cls.from_defaults(config=config, **kwargs)

    @property
    def client(self) -> Any:
        """The memkit store (sync API), e.g. to list or forget memories."""
        return self._client.sync

    # ---- decisions (no I/O) ---------------------------------------------------------------

    def _search_kwargs(self) -> dict[str, Any]:
        return {
            "top_k": self.similarity_top_k,
            "threshold": self.threshold,
            **self.context.search_kwargs(self.filters),
        }

    def _add_kwargs(self) -> dict[str, Any]:
        return {"infer": self.infer, "metadata": self.metadata, **self.context.ids()}

    @staticmethod
    def _query(transcript: Sequence[TranscriptMessage], input: Any) -> str:
        pairs = [(m.role, m.content) for m in transcript]
        latest = to_memkit(input) if isinstance(input, ChatMessage) else None
        if isinstance(input, str) and input.strip():
            pairs.append(("user", input))
        elif latest is not None:
            pairs.append((latest["role"], message_text(latest)))
        return recall_query(pairs)

    def _compose(
        self,
        transcript: Sequence[TranscriptMessage],
        hits: Sequence[SearchHit],
        initial_token_count: int,
    ) -> list[ChatMessage]:
        recall = format_recall(hits, self.recall_token_limit, self.recall_header)
        budget = self.token_limit - initial_token_count - (count_tokens(recall) if recall else 0)
        history = _fit([from_transcript(m) for m in transcript], budget, self.tokenizer_fn)
        return with_recall(history, recall, self.insert_method)

    def _take_turns(self, stored: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
        complete, self._pending = split_turns(self._pending, stored)
        return complete

    # ---- each operation once, as a flow; the public sync / async methods drive it ---------

    def _get(
        self, input: str | ChatMessage | None, initial_token_count: int
    ) -> Flow[list[ChatMessage]]:
        transcript = yield from call("get_messages", self.session_id)
        query = self._query(transcript, input)
        hits = (yield from call("search", query, **self._search_kwargs())).results if query else []
        return self._compose(transcript, hits, initial_token_count)

    def _get_all(self) -> Flow[list[ChatMessage]]:
        transcript = yield from call("get_messages", self.session_id)
        return [from_transcript(m) for m in transcript]

    def _put_messages(self, messages: list[ChatMessage]) -> Flow[None]:
        stored = to_memkit_all(messages)
        if stored:
            yield from call("append_messages", self.session_id, stored)
        for turn in self._take_turns(stored):
            yield from call("add", turn, **self._add_kwargs())

    def _set(self, messages: list[ChatMessage]) -> Flow[None]:
        current = yield from call("get_messages", self.session_id)
        stored, fresh = _diff(current, messages)
        yield from call("clear_messages", self.session_id)
        if stored:
            yield from call("append_messages", self.session_id, stored)
        for turn in self._take_turns(fresh):
            yield from call("add", turn, **self._add_kwargs())

    def _reset(self) -> Flow[None]:
        # The session ends: a user turn still waiting for its reply is remembered now
        # rather than never (taken first, so a retried reset cannot write it twice).
        waiting, self._pending = self._pending, []
        if worth_remembering(waiting):
            yield from call("add", waiting, **self._add_kwargs())
        yield from call("clear_messages", self.session_id)

    # ---- sync -----------------------------------------------------------------------------

    def get(self, input: str | ChatMessage | None = None, **kwargs: Any) -> list[ChatMessage]:
        """The transcript within ``token_limit``, with the relevant memories recalled."""
        flow = self._get(input, kwargs.get("initial_token_count") or 0)
        return run_sync(self._client.sync, flow)

    def get_all(self) -> list[ChatMessage]:
        """The whole transcript, without recall."""
        return run_sync(self._client.sync, self._get_all())

    def put(self, message: ChatMessage) -> None:
        self.put_messages([message])

    def put_messages(self, messages: list[ChatMessage]) -> None:
        """Append to the transcript; each finished turn is written to memkit once."""
        run_sync(self._client.sync, self._put_messages(messages))

    def set(self, messages: list[ChatMessage]) -> None:
        """Replace the transcript; only messages it did not already hold are remembered."""
        run_sync(self._client.sync, self._set(messages))

    def reset(self) -> None:
        """End the session: write a turn still waiting for its reply, clear the transcript.

        Long-term memories stay.
        """
        run_sync(self._client.sync, self._reset())

    # ---- async (what the workflow agents call) --------------------------------------------

    async def aget(
        self, input: str | ChatMessage | None = None, **kwargs: Any
    ) -> list[ChatMessage]:
        flow = self._get(input, kwargs.get("initial_token_count") or 0)
        return await run_async(self._client.aio, flow)

    async def aget_all(self) -> list[ChatMessage]:
        return await run_async(self._client.aio, self._get_all())

    async def aput(self, message: ChatMessage) -> None:
        await self.aput_messages([message])

    async def aput_messages(self, messages: list[ChatMessage]) -> None:
        await run_async(self._client.aio, self._put_messages(messages))

    async def aset(self, messages: list[ChatMessage]) -> None:
        await run_async(self._client.aio, self._set(messages))

    async def areset(self) -> None:
        await run_async(self._client.aio, self._reset())


def _fit(
    history: list[ChatMessage], budget: int, tokenizer: Callable[[str], Sequence[object]]
) -> list[ChatMessage]:
    """The newest messages within ``budget`` tokens (always the newest one).

    When older messages had to go, the kept part starts at a user message, so the
    model never sees a reply without its question.
    """
    kept: list[ChatMessage] = []
    used = 0
    for message in reversed(history):
        cost = len(tokenizer(message.content or ""))
        if kept and used + cost > budget:
            break
        kept.append(message)
        used += cost
    kept.reverse()
    if len(kept) < len(history):
        while len(kept) > 1 and kept[0].role != MessageRole.USER:
            kept.pop(0)
    return kept


def _diff(
    current: Sequence[TranscriptMessage], messages: Sequence[ChatMessage]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The new transcript, and its messages past the part the old one already held."""
    stored = to_memkit_all(messages)
    old = [(m.role, as_given(m)) for m in current]
    same = 0
    while same < min(len(old), len(stored)) and old[same] == (
        stored[same]["role"],
        stored[same]["content"],
    ):
        same += 1
    return stored, stored[same:]
