"""The write path of ``add``: from parsed messages to the writes of one transaction.

Verbatim adds (``infer=False``) store each message as it is, once per entity and
metadata. Inferred adds ask the extractor for a plan; the plan is made without the
store's write lock, so that a slow model (one LLM call per add) does not hold up every
other write, and written only if no memory of the scope changed while it was made.
A failed extraction writes nothing and keeps the add for ``replay()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memkit._content import openai_content
from memkit._domain import HistoryRow, StoredMemory, WriteSet
from memkit._embedder import Embedder
from memkit._inputs import Scope, admit_operations
from memkit._lookup import StoreLookup
from memkit._monitoring import current_outcome
from memkit._planning import AddRequest, NewFact, event_for, new_memory, plan_writes, text_hash
from memkit._usage import add_counts
from memkit.errors import ExtractionError
from memkit.extract._interface import Extractor, Side
from memkit.store._backend import Backend

__all__ = ["PLAN_TRIES", "add_inferred", "add_verbatim"]

# Plans made without the write lock before an add plans holding it: each is wasted only
# when the same entity was written while it was made.
PLAN_TRIES = 2


def add_verbatim(
    backend: Backend,
    embedder: Embedder,
    messages: Sequence[Any],
    scope: Scope,
    request: AddRequest,
) -> list[Any]:
    """Store each message of a side being written as it is; a known one is a NONE."""
    with backend.write_lock:
        writes, events = _verbatim(backend, embedder, messages, scope, request)
        backend.write(writes)
    return events


def _verbatim(
    backend: Backend,
    embedder: Embedder,
    messages: Sequence[Any],
    scope: Scope,
    request: AddRequest,
) -> tuple[WriteSet, list[Any]]:
    sides = scope.sides()
    facts = [
        NewFact(m.content.strip(), m.role)
        for m in messages
        if m.role in sides and m.content.strip()
    ]
    facts = list({(f.text, f.side): f for f in facts}.values())
    known = _known_hashes(backend, facts, scope, request.metadata)
    fresh = [f for f in facts if (text_hash(f.text), f.side) not in known]
    vectors = embedder.embed([f.text for f in fresh])
    writes, events = WriteSet(), []
    for fact in facts:
        duplicate = known.get((text_hash(fact.text), fact.side))
        if duplicate is not None:
            events.append(event_for(duplicate, "NONE"))
    for fact, vector in zip(fresh, vectors, strict=True):
        memory = new_memory(fact, vector, request)
        writes.inserts.append(memory)
        writes.history.append(
            HistoryRow(memory.id, "ADD", None, memory.memory, memory, request.now)
        )
        events.append(event_for(memory, "ADD"))
    return writes, events


def _known_hashes(
    backend: Backend, facts: Sequence[NewFact], scope: Scope, metadata: Mapping[str, Any]
) -> dict[tuple[str, Side], StoredMemory]:
    """Existing memories of the same entity with the same text and metadata.

    Adding one again is a NONE; the same text under other metadata (another LangGraph
    store key, say) is a memory of its own.
    """
    found: dict[tuple[str, Side], StoredMemory] = {}
    for side in {f.side for f in facts}:
        hashes = [text_hash(f.text) for f in facts if f.side == side]
        for memory in backend.records.find_by_hash(hashes, scope.for_side(side).as_full_dict()):
            if memory.metadata == metadata:
                found[(memory.hash, side)] = memory
    return found


def add_inferred(
    backend: Backend,
    embedder: Embedder,
    extractor: Extractor,
    messages: Sequence[Any],
    scope: Scope,
    request: AddRequest,
    timestamp: Any,
) -> list[Any]:
    """Plan without the store's write lock, so that a slow model (one LLM call per add)
    does not hold up every other write; write the plan only if no memory of the scope
    was written while it was made. Otherwise plan again from what is there now, and
    after PLAN_TRIES plans, plan holding the lock."""

    def state() -> list[tuple[int, ...]]:
        return [backend.writes_to(scope.for_side(s).as_dict()) for s in scope.sides()]

    def infer() -> tuple[WriteSet, list[Any]]:
        return _infer(backend, embedder, extractor, messages, scope, request, timestamp)

    for _ in range(PLAN_TRIES):
        seen = state()
        writes, events = infer()
        with backend.write_lock:
            if state() == seen:
                backend.write(writes)
                return events
    with backend.write_lock:
        writes, events = infer()
        backend.write(writes)
        return events


def _infer(
    backend: Backend,
    embedder: Embedder,
    extractor: Extractor,
    messages: Sequence[Any],
    scope: Scope,
    request: AddRequest,
    timestamp: Any = None,
) -> tuple[WriteSet, list[Any]]:
    """Plan with the extractor and turn the plan into writes. When extraction fails for
    good nothing is written: the messages and the add's options are kept in the
    ``pending_extractions`` table and the ExtractionError carries their ``pending_id``
    (see ``pending()`` / ``replay()``). The extractor's cost goes to the activity log."""
    lookup = StoreLookup(backend, embedder, scope)
    try:
        plan = extractor.plan(messages, scope.sides(), lookup)
        add_counts(current_outcome().counts, plan.usage)
        operations = admit_operations(plan.operations)
        texts = [op.text for op in operations if op.event in ("ADD", "UPDATE") and op.text]
        vectors = lookup.vectors_for(texts)
        return plan_writes(operations, lookup.shown, vectors, request)
    except ExtractionError as exc:
        add_counts(current_outcome().counts, exc.usage)
        options = {
            **scope.as_dict(),
            "metadata": dict(request.metadata),
            "categories": None if request.categories is None else list(request.categories),
            "timestamp": None if timestamp is None else request.created_at,
            **request.replay_options,
        }
        exc.pending_id = backend.records.pending.keep(
            [_as_given(m) for m in messages], options, str(exc)
        )
        raise


def _as_given(message: Any) -> dict[str, Any]:
    """A message as ``add`` takes it, content parts included, for ``replay``."""
    row: dict[str, Any] = message.model_dump(exclude_none=True, exclude={"parts"})
    row["content"] = openai_content(message.content, message.parts)
    return row
