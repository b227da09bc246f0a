"""Exact answers for filters that pin one entity with few memories, from the record store.

Measured with chromadb 1.5.9 (embedded): a query filtered to one user's memories costs about
as much as scanning the collection, not the user's memories: 1.1 ms at 1k memories, 4 ms at
10k and 40 ms at 50k for a user with 1, 10 or 50 memories (unfiltered: 0.5 to 1.3 ms), and
``get(where=...)`` grows the same way. Agents search one user's memories almost always, so
when the pushed-down ``where`` pins every record to one entity id (``user_id == "alex"``, ANDed
with anything) and that entity has at most :data:`EXACT_LIMIT` memories, the index reads those
rows from the record store (an indexed lookup), decides the rest of ``where`` /
``where_document`` here, and ranks by exact cosine similarity. The cost then follows the
entity's memories, and the ranking is exact where Chroma's HNSW is approximate.

The rows are selected with the filter tree's own evaluator (``ChromaFilter.source`` and
``memkit.filters.evaluate``), which the property tests hold equal to what Chroma answers
for the translated filter; a hand-made Chroma filter with no tree goes to Chroma.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memkit.filters._chroma import ChromaFilter
from memkit.filters._language import entity_scope, evaluate
from memkit.store._index import IndexQuery
from memkit.store._records import RecordStore

__all__ = ["EXACT_LIMIT", "Candidates", "candidates"]

# Above this many memories in the scope, Chroma's query is as fast as reading the rows here.
EXACT_LIMIT = 1000


@dataclass(frozen=True)
class Candidates:
    """The memories a filter selects: ids, their ``updated_at`` and their embeddings."""

    ids: list[str]
    stamps: list[float]
    matrix: np.ndarray  # one row per id

    def nearest(self, vectors: Sequence[Any], n: int) -> list[list[tuple[str, float]]]:
        """(id, cosine similarity) of the ``n`` most similar, per query vector, best first."""
        if not self.ids:
            return [[] for _ in vectors]
        queries = np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
        rows = self.matrix / np.maximum(np.linalg.norm(self.matrix, axis=1, keepdims=True), 1e-12)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
        scores = queries @ rows.T
        out = []
        for row in scores:
            order = np.argsort(-row, kind="stable")[:n]
            out.append([(self.ids[i], float(row[i])) for i in order])
        return out


def candidates(
    records: RecordStore, where: IndexQuery, ids: Sequence[str] | None = None
) -> Candidates | None:
    """Exactly the memories ``where`` and ``where_document`` (and ``ids``) select, or None to
    ask Chroma instead. Like Chroma, this ignores ``where.residual``: that is the caller's."""
    source = where.source if isinstance(where, ChromaFilter) else None
    if ids is not None:
        if len(ids) > EXACT_LIMIT:
            return None
        rows = list(records.get_many(list(ids)).values())
    else:
        scope, plain = entity_scope(source)
        if not scope:
            return None
        if plain:
            light = records.scoped_vectors(scope, EXACT_LIMIT)
            return None if light is None else _pack(light)
        found = records.scoped(scope, EXACT_LIMIT)
        if found is None:
            return None
        rows = found
    if source is None and (where.where is not None or where.where_document is not None):
        return None  # a hand-made Chroma filter: only Chroma decides it
    # The filter tree's own evaluator: translation and evaluation agree (property-tested).
    kept = [m for m in rows if source is None or evaluate(source, m.as_filter_record())]
    return _pack([(m.id, m.updated_at, m.embedding) for m in kept])


def _pack(rows: Sequence[tuple[str, float, Any]]) -> Candidates | None:
    if not rows:
        return Candidates([], [], np.zeros((0, 0), dtype=np.float32))
    vectors = [np.frombuffer(v, dtype=np.float32) if isinstance(v, bytes) else v for *_, v in rows]
    if len({len(v) for v in vectors}) != 1:
        return None
    return Candidates([r[0] for r in rows], [r[1] for r in rows], np.vstack(vectors))
