"""What an extractor sees of the store: the entity's existing memories.

``StoreLookup`` is the ExtractionContext of one ``add``. It remembers every memory
it showed (only those may be updated or deleted by the plan) and every vector it
computed, so a fact looked up and then added is embedded once. What a spoken delete
removes ("forget everything", "delete my food preferences") is decided on the record
store's memories, the system of record, never on the index's copy of them alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memkit._domain import StoredMemory
from memkit._embedder import Embedder
from memkit._inputs import Scope
from memkit.errors import InvalidInputError
from memkit.extract._interface import ExistingMemory, Side
from memkit.filters._chroma import to_chroma
from memkit.filters._language import all_of, evaluate, parse_filter
from memkit.search._candidates import matching_ids, scope_node
from memkit.store._backend import Backend

__all__ = ["SIMILAR_PER_TEXT", "StoreLookup", "matching_ids", "scope_node"]

SIMILAR_PER_TEXT = 10


class StoreLookup:
    def __init__(self, backend: Backend, embedder: Embedder, scope: Scope) -> None:
        self._backend = backend
        self._embedder = embedder
        self._scope = scope
        self.shown: dict[str, StoredMemory] = {}
        self._vectors: dict[str, np.ndarray] = {}

    def vectors_for(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of ``texts``, embedding only those not seen yet, in one call."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            self._vectors.update(zip(missing, self._embedder.embed(missing), strict=True))
        return {t: self._vectors[t] for t in texts}

    def similar(self, texts: Sequence[str], side: Side) -> list[list[ExistingMemory]]:
        if not texts:
            return []
        vectors = self.vectors_for(texts)
        where = to_chroma(scope_node(self._scope.for_side(side)))
        hits = self._backend.index.query_many([vectors[t] for t in texts], where, SIMILAR_PER_TEXT)
        found = self._remember({memory_id for row in hits for memory_id, _ in row})
        return [[_existing(found[i], score) for i, score in row if i in found] for row in hits]

    def in_categories(self, categories: Sequence[str], side: Side) -> list[ExistingMemory]:
        if not categories:
            return []
        node = all_of(
            [
                scope_node(self._scope.for_side(side)),
                parse_filter({"categories": {"in": list(categories)}}),
            ]
        )
        # The index proposes, the record store decides: a memory is deleted by topic only if
        # its stored categories name the topic, however stale the index's copy of them.
        assert node is not None
        proposed = self._backend.records.get_many(
            sorted(matching_ids(self._backend, to_chroma(node)))
        )
        found = {i: m for i, m in proposed.items() if evaluate(node, m.as_filter_record())}
        self.shown.update(found)
        return [_existing(m, 1.0) for m in sorted(found.values(), key=lambda m: m.created_at)]

    def all_memories(self, side: Side) -> list[ExistingMemory]:
        """Every memory of the side's scope, read from the record store (the system of
        record: a memory not yet in the index is erased too). An empty scope would be
        every memory of the store, so it is refused rather than listed."""
        scope = self._scope.for_side(side).as_dict()
        if not scope:
            raise InvalidInputError("listing a side's memories needs at least one entity id")
        found = self._remember(set(self._backend.records.hashes_of_scope(scope)))
        ordered = sorted(found.values(), key=lambda m: (m.created_at, m.id))
        return [_existing(m, 1.0) for m in ordered]

    def _remember(self, ids: set[str]) -> dict[str, StoredMemory]:
        found = self._backend.records.get_many(sorted(ids))
        self.shown.update(found)
        return found


def _existing(memory: StoredMemory, score: float) -> ExistingMemory:
    return ExistingMemory(
        id=memory.id, text=memory.memory, categories=tuple(memory.categories), score=score
    )
