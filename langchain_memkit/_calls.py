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
    """LangChain messages as memkit's chat dicts (role, text content, name)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        item: dict[str, Any] = {"role": _role(message), "content": message.text}
        if message.name:
            item["name"] = message.name
        out.append(item)
    return out


def from_transcript(message: TranscriptMessage) -> BaseMessage:
    """A memkit transcript message back as the LangChain message of its role."""
    extra: dict[str, Any] = {"name": message.name} if message.name else {}
    if message.role == "user":
        return HumanMessage(content=message.content, **extra)
    if message.role == "assistant":
        return AIMessage(content=message.content, **extra)
    if message.role == "system":
        return SystemMessage(content=message.content, **extra)
    # The transcript keeps no tool_call_id; the tool's name is the best stand-in.
    return ToolMessage(content=message.content, tool_call_id=message.name or "", **extra)
