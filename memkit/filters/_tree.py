"""The filter tree, and the value rules every stage of the filter language shares.

Parsing produces this tree, evaluation walks it and the Chroma translation compiles it:
defining the fields, the operators and how a number or a date compares once, here, is what
keeps the three from disagreeing (the property tests hold evaluation and Chroma equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from memkit._values import DATE_FIELDS, ID_FIELDS, as_utc, metadata_number, record_epoch

__all__ = [
    "DATE_FIELDS",
    "FIELDS",
    "ID_FIELDS",
    "LIST_OPS",
    "OPERATORS",
    "RANGE_OPS",
    "SUBSTRING_OPS",
    "TEXT_FIELDS",
    "And",
    "Cond",
    "FilterNode",
    "Not",
    "Or",
    "all_of",
    "as_utc",
    "conjoin",
    "entity_scope",
    "metadata_number",
    "record_epoch",
    "referenced_fields",
]

TEXT_FIELDS = ("text", "keywords")
FIELDS = frozenset((*ID_FIELDS, *DATE_FIELDS, *TEXT_FIELDS, "categories", "metadata"))
OPERATORS = frozenset(("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains", "icontains"))
RANGE_OPS = frozenset(("gt", "gte", "lt", "lte"))
LIST_OPS = frozenset(("in", "nin"))
SUBSTRING_OPS = frozenset(("contains", "icontains"))


@dataclass(frozen=True)
class And:
    """All children match."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Or:
    """At least one child matches."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Not:
    """No child matches (``NOT [a, b]`` = neither a nor b)."""

    children: tuple[FilterNode, ...]


@dataclass(frozen=True)
class Cond:
    """One test on one field; ``key`` names the metadata key when ``field == "metadata"``.

    ``op`` is one of :data:`OPERATORS` or ``"exists"``; list values are tuples and dates are
    epoch seconds.
    """

    field: str
    op: str
    value: Any
    key: str | None = None


FilterNode: TypeAlias = And | Or | Not | Cond


def conjoin(nodes: Sequence[FilterNode]) -> FilterNode:
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def all_of(nodes: Iterable[FilterNode | None]) -> FilterNode | None:
    """AND of the non-None nodes, flattening nested ANDs; None when there are none."""
    flat: list[FilterNode] = []
    for node in nodes:
        if isinstance(node, And):
            flat.extend(node.children)
        elif node is not None:
            flat.append(node)
    if not flat:
        return None
    return conjoin(flat)


def referenced_fields(node: FilterNode | None) -> set[str]:
    """Every field a filter tests (``text`` and ``keywords`` stay as written)."""
    return {cond.field for cond in _conditions(node)}


def _conditions(node: FilterNode | None) -> Iterator[Cond]:
    if isinstance(node, Cond):
        yield node
    elif node is not None:
        for child in node.children:
            yield from _conditions(child)


def entity_scope(node: FilterNode | None) -> tuple[dict[str, str], bool]:
    """The entity ids every match must carry, and whether the filter is nothing else.

    The ids are the equalities on id fields ANDed at the top (``user_id == "alex"``);
    the store answers such scopes from an indexed lookup. Two values for one field
    give ``({}, False)``: nothing can match, and the general path says so.
    """
    conditions = node.children if isinstance(node, And) else () if node is None else (node,)
    scope: dict[str, str] = {}
    only = True
    for cond in conditions:
        if isinstance(cond, Cond) and cond.field in ID_FIELDS and cond.op == "eq":
            if not isinstance(cond.value, str) or scope.get(cond.field, cond.value) != cond.value:
                return {}, False
            scope[cond.field] = cond.value
        else:
            only = False
    return scope, only
