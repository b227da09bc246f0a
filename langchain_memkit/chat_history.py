"""``MemkitChatMessageHistory``: one session's transcript that also feeds long-term memory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage

from langchain_memkit._calls import (
    Flow,
    call,
    from_transcript,
    resolve_scope,
    run_async,
    run_sync,
    to_memkit_messages,
    worth_remembering,
)
from memkit.adapter_messages import has_content

__all__ = ["MemkitChatMessageHistory"]


class MemkitChatMessageHistory(BaseChatMessageHistory):
    """Short-term transcript of one session, kept in memkit's SQL store; every turn added
    is also written to long-term memory for the configured user / agent / app / run.

    Works with ``RunnableWithMessageHistory`` (deprecated upstream, still widely used).
    New agents should prefer :class:`~langchain_memkit.MemkitMiddleware` with a
    checkpointer: it recalls memories into each model call, which this class does not.

    Instantiate:

    >>> from memkit import Memory
    >>> from langchain_memkit import MemkitChatMessageHistory
    >>> memory = Memory()
    >>> history = MemkitChatMessageHistory(memory=memory, session_id="s-1", user_id="alex")

    Add:

    >>> history.add_user_message("I live in Paris")   # transcript + long-term memory
    >>> history.add_ai_message("Noted!")

    Search (the transcript, and what long-term memory learned from it):

    >>> [message.type for message in history.messages]
    ['human', 'ai']
    >>> memory.search("where does alex live?", user_id="alex").results[0].memory
    'Lives in Paris'

    Async:

    >>> import asyncio
    >>> from langchain_core.messages import HumanMessage
    >>> asyncio.run(history.aadd_messages([HumanMessage("I like tea")]))
    >>> [message.text for message in asyncio.run(history.aget_messages())]
    ['I live in Paris', 'Noted!', 'I like tea']

    Limits: memkit keeps role, text and name of each message, so tool calls and
    multimodal parts are not replayed; messages without text are not kept.
    """

    def __init__(
        self,
        memory: Any,
        session_id: str,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        infer: bool = True,
        max_messages: int | None = None,
    ) -> None:
        super().__init__()
        self.memory = memory
        self.session_id = session_id
        self.scope = resolve_scope(
            {"user_id": user_id, "agent_id": agent_id, "app_id": app_id, "run_id": run_id}
        )
        self.infer = infer
        self.max_messages = max_messages

    # BaseChatMessageHistory declares ``messages`` as an attribute; a read-only property
    # (read from memkit on each access) is what LangChain's own examples write.
    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return run_sync(self.memory, self._read())

    async def aget_messages(self) -> list[BaseMessage]:
        return await run_async(self.memory, self._read())

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        run_sync(self.memory, self._write(messages))

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        await run_async(self.memory, self._write(messages))

    def clear(self) -> None:
        """Forget the transcript; long-term memories stay (``memory.delete_all`` removes them)."""
        run_sync(self.memory, call("clear_messages", self.session_id))

    async def aclear(self) -> None:
        await run_async(self.memory, call("clear_messages", self.session_id))

    def _read(self) -> Flow[list[BaseMessage]]:
        rows = yield from call("get_messages", self.session_id, self.max_messages)
        return [from_transcript(row) for row in rows]

    def _write(self, messages: Sequence[BaseMessage]) -> Flow[None]:
        turn = [m for m in to_memkit_messages(messages) if has_content(m)]
        if not turn:
            return
        yield from call("append_messages", self.session_id, turn)
        if worth_remembering(turn):
            yield from call("add", turn, infer=self.infer, **self.scope)
