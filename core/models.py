"""Result models. ``model_dump(mode="json")`` of each is the platform's JSON shape.

Results also answer ``result["key"]`` so code written against the platform's dict
responses (``client.search(...)["results"]``) keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "AddEvent",
    "AddResult",
    "BatchResult",
    "EntityInfo",
    "EntityType",
    "HistoryEntry",
    "MemoryRecord",
    "MessageResult",
    "Page",
    "SearchHit",
    "SearchResult",
    "TranscriptMessage",
    "UsersResult",
]

# Always "+00:00", never "Z": the offset is spelled out, as DESIGN.md promises.
UtcDatetime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), when_used="json")]
EntityType = Literal["user", "agent", "app", "run"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in type(self).model_fields else default


class MemoryRecord(_Result):
    id: str
    memory: str
    hash: str
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SearchHit(MemoryRecord):
    score: float


class AddEvent(_Result):
    id: str
    memory: str
    event: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    previous_memory: str | None = None
    user_id: str | None = None
    agent_id: str | None = None


class AddResult(_Result):
    results: list[AddEvent]


class SearchResult(_Result):
    results: list[SearchHit]


class Page(_Result):
    count: int
    page: int
    page_size: int
    next: int | None
    previous: int | None
    results: list[MemoryRecord]


class HistoryEntry(_Result):
    id: int
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_memory: str | None
    new_memory: str | None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    created_at: UtcDatetime


class EntityInfo(_Result):
    id: str
    name: str
    type: EntityType
    total_memories: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class UsersResult(_Result):
    count: int
    results: list[EntityInfo]


class BatchResult(_Result):
    message: str
    count: int


class TranscriptMessage(_Result):
    role: Literal["user", "assistant", "system", "tool"]
    content: str
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime


class MessageResult(_Result):
    message: str
    count: int = 0
