"""What each write tells the project's event sink (webhooks), once it is committed.

- add: one event per ``AddEvent`` it caused (ADD → ``memory_add``, UPDATE →
  ``memory_update``, DELETE → ``memory_delete``; NONE changed nothing and is not sent),
  with the event's JSON as data.
- update: ``memory_update`` with the updated record's JSON.
- batch update: ``memory_update`` per item, data ``{"id", "memory"?, "metadata"?}`` as sent.
- delete and batch delete: ``memory_delete`` per id, data ``{"id": ...}``.
- delete_all, delete of an entity, reset: the deleted ids are not read back (a bulk delete
  could name millions), so one ``memory_delete`` says what was deleted:
  ``{"ids": None, "filter": {...}, "count": n}`` — the ids and filters of the call
  (``{}`` for reset). Nothing is sent when nothing was deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from memkit.models import AddEvent, AddResult, MemoryRecord
from memkit.server._auth import Project
from memkit.server._events import EventType

__all__ = [
    "publish_add",
    "publish_bulk_delete",
    "publish_deleted",
    "publish_update",
    "publish_updates",
]

_ADD_EVENTS: dict[str, EventType] = {
    "ADD": "memory_add",
    "UPDATE": "memory_update",
    "DELETE": "memory_delete",
}


def publish_add(project: Project, result: AddResult | Sequence[AddEvent]) -> None:
    events = result.results if isinstance(result, AddResult) else result
    for event in events:
        kind = _ADD_EVENTS.get(event.event)
        if kind is not None:
            project.publish(kind, event.model_dump(mode="json"))


def publish_update(project: Project, record: MemoryRecord) -> None:
    project.publish("memory_update", record.model_dump(mode="json"))


def publish_updates(project: Project, items: Iterable[Mapping[str, Any]]) -> None:
    for item in items:
        data: dict[str, Any] = {"id": item.get("memory_id")}
        for key in ("text", "metadata"):
            if key in item:
                data["memory" if key == "text" else key] = item[key]
        project.publish("memory_update", data)


def publish_deleted(project: Project, ids: Iterable[str]) -> None:
    for memory_id in ids:
        project.publish("memory_delete", {"id": memory_id})


def publish_bulk_delete(project: Project, selection: Mapping[str, Any], count: int) -> None:
    if count:
        project.publish("memory_delete", {"ids": None, "filter": dict(selection), "count": count})
