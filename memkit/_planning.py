"""Turning an extractor's plan into a write set and the events ``add`` reports.

Pure: every input (the memories the extractor was shown, the vectors of the new
texts, the clock) is handed in, so the rules are testable without a store.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memkit._domain import HistoryRow, StoredMemory, WriteSet
from memkit._inputs import Scope
from memkit.errors import ExtractionError
from memkit.extract._interface import Operation, Side
from memkit.models import AddEvent

__all__ = ["AddRequest", "NewFact", "in_scope", "plan_writes", "text_hash"]


def text_hash(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AddRequest:
    """What one ``add`` call fixes for every memory it writes."""

    scope: Scope
    metadata: Mapping[str, Any]
    categories: Sequence[str] | None  # explicit categories override the extractor's
    created_at: float
    now: float
    # The platform's add options, given to every memory the add writes (ADD or UPDATE).
    immutable: bool = False
    expiration_date: str | None = None
    # The add's other platform options as given, kept with its messages for ``replay``.
    replay_options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewFact:
    """A verbatim memory (``infer=False``) or an ADD the extractor decided."""

    text: str
    side: Side
    categories: Sequence[str] = ()


def new_memory(fact: NewFact, vector: np.ndarray, request: AddRequest) -> StoredMemory:
    scope = request.scope.for_side(fact.side)
    categories = request.categories if request.categories is not None else fact.categories
    return StoredMemory(
        id=str(uuid.uuid4()),
        memory=fact.text,
        hash=text_hash(fact.text),
        user_id=scope.user_id,
        agent_id=scope.agent_id,
        app_id=scope.app_id,
        run_id=scope.run_id,
        metadata=dict(request.metadata),
        categories=list(dict.fromkeys(categories)),
        embedding=vector,
        created_at=request.created_at,
        updated_at=request.created_at,
        immutable=request.immutable,
        expiration_date=request.expiration_date,
    )


def in_scope(memory: StoredMemory, scope: Scope) -> bool:
    """Whether the memory carries every id the scope sets (the scope filter's equalities)."""
    ids = scope.as_dict()
    return bool(ids) and all(getattr(memory, name) == value for name, value in ids.items())


def event_for(memory: StoredMemory, event: str, previous: str | None = None) -> AddEvent:
    return AddEvent(
        id=memory.id,
        memory=memory.memory,
        event=event,  # type: ignore[arg-type]
        previous_memory=previous,
        user_id=memory.user_id,
        agent_id=memory.agent_id,
        app_id=memory.app_id,
        run_id=memory.run_id,
    )


def plan_writes(
    operations: Sequence[Operation],
    shown: Mapping[str, StoredMemory],
    vectors: Mapping[str, np.ndarray],
    request: AddRequest,
) -> tuple[WriteSet, list[AddEvent]]:
    """Apply the extractor's operations to the memories it was shown.

    An operation naming an id the extractor was not shown, or a memory outside the
    add's scope for the operation's side, is an ExtractionError and nothing is
    written: a model must never be able to touch another entity's memory by inventing
    an id, and a "forget everything" expands only to memories the add's own scope
    holds. Operations on one target after it was deleted or updated are ignored.

    An immutable memory is never changed: an UPDATE of it adds the new text as a memory
    of its own (the platform's "delete and re-add", without the delete) and a DELETE of
    it is reported as NONE. What the add writes carries its ``immutable`` flag and, when
    it gives one, its ``expiration_date``.
    """
    writes = WriteSet()
    events: list[AddEvent] = []
    touched: set[str] = set()
    for op in operations:
        if op.event == "ADD":
            if not op.text:
                continue
            memory = new_memory(NewFact(op.text, op.side, op.categories), vectors[op.text], request)
            writes.inserts.append(memory)
            writes.history.append(
                HistoryRow(memory.id, "ADD", None, memory.memory, memory, request.now)
            )
            events.append(event_for(memory, "ADD"))
            continue
        if op.target_id is None or op.target_id not in shown:
            raise ExtractionError(f"the extractor named an unknown memory id {op.target_id!r}")
        if not in_scope(shown[op.target_id], request.scope.for_side(op.side)):
            raise ExtractionError(
                f"the extractor named memory {op.target_id!r}, which is not in the "
                f"{op.side} side's scope of this add"
            )
        if op.target_id in touched:
            continue
        target = shown[op.target_id]
        if op.event == "NONE" or (op.event == "DELETE" and target.immutable):
            events.append(event_for(target, "NONE"))
            continue
        if op.event == "UPDATE" and target.immutable:
            if op.text and op.text != target.memory:
                fact = NewFact(op.text, op.side, op.categories)
                memory = new_memory(fact, vectors[op.text], request)
                writes.inserts.append(memory)
                writes.history.append(
                    HistoryRow(memory.id, "ADD", None, memory.memory, memory, request.now)
                )
                events.append(event_for(memory, "ADD"))
            else:
                events.append(event_for(target, "NONE"))
            continue
        touched.add(target.id)
        if op.event == "DELETE":
            writes.deletes.append(target)
            writes.history.append(
                HistoryRow(target.id, "DELETE", target.memory, None, target, request.now)
            )
            events.append(event_for(target, "DELETE"))
        elif op.event == "UPDATE" and op.text:
            categories = (
                request.categories
                if request.categories is not None
                else (op.categories or target.categories)
            )
            updated = target.evolve(
                memory=op.text,
                hash=text_hash(op.text),
                embedding=vectors[op.text],
                categories=list(dict.fromkeys(categories)),
                metadata={**target.metadata, **request.metadata},
                updated_at=max(request.now, target.created_at),
                immutable=request.immutable,
                expiration_date=request.expiration_date or target.expiration_date,
            )
            writes.updates.append(updated)
            writes.history.append(
                HistoryRow(target.id, "UPDATE", target.memory, updated.memory, updated, request.now)
            )
            events.append(event_for(updated, "UPDATE", previous=target.memory))
    return writes, events
