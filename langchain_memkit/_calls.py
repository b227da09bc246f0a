"""What the LangChain adapter shares: memkit's sync/async driver, scope, and message conversion.

Each component writes its logic once, as a flow (a generator that yields the memkit calls
it needs, ``hits = yield from call("search", query, user_id=...)``) driven by
:func:`memkit.adapter_driver.run_sync` or :func:`~memkit.adapter_driver.run_async`, so the
sync and async halves cannot drift apart. The LangChain message conversion lives here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_messages,
)

from memkit.adapter_driver import (
    SCOPE_KEYS,
    Call,
    Flow,
    call,
    resolve_scope,
    run_async,
    run_sync,
    worth_remembering,
)
from memkit.adapter_messages import as_given, message_content
from memkit.models import TranscriptMessage

__all__ = [
    "SCOPE_KEYS",
    "Call",
    "Flow",
    "call",
    "from_transcript",
    "resolve_scope",
    "run_async",
    "run_sync",
    "to_memkit_messages",
    "worth_remembering",
]

_ROLES = {
    "human": "user",
    "ai": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
}


def _role(message: BaseMessage) -> str:
    if isinstance(message, ChatMessage):
        return message.role if message.role in ("user", "assistant", "system", "tool") else "user"
    return _ROLES.get(message.type, "user")


def to_memkit_messages(messages: Iterable[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as memkit's chat dicts (role, content, name). Content blocks go
    through LangChain's own OpenAI conversion, so its standard image blocks arrive as
    ``image_url`` parts (``memkit.adapter_messages`` says which blocks are left out)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        content: Any = message.content
        if not isinstance(content, str):
            content = message_content(convert_to_openai_messages(message)["content"])
        item: dict[str, Any] = {"role": _role(message), "content": content}
        if message.name:
            item["name"] = message.name
        out.append(item)
    return out


def from_transcript(message: TranscriptMessage) -> BaseMessage:
    """A memkit transcript message back as the LangChain message of its role (content
    parts as LangChain's OpenAI-format blocks)."""
    extra: dict[str, Any] = {"name": message.name} if message.name else {}
    content: Any = as_given(message)
    if message.role == "user":
        return HumanMessage(content=content, **extra)
    if message.role == "assistant":
        return AIMessage(content=content, **extra)
    if message.role == "system":
        return SystemMessage(content=content, **extra)
    # The transcript keeps no tool_call_id; the tool's name is the best stand-in.
    return ToolMessage(content=content, tool_call_id=message.name or "", **extra)
