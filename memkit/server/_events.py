"""Memory events leave the routes through one narrow interface, so webhooks (or anything
else that wants them) subscribe without the routes knowing who listens."""

from __future__ import annotations

from typing import Any, Literal, Protocol

__all__ = ["EVENT_TYPES", "EventSink", "EventType", "NullSink"]

# The platform's webhook event names.
EventType = Literal["memory_add", "memory_update", "memory_delete"]
EVENT_TYPES: tuple[EventType, ...] = ("memory_add", "memory_update", "memory_delete")


class EventSink(Protocol):
    def publish(self, project_id: str, event: EventType, data: dict[str, Any]) -> None:
        """Called after the write is committed; must not block the request for long."""

    def close(self) -> None: ...


class NullSink:
    def publish(self, project_id: str, event: EventType, data: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None
