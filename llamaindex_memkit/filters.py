"""LlamaIndex ``MetadataFilters`` -> memkit's v2 filter language.

One pure function with an explicit operator table; memkit then validates and runs
the result. Keys name memkit's record fields (``user_id``, ``agent_id``,
``app_id``, ``run_id``, ``created_at``, ``updated_at``, ``categories``, ``text``);
any other key is a metadata key (``metadata.<key>`` forces that reading). These
are the keys ``MemkitRetriever`` puts in its nodes' metadata, so a filter written
against the nodes means the same thing here.

Example (``contains`` on ``categories`` matches a whole category name):

>>> from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters
>>> to_memkit_filter(MetadataFilters(filters=[
...     MetadataFilter(key="priority", value=3, operator=FilterOperator.GTE),
...     MetadataFilter(key="categories", value="food_preferences", operator="contains"),
... ]))
{'AND': [{'metadata': {'priority': {'gte': 3}}},
         {'categories': {'contains': 'food_preferences'}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from memkit.errors import InvalidFilterError
from memkit.filters import parse_filter
from memkit.models import ID_FIELDS

__all__ = ["resolve_filters", "to_memkit_filter"]

_ID_FIELDS = frozenset(ID_FIELDS)
_DATE_FIELDS = frozenset(("created_at", "updated_at"))
_TEXT_FIELDS = frozenset(("text", "keywords"))
_UNFILTERABLE = frozenset(("hash", "memory_id", "score"))

_COMPARE = {
    FilterOperator.EQ: "eq",
    FilterOperator.NE: "ne",
    FilterOperator.GT: "gt",
    FilterOperator.GTE: "gte",
    FilterOperator.LT: "lt",
    FilterOperator.LTE: "lte",
    FilterOperator.IN: "in",
    FilterOperator.NIN: "nin",
}
_SUBSTRING = {
    FilterOperator.TEXT_MATCH: "contains",
    FilterOperator.TEXT_MATCH_INSENSITIVE: "icontains",
}
# Which LlamaIndex operators each kind of key accepts, and the memkit operator.
_TABLE: dict[str, dict[FilterOperator, str]] = {
    "id": {
        op: _COMPARE[op]
        for op in (FilterOperator.EQ, FilterOperator.NE, FilterOperator.IN, FilterOperator.NIN)
    },
    "date": {
        op: _COMPARE[op]
        for op in (
            FilterOperator.EQ,
            FilterOperator.NE,
            FilterOperator.GT,
            FilterOperator.GTE,
            FilterOperator.LT,
            FilterOperator.LTE,
        )
    },
    "text": {**_SUBSTRING, FilterOperator.CONTAINS: "contains"},
    "categories": {
        FilterOperator.EQ: "eq",
        FilterOperator.NE: "ne",
        FilterOperator.CONTAINS: "contains",
        FilterOperator.ANY: "in",
        FilterOperator.IN: "in",
        FilterOperator.NIN: "nin",
        FilterOperator.ALL: "eq",
    },
    "metadata": {**_COMPARE, **_SUBSTRING},
}
_CONDITIONS = {FilterCondition.AND: "AND", FilterCondition.OR: "OR", FilterCondition.NOT: "NOT"}


def to_memkit_filter(filters: MetadataFilters) -> dict[str, Any]:
    """Translate; an operator a key cannot take is an ``InvalidFilterError`` naming where."""
    return _group(filters, ("filters",))


def resolve_filters(
    filters: MetadataFilters | Mapping[str, Any] | None,
) -> dict[str, Any] | None:
    """A component's ``filters=``: LlamaIndex filters translated, memkit ones kept; validated."""
    if filters is None:
        return None
    out = to_memkit_filter(filters) if isinstance(filters, MetadataFilters) else dict(filters)
    parse_filter(out)  # fail at construction, not at the first query
    return out or None


def _group(filters: MetadataFilters, path: tuple[str | int, ...]) -> dict[str, Any]:
    condition = _CONDITIONS.get(FilterCondition(filters.condition or FilterCondition.AND))
    if condition is None:
        raise InvalidFilterError(f"unknown condition {filters.condition!r}", path)
    if not filters.filters:
        raise InvalidFilterError("empty MetadataFilters", path)
    children = [
        _group(f, (*path, i)) if isinstance(f, MetadataFilters) else _one(f, (*path, i))
        for i, f in enumerate(filters.filters)
    ]
    if condition == "AND" and len(children) == 1:
        return children[0]
    return {condition: children}


def _one(item: MetadataFilter, path: tuple[str | int, ...]) -> dict[str, Any]:
    key, op = item.key, FilterOperator(item.operator)
    here = (*path, key)
    if key in _UNFILTERABLE:
        raise InvalidFilterError(f"{key!r} cannot be filtered on", here)
    if key.startswith("metadata.") and len(key) > len("metadata."):
        kind, name = "metadata", key[len("metadata.") :]
    elif key in _ID_FIELDS:
        kind, name = "id", key
    elif key in _DATE_FIELDS:
        kind, name = "date", key
    elif key in _TEXT_FIELDS:
        kind, name = "text", key
    elif key == "categories":
        kind, name = "categories", key
    else:
        kind, name = "metadata", key
    if op == FilterOperator.IS_EMPTY:
        present = {"metadata": {name: "*"}} if kind == "metadata" else {name: "*"}
        if kind == "text":
            raise InvalidFilterError("is_empty is not allowed on the memory text", here)
        return {"NOT": [present]}
    memkit_op = _TABLE[kind].get(op)
    if memkit_op is None:
        raise InvalidFilterError(f"operator {op.value!r} is not supported on {key!r}", here)
    value = list(item.value) if isinstance(item.value, list | tuple) else item.value
    if kind == "metadata":
        return {"metadata": {name: {memkit_op: value}}}
    return {name: {memkit_op: value}}
