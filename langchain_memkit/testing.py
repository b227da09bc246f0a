"""Test doubles for memkit-powered LangChain apps: run agents offline, see what the model saw.

>>> from langchain.agents import create_agent
>>> from memkit import Memory
>>> from langchain_memkit import MemkitMiddleware
>>> from langchain_memkit.testing import (
...     ScriptedChatModel, answer_from_memories, recalled_memories)
>>> memory = Memory()
>>> _ = memory.add("I live in Paris", user_id="alex")
>>> model = ScriptedChatModel(messages=iter([answer_from_memories]))
>>> agent = create_agent(model, middleware=[MemkitMiddleware(memory, user_id="alex")])
>>> _ = agent.invoke({"messages": [{"role": "user", "content": "Where do I live?"}]})
>>> recalled_memories(model.calls[0])
['Lives in Paris']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from memkit.recall import DEFAULT_HEADER

__all__ = ["Reply", "ScriptedChatModel", "answer_from_memories", "recalled_memories"]

Reply = AIMessage | str | Callable[[list[BaseMessage]], AIMessage | str]

NO_MEMORIES = "I don't know anything about you yet."


class ScriptedChatModel(GenericFakeChatModel):
    """LangChain's ``GenericFakeChatModel``, ready for agents.

    It accepts tools (``bind_tools`` returns the model itself, so scripted tool calls
    reach the agent), records the messages of every call in ``calls``, and a scripted
    reply may be a function of the messages it is given.
    """

    messages: Iterator[Any]  # of Reply
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        reply = next(self.messages)
        if callable(reply):
            reply = reply(list(messages))
        message = AIMessage(content=reply) if isinstance(reply, str) else reply
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:
        return self


def recalled_memories(messages: Sequence[BaseMessage], header: str = DEFAULT_HEADER) -> list[str]:
    """The memories a model call was given: the bullet lines under ``header``."""
    found: list[str] = []
    for message in messages:
        if not isinstance(message, SystemMessage) or header not in message.text:
            continue
        block = message.text.split(header, 1)[1]
        for line in block.splitlines()[1:]:
            if not line.startswith("- "):
                break
            found.append(line[2:])
    return found


def answer_from_memories(messages: list[BaseMessage]) -> str:
    """A scripted reply that repeats what the model was told about the user."""
    known = recalled_memories(messages)
    return "What I remember: " + "; ".join(known) + "." if known else NO_MEMORIES
