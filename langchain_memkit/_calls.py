"""What every adapter shares: one driver for sync and async, scope, and message conversion.

Each adapter writes its logic once, as a generator that yields the memkit calls it needs
(``hits = yield from call("search", query, user_id=...)``) and returns its answer.
:func:`run_sync` drives it against a ``Memory``; :func:`run_async` awaits an
``AsyncMemory`` or an async client, and runs a sync ``Memory`` in a worker thread
(``asyncio.to_thread``, here and nowhere else). So the sync and async halves of an
adapter cannot drift apart.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from memkit.errors import InvalidInputError
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

T = TypeVar("T")
Call: TypeAlias = tuple[str, tuple[Any, ...], dict[str, Any]]
Flow: TypeAlias = Generator[Call, Any, T]

SCOPE_KEYS = ("user_id", "agent_id", "app_id", "run_id")


def call(method: str, *args: Any, **kwargs: Any) -> Generator[Call, Any, Any]:
    """One memkit call inside a flow: ``result = yield from call("add", ...)``."""
    return (yield (method, args, kwargs))


def _sync_target(memory: Any) -> Any:
    if not inspect.iscoroutinefunction(getattr(memory, "search", None)):
        return memory
    # AsyncMemory keeps the Memory it awaits in a thread as ``.sync``.
    sync = getattr(memory, "sync", None)
    if sync is None:
        raise TypeError(
            f"{type(memory).__name__} is async-only; use the async API (ainvoke, aget, ...) "
            "or pass a memkit.Memory"
        )
    return sync


def run_sync(memory: Any, flow: Flow[T]) -> T:
    """Drive ``flow`` with blocking calls on ``memory``."""
    target = _sync_target(memory)
    try:
        request = next(flow)
        while True:
            name, args, kwargs = request
            request = flow.send(getattr(target, name)(*args, **kwargs))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def run_async(memory: Any, flow: Flow[T]) -> T:
    """Drive ``flow`` without blocking the event loop."""
    try:
        request = next(flow)
        while True:
            name, args, kwargs = request
            method: Callable[..., Any] = getattr(memory, name)
            if inspect.iscoroutinefunction(method):
                result = await method(*args, **kwargs)
            else:
                result = await asyncio.to_thread(method, *args, **kwargs)
            request = flow.send(result)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        flow.close()


def _lookup(source: Any, key: str) -> Any:
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def resolve_scope(defaults: Mapping[str, str | None], *overrides: Any) -> dict[str, str]:
    """The memkit ids of one call: the component's own, each replaced by a run's value.

    ``overrides`` are the run's sources, later ones winning: mappings (a config's
    ``configurable``) or objects with attributes (a runtime context dataclass or model).
    A component with no scope refuses to run: it never guesses whose memories to use.
    """
    scope: dict[str, str] = {}
    for key in SCOPE_KEYS:
        value = defaults.get(key)
        for source in overrides:
            found = _lookup(source, key)
            if found is not None:
                value = found
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{key} must be a non-empty string, got {value!r}")
            scope[key] = value
    if not scope:
        raise InvalidInputError(
            "no memkit scope: set user_id, agent_id, app_id or run_id on the component "
            "or pass it in the run's config / context"
        )
    return scope


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


def worth_remembering(messages: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``add`` has anything to read: some user or assistant text."""
    return any(m["role"] in ("user", "assistant") and m["content"].strip() for m in messages)


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
