"""The candidates of a read: the memories one scope, or one translated filter, selects.

Everything above (search, the extraction context, listing and deleting) selects memories
through these two functions, so scope ids are compared literally everywhere, and what
Chroma cannot decide is decided on the records the same way everywhere.
"""

from __future__ import annotations

from typing import Protocol

from memkit.filters._chroma import ChromaFilter
from memkit.filters._language import Cond, FilterNode, all_of, evaluate
from memkit.store._backend import Backend

__all__ = ["matching_ids", "scope_node"]


class _Ids(Protocol):
    """A scope: the entity ids it sets (``memkit._inputs.Scope``)."""

    def as_dict(self) -> dict[str, str]: ...


def scope_node(scope: _Ids) -> FilterNode | None:
    """The filter that selects exactly the memories carrying all of the scope's ids.

    Built as literal equalities, never parsed: a scope id is an identity, so ``"*"`` (the
    filter language's "any value") names the entity called ``*`` and no other.
    """
    return all_of(Cond(name, "eq", value) for name, value in scope.as_dict().items())


def matching_ids(backend: Backend, chroma: ChromaFilter) -> dict[str, int]:
    """id -> revision (updated_at in microseconds) of every memory matching a translated filter.

    Chroma evaluates what was pushed down; the residual is evaluated here on the
    records, so the result is exactly the filter's.
    """
    stamps = backend.index.matching(chroma)
    if chroma.residual is None:
        return stamps
    records = backend.records.get_many(list(stamps))
    return {
        i: stamp
        for i, stamp in stamps.items()
        if i in records and evaluate(chroma.residual, records[i].as_filter_record())
    }
