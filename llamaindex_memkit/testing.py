"""Test doubles for LlamaIndex apps on memkit: a scripted LLM that records its input.

``RecordingLLM`` is a function-calling LLM with no network: it answers from the
memories it was shown (so examples have something to print) and keeps every
prompt, so tests can assert what reached the model:

>>> import asyncio
>>> from llama_index.core.agent.workflow import FunctionAgent
>>> from memkit import Memory
>>> from llamaindex_memkit import MemkitMemory
>>> from llamaindex_memkit.testing import RecordingLLM
>>> store = Memory()
>>> _ = store.add("I live in Paris", user_id="alex")
>>> memory = MemkitMemory.from_client(store, user_id="alex")
>>> llm = RecordingLLM()
>>> async def ask(text):
...     return str(await FunctionAgent(tools=[], llm=llm).run(text, memory=memory))
>>> asyncio.run(ask("Where do I live?"))
'I remember: Lives in Paris.'
>>> "Lives in Paris" in llm.prompts[-1]
True

``react=True`` answers in ReAct's "Thought / Answer" format; ``call_tool="name"``
calls that tool (with no arguments) once before answering.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    CompletionResponse,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms.mock import MockFunctionCallingLLM

__all__ = ["RecordingLLM", "remembered_lines"]


def remembered_lines(text: str) -> list[str]:
    """The bullet lines of recalled memories in a prompt."""
    found: list[str] = []
    in_memories = False
    for line in text.splitlines():
        stripped = line.strip()
        if "memories" in stripped.lower() and stripped.endswith(":"):
            in_memories = True
        elif in_memories and stripped.startswith("- "):
            found.append(stripped[2:])
        elif stripped:
            in_memories = False
    return found


def _default_reply(prompt: str) -> str:
    lines = remembered_lines(prompt)
    return f"I remember: {'; '.join(lines)}." if lines else "Nice to meet you!"


class RecordingLLM(MockFunctionCallingLLM):
    """Scripted, offline, records ``prompts`` (one string per call)."""

    react: bool = False
    call_tool: str | None = None

    _prompts: list[str] = PrivateAttr(default_factory=list)
    _options: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _reply: Callable[[str], str] = PrivateAttr()

    def __init__(self, reply: Callable[[str], str] | None = None, **kwargs: Any) -> None:
        super().__init__(is_chat_model=True, **kwargs)
        self.response_generator = self._respond
        self._reply = reply or _default_reply

    @classmethod
    def class_name(cls) -> str:
        return "RecordingLLM"

    @property
    def prompts(self) -> list[str]:
        return self._prompts

    @property
    def options(self) -> list[dict[str, Any]]:
        """The keyword arguments of each chat call (``tools``, ``response_format``...)."""
        return self._options

    def _respond(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        prompt = "\n".join(f"{m.role.value}: {m.content or ''}" for m in messages)
        self._prompts.append(prompt)
        self._options.append(dict(kwargs))
        answered = bool(messages) and messages[-1].role == MessageRole.TOOL
        if self.call_tool and kwargs.get("tools") and not answered:
            return ChatMessage(
                role=MessageRole.ASSISTANT,
                blocks=[
                    ToolCallBlock(
                        tool_call_id=f"call-{uuid.uuid4().hex[:8]}",
                        tool_name=self.call_tool,
                        tool_kwargs={},
                    )
                ],
            )
        text = self._reply(prompt)
        if self.react:
            text = f"Thought: I can answer without using any more tools.\nAnswer: {text}"
        return ChatMessage(role=MessageRole.ASSISTANT, content=text)

    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        self._prompts.append(prompt)
        return CompletionResponse(text=prompt)

    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        return self.complete(prompt, formatted, **kwargs)
