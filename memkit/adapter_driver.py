"""One implementation for sync and async: the driver every framework adapter shares.

An adapter writes each operation once, as a generator (a *flow*) that yields the
memkit calls it needs and returns its answer. :func:`run_sync` drives a flow against a
``Memory`` with blocking calls; :func:`run_async` awaits an ``AsyncMemory`` (or any
client whose methods are coroutines) and runs a sync ``Memory``'s methods in a worker
thread (``asyncio.to_thread``, here and nowhere else in the adapters).

>>> import asyncio
>>> from memkit import Memory
>>> def recall(query: str) -> Flow[list[str]]:
...     found = yield from call("search", query, user_id="alex")
...     return [hit.memory for hit in found.results]
>>> memory = Memory()
>>> _ = memory.add("I live in Paris", user_id="alex")
>>> run_sync(memory, recall("where does alex live?"))
['Lives in Paris']
>>> asyncio.run(run_async(memory, recall("where does alex live?")))
['Lives in Paris']

The decisions live in the flow, the waiting in the driver, so an adapter's sync and
async halves cannot drift apart (httpx's auth flows work the same way). A memkit error
raised by a call is thrown into the flow at its ``yield``, so a flow may catch the one it
expects (a memory deleted since it was read); one it does not catch propagates as before.

Framework-neutral on purpose: nothing here imports LangChain or LlamaIndex; each
adapter keeps its own message conversion.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, TypeAlias, TypeVar

from memkit.adapter_messages import has_content
from memkit.errors import InvalidInputError, MemkitError
from memkit.models import ID_FIELDS

__all__ = [
    "SCOPE_KEYS",
    "Call",
    "Flow",
    "call",
    "resolve_scope",
    "run_async",
    "run_sync",
    "worth_remembering",
]

T = TypeVar("T")
Call: TypeAlias = tuple[str, tuple[Any, ...], dict[str, Any]]
"""One request of a flow: the memkit method's name, its positional and keyword arguments."""
Flow: TypeAlias = Generator[Call, Any, T]
"""An adapter operation written once: yields :data:`Call`\\ s, returns its answer."""

SCOPE_KEYS = ID_FIELDS  # the entity ids a component is scoped by


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
    """Drive ``flow`` with blocking calls on ``memory`` (an ``AsyncMemory`` uses its ``.sync``)."""
    target = _sync_target(memory)
    try:
        request = next(flow)
        while True:
            name, args, kwargs = request
            try:
                result = getattr(target, name)(*args, **kwargs)
            except MemkitError as error:
                request = flow.throw(error)
            else:
                request = flow.send(result)
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
            try:
                if inspect.iscoroutinefunction(method):
                    result = await method(*args, **kwargs)
                else:
                    result = await asyncio.to_thread(method, *args, **kwargs)
            except MemkitError as error:
                request = flow.throw(error)
            else:
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

    >>> resolve_scope({"user_id": "alex", "agent_id": None}, {"user_id": "sam"})
    {'user_id': 'sam'}
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


def worth_remembering(messages: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``add`` has anything to read: some user or assistant text (or an image)."""
    return any(m["role"] in ("user", "assistant") and has_content(m) for m in messages)
