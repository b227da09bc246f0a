"""Updates and deletes by id: validate the whole batch, then change it in one transaction.

``update`` and ``delete`` are batches of one, so single and batch calls share the rules:
every item is checked before anything is written, an unknown id changes nothing, and each
change is a history row written with it under the store's write lock.

A new text gets the categories of the new text (``categorize``, the facade's choice):
categories select what a spoken topic delete ("Delete all of my food preferences")
removes, so a memory rewritten from "Loves pizza" to "Watches football" that kept
``food_preferences`` would be deleted by it. A metadata-only change keeps them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from memkit._domain import HistoryRow, StoredMemory, WriteSet
from memkit._embedder import Embedder
from memkit._inputs import Scope, check_batch, check_id, check_metadata, check_text
from memkit._lookup import matching_ids, scope_node
from memkit._options import check_expiration_date
from memkit._planning import text_hash
from memkit._reading import load
from memkit.errors import ImmutableMemoryError, InvalidInputError
from memkit.filters._chroma import to_chroma
from memkit.filters._language import FilterNode, entity_scope
from memkit.store._backend import Backend
from memkit.store._records import ENTITY_FIELDS

__all__ = [
    "batch_delete_ids",
    "delete_entities",
    "delete_filtered",
    "delete_ids",
    "delete_scope",
    "update_many",
]


def update_many(
    backend: Backend,
    embedder: Embedder,
    clock: Callable[[], float],
    categorize: Callable[[str], Sequence[str]],
    items: Sequence[Mapping[str, Any]],
    name: str,
) -> list[StoredMemory]:
    """Apply ``{"memory_id", "text"?, "metadata"?, "expiration_date"?}`` items, all or
    nothing; a changed text is re-embedded and re-categorised (``categorize``). An
    ``expiration_date`` of None clears the date (the memory shows again). An immutable
    memory is never changed: naming one fails the whole batch (ImmutableMemoryError)."""
    changes: list[tuple[str, str | None, dict[str, Any] | None]] = []
    dates: dict[str, str | None] = {}
    for i, item in enumerate(items):
        check_id(item.get("memory_id"), f"{name}[{i}].memory_id" if len(items) > 1 else "memory_id")
        unknown = set(item) - {"memory_id", "text", "metadata", "expiration_date"}
        if unknown:
            raise InvalidInputError(f"{name}[{i}]: unknown keys {sorted(unknown)}")
        text, metadata = item.get("text"), item.get("metadata")
        if text is not None:
            check_text(text, f"{name}[{i}].text")
        if text is None and metadata is None and "expiration_date" not in item:
            raise InvalidInputError(
                f"{name}[{i}] changes nothing: give text, metadata and/or expiration_date"
            )
        if "expiration_date" in item:
            dates[item["memory_id"]] = check_expiration_date(item["expiration_date"])
        clean = None if metadata is None else check_metadata(metadata)
        changes.append((item["memory_id"], None if text is None else text.strip(), clean))
    ids = [memory_id for memory_id, _, _ in changes]
    if len(set(ids)) != len(ids):
        raise InvalidInputError(f"{name} names the same memory_id more than once")
    with backend.write_lock:
        current = load(backend, ids)
        for memory_id in ids:
            if current[memory_id].immutable:
                raise ImmutableMemoryError(memory_id)
        new_texts = [t for memory_id, t, _ in changes if t and t != current[memory_id].memory]
        vectors = dict(zip(new_texts, embedder.embed(new_texts), strict=True))
        now = clock()
        writes = WriteSet()
        for memory_id, text, metadata in changes:
            old = current[memory_id]
            new = old.evolve(updated_at=max(now, old.created_at))
            if text is not None and text in vectors:
                new = new.evolve(
                    memory=text,
                    hash=text_hash(text),
                    embedding=vectors[text],
                    categories=list(dict.fromkeys(categorize(text))),
                )
            if metadata is not None:
                new = new.evolve(metadata=metadata)
            if memory_id in dates:
                new = new.evolve(expiration_date=dates[memory_id])
            writes.updates.append(new)
            writes.history.append(HistoryRow(memory_id, "UPDATE", old.memory, new.memory, new, now))
        backend.write(writes)
    return writes.updates


def batch_delete_ids(memories: Sequence[Mapping[str, Any]]) -> list[str]:
    """The ids of a ``batch_delete``: up to 1000 ``{"memory_id"}``, each named once."""
    items = check_batch(memories, "batch_delete")
    for i, item in enumerate(items):
        if set(item) != {"memory_id"}:
            raise InvalidInputError(f"batch_delete[{i}] takes only 'memory_id'")
    ids = [item["memory_id"] for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidInputError("batch_delete names the same memory_id more than once")
    return ids


def delete_ids(
    backend: Backend, clock: Callable[[], float], ids: Sequence[str], strict: bool
) -> int:
    """Delete the memories; ``strict``: an unknown id is an error and deletes nothing."""
    with backend.write_lock:
        found = load(backend, ids) if strict else backend.records.get_many(ids)
        now = clock()
        writes = WriteSet(deletes=list(found.values()))
        writes.history = [
            HistoryRow(m.id, "DELETE", m.memory, None, m, now) for m in writes.deletes
        ]
        backend.write(writes)
    return len(found)


def delete_scope(backend: Backend, clock: Callable[[], float], scope: Scope) -> int:
    """Delete every memory carrying all the scope's ids."""
    with backend.write_lock:
        ids = list(matching_ids(backend, to_chroma(scope_node(scope))))
        return delete_ids(backend, clock, ids, strict=False)


def delete_filtered(backend: Backend, clock: Callable[[], float], node: FilterNode | None) -> int:
    """Delete every memory the filter matches (``delete_all(filters=...)``). The filter
    must pin an entity (an id equality ANDed at its top), as the platform requires: a
    filter that could select every entity's memories is refused, ``reset()`` is for that."""
    scope, _ = entity_scope(node)
    if not scope:
        raise InvalidInputError(
            "delete_all needs user_id, agent_id, app_id or run_id, as a keyword or in filters "
            '(filters={"user_id": "alex"}); use reset() to delete everything'
        )
    with backend.write_lock:
        ids = list(matching_ids(backend, to_chroma(node)))
        return delete_ids(backend, clock, ids, strict=False)


def delete_entities(backend: Backend, clock: Callable[[], float], scope: Scope) -> int:
    """Delete every memory of each entity the scope names (of any of them, not all)."""
    with backend.write_lock:
        ids: list[str] = []
        for kind, column in ENTITY_FIELDS.items():
            value = scope.as_dict().get(column)
            if value is not None:
                ids.extend(backend.records.ids_of_entity(kind, value))
        return delete_ids(backend, clock, list(dict.fromkeys(ids)), strict=False)
