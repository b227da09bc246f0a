"""Scope and client plumbing shared by every llamaindex_memkit component.

``MemkitContext`` is the scope a component reads and writes in: at least one of
``user_id``, ``agent_id``, ``app_id``, ``run_id``, checked at construction, so a
component with no scope cannot be built (let alone run). ``Client`` pairs the
sync and async faces of one memkit store so each component has a real ``a*``
path: a ``Memory`` is awaited through ``AsyncMemory(memory=...)``, the one place
memkit moves blocking work to a thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llama_index.core.bridge.pydantic import BaseModel, ConfigDict, model_validator

from memkit import AsyncMemory, Memory
from memkit.client import AsyncMemoryClient
from memkit.errors import InvalidInputError
from memkit.models import ID_FIELDS
from memkit.recall import recall_filter

__all__ = ["Client", "MemkitContext", "ScopeArg", "build_context"]


class MemkitContext(BaseModel):
    """The memkit scope of a component; refuses to exist without at least one id.

    A missing or blank id raises memkit's ``InvalidInputError`` (a ``ValueError``), as
    the core and the LangChain adapter do. Example:

    >>> MemkitContext(user_id="alex").ids()                    # alex's memories
    {'user_id': 'alex'}
    >>> MemkitContext(user_id="alex", agent_id="tutor").ids()  # alex's and the tutor's
    {'user_id': 'alex', 'agent_id': 'tutor'}
    >>> MemkitContext()  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    memkit.errors.InvalidInputError: memkit needs a scope: set at least one of user_id, ...
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None

    def __init__(self, **data: Any) -> None:
        # Checked before pydantic runs, so the caller gets InvalidInputError rather than
        # a ValidationError wrapping it; the validator below covers model_validate.
        _check_scope(data)
        super().__init__(**data)

    @model_validator(mode="after")
    def _needs_an_id(self) -> MemkitContext:
        _check_scope(self.ids())
        return self

    def ids(self) -> dict[str, str]:
        """The ids that are set, as memkit keyword arguments (used for writes)."""
        return {name: value for name in ID_FIELDS if (value := getattr(self, name)) is not None}

    def search_kwargs(self, filters: Mapping[str, Any] | None) -> dict[str, Any]:
        """memkit ``search`` / ``get_all`` keywords that recall this scope, ANDed with filters."""
        return {"filters": recall_filter(filters, **self.ids())}


def _check_scope(values: Mapping[str, Any]) -> None:
    for name in ID_FIELDS:
        value = values.get(name)
        if isinstance(value, str) and not value.strip():
            raise InvalidInputError(f"{name} must be a non-empty string")
    if all(values.get(name) is None for name in ID_FIELDS):
        raise InvalidInputError(
            "memkit needs a scope: set at least one of user_id, agent_id, app_id, run_id"
        )


ScopeArg = MemkitContext | Mapping[str, Any] | None


def build_context(context: ScopeArg = None, **ids: str | None) -> MemkitContext:
    """A context from a ``MemkitContext``, a dict, or the id keywords (not both)."""
    given = {name: value for name, value in ids.items() if value is not None}
    if context is None:
        return MemkitContext(**given)
    if given:
        raise InvalidInputError("pass the scope either as context= or as id keywords, not both")
    if isinstance(context, MemkitContext):
        return context
    return MemkitContext(**dict(context))


@dataclass(frozen=True)
class Client:
    """The sync and async faces of one memkit store."""

    sync: Any
    aio: Any

    @classmethod
    def of(cls, memory: Any) -> Client:
        """From a ``Memory``, an ``AsyncMemory``, or a client with ``Memory``'s sync methods
        (``MemoryClient``); an ``AsyncMemoryClient`` keeps its blocking twin as ``.sync``."""
        if isinstance(memory, AsyncMemory | AsyncMemoryClient):
            return cls(memory.sync, memory)
        if memory is None:
            raise InvalidInputError("a memkit Memory or AsyncMemory is required (memory=...)")
        # AsyncMemory only needs Memory's methods, so a remote sync client works too.
        return cls(memory, AsyncMemory(memory=memory))

    @classmethod
    def default(cls, memory: Any = None, config: Any = None) -> Client:
        """``memory`` as given, else ``Memory.from_config(config)``, else ``Memory()``."""
        if memory is not None and config is not None:
            raise InvalidInputError("pass either memory= or config=, not both")
        if memory is None:
            memory = Memory() if config is None else Memory.from_config(config)
        return cls.of(memory)
