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

:func:`where_matches` and :func:`document_matches` decide Chroma's filter language with the
semantics ``memkit.filter_chroma`` measured and relies on (types never cross, ``$ne`` / ``$nin``
hold for a missing key, substring tests are case-sensitive). What they do not decide exactly
(regular expressions; a float compared with an int, which Chroma truncates) raises
:class:`Unsupported`, and the index asks Chroma instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from memkit.filter_chroma import ChromaFilter, chroma_metadata
from memkit.filters import ID_FIELDS
from memkit.store.records import RecordStore, StoredMemory

__all__ = ["EXACT_LIMIT", "Candidates", "Unsupported", "candidates", "where_matches"]

# Above this many memories in the scope, Chroma's query is as fast as reading the rows here.
EXACT_LIMIT = 1000

_RANGES = {
    "$gt": lambda a, b: a > b,
    "$gte": lambda a, b: a >= b,
    "$lt": lambda a, b: a < b,
    "$lte": lambda a, b: a <= b,
}


class Unsupported(Exception):
    """A clause these evaluators cannot decide exactly as Chroma does."""


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
    records: RecordStore, where: ChromaFilter, ids: Sequence[str] | None = None
) -> Candidates | None:
    """Exactly the memories ``where`` and ``where_document`` (and ``ids``) select, or None to
    ask Chroma instead. Like Chroma, this ignores ``where.residual``: that is the caller's."""
    if ids is not None:
        if len(ids) > EXACT_LIMIT:
            return None
        rows = list(records.get_many(list(ids)).values())
    else:
        scope = scope_of(where.where)
        if not scope:
            return None
        plain = where.where_document is None and _is_scope_only(where.where)
        if plain:
            light = records.scoped_vectors(scope, EXACT_LIMIT)
            return None if light is None else _pack(light)
        found = records.scoped(scope, EXACT_LIMIT)
        if found is None:
            return None
        rows = found
    try:
        kept = [m for m in rows if _selects(where, m)]
    except Unsupported:
        return None
    return _pack([(m.id, m.updated_at, m.embedding) for m in kept])


def _selects(where: ChromaFilter, memory: StoredMemory) -> bool:
    if where.where is not None and not where_matches(
        where.where, chroma_metadata(memory.as_filter_record())
    ):
        return False
    return where.where_document is None or document_matches(where.where_document, memory.memory)


def _pack(rows: Sequence[tuple[str, float, Any]]) -> Candidates | None:
    if not rows:
        return Candidates([], [], np.zeros((0, 0), dtype=np.float32))
    vectors = [np.frombuffer(v, dtype=np.float32) if isinstance(v, bytes) else v for *_, v in rows]
    if len({len(v) for v in vectors}) != 1:
        return None
    return Candidates([r[0] for r in rows], [r[1] for r in rows], np.vstack(vectors))


def scope_of(where: Mapping[str, Any] | None) -> dict[str, str]:
    """The entity ids every match must carry: ``$eq`` on an id field at the top-level AND."""
    if where is None:
        return {}
    clauses = where["$and"] if list(where) == ["$and"] else [where]
    scope: dict[str, str] = {}
    for clause in clauses:
        if len(clause) != 1:
            continue
        ((key, test),) = clause.items()
        if key in ID_FIELDS and isinstance(test, Mapping) and list(test) == ["$eq"]:
            value = test["$eq"]
            if isinstance(value, str) and value:
                if scope.get(key, value) != value:
                    return {}  # two different ids for one field: Chroma finds nothing either
                scope[key] = value
    return scope


def _is_scope_only(where: Mapping[str, Any]) -> bool:
    clauses = where["$and"] if list(where) == ["$and"] else [where]
    return len(scope_of(where)) == len(clauses)


def where_matches(where: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    """Chroma's verdict on ``where`` for a record with this metadata."""
    if len(where) != 1:
        raise Unsupported(f"a where clause needs exactly one key: {where!r}")
    ((key, test),) = where.items()
    if key == "$and":
        return all(where_matches(c, metadata) for c in test)
    if key == "$or":
        return any(where_matches(c, metadata) for c in test)
    if not isinstance(test, Mapping) or len(test) != 1:
        raise Unsupported(f"unexpected where clause: {where!r}")
    ((op, wanted),) = test.items()
    present = key in metadata
    value = metadata.get(key)
    if op in ("$eq", "$ne"):
        hit = present and _equal(wanted, value)
        return hit if op == "$eq" else not hit
    if op in ("$in", "$nin"):
        hit = present and any(_equal(w, value) for w in wanted)
        return hit if op == "$in" else not hit
    if op in _RANGES:
        if not present or not _number(wanted) or not _number(value):
            return False
        _check_mix(wanted, value)
        return _RANGES[op](float(value), float(wanted))
    raise Unsupported(f"unexpected operator {op!r}")


def document_matches(where: Mapping[str, Any], text: str) -> bool:
    """Chroma's verdict on ``where_document`` for a record with this text."""
    if len(where) != 1:
        raise Unsupported(f"a where_document clause needs exactly one key: {where!r}")
    ((op, value),) = where.items()
    if op == "$and":
        return all(document_matches(c, text) for c in value)
    if op == "$or":
        return any(document_matches(c, text) for c in value)
    if op == "$contains":
        return value in text
    if op == "$not_contains":
        return value not in text
    raise Unsupported(f"{op} is decided by Chroma")  # $regex: Rust's regex syntax, not Python's


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_mix(wanted: Any, value: Any) -> None:
    """Chroma truncates a float filter compared with an int value; that stays Chroma's call."""
    if isinstance(wanted, float) and isinstance(value, int):
        raise Unsupported("float filter against an int value")


def _equal(wanted: Any, value: Any) -> bool:
    if isinstance(wanted, bool) or isinstance(value, bool):
        return isinstance(wanted, bool) and isinstance(value, bool) and wanted == value
    if isinstance(wanted, str) or isinstance(value, str):
        return isinstance(wanted, str) and isinstance(value, str) and wanted == value
    if _number(wanted) and _number(value):
        _check_mix(wanted, value)
        return float(wanted) == float(value)
    raise Unsupported(f"cannot compare {wanted!r} with {value!r}")
