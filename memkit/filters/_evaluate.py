"""Evaluation of a filter tree on a plain record: the reference semantics.

The Chroma translation is tested against this evaluator (the property tests), and the
store runs it on whatever part of a filter Chroma cannot decide exactly, so it stays small,
pure and obviously right rather than fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memkit.errors import InvalidFilterError
from memkit.filters._fold import fold_text
from memkit.filters._tree import (
    DATE_FIELDS,
    ID_FIELDS,
    SUBSTRING_OPS,
    TEXT_FIELDS,
    And,
    Cond,
    FilterNode,
    Not,
    Or,
    metadata_number,
    record_epoch,
)

__all__ = ["evaluate"]


def evaluate(node: FilterNode, record: Mapping[str, Any]) -> bool:
    """Whether a plain record matches; the reference the Chroma translation is tested against.

    ``record`` has ``memory``, the four ids (str or None), ``metadata`` (dict), ``categories``
    (list of str) and ``created_at`` / ``updated_at`` (datetime or epoch seconds).
    """
    if isinstance(node, And):
        return all(evaluate(child, record) for child in node.children)
    if isinstance(node, Or):
        return any(evaluate(child, record) for child in node.children)
    if isinstance(node, Not):
        return not any(evaluate(child, record) for child in node.children)
    if isinstance(node, Cond):
        return _evaluate_cond(node, record)
    raise InvalidFilterError(f"not a filter node: {node!r}")


def _evaluate_cond(cond: Cond, record: Mapping[str, Any]) -> bool:
    op, want = cond.op, cond.value
    if cond.field in ID_FIELDS:
        return _compare(op, record.get(cond.field) or None, want, _same)
    if cond.field in DATE_FIELDS:
        return _compare(op, record_epoch(record.get(cond.field)), want, _same_number)
    if cond.field in TEXT_FIELDS:
        return _substring(op, record.get("memory") or "", want)
    if cond.field == "categories":
        have = set(record.get("categories") or ())
        if op == "exists":
            return bool(have)
        if op in ("in", "nin"):
            return bool(have.intersection(want)) == (op == "in")
        return (want in have) == (op == "contains")
    if cond.field == "metadata":
        value = (record.get("metadata") or {}).get(cond.key)
        if op in SUBSTRING_OPS:
            return isinstance(value, str) and _substring(op, value, want)
        return _compare(op, value, want, _same)
    raise InvalidFilterError(f"unknown field {cond.field!r}", (cond.field,))


def _compare(op: str, have: Any, want: Any, same: Any) -> bool:
    if op == "exists":
        return have is not None
    if op in ("eq", "ne"):
        return (have is not None and same(have, want)) == (op == "eq")
    if op in ("in", "nin"):
        return (have is not None and any(same(have, w) for w in want)) == (op == "in")
    left, right = metadata_number(have), metadata_number(want)
    if left is None or right is None:
        return False
    match op:
        case "gt":
            return left > right
        case "gte":
            return left >= right
        case "lt":
            return left < right
        case "lte":
            return left <= right
    raise InvalidFilterError(f"unknown operator {op!r}", (op,))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return isinstance(a, str) and isinstance(b, str) and a == b
    return _same_number(a, b)


def _same_number(a: Any, b: Any) -> bool:
    left, right = metadata_number(a), metadata_number(b)
    return left is not None and left == right


def _substring(op: str, text: str, needle: str) -> bool:
    if op == "contains":
        return needle in text
    if op == "icontains":
        return fold_text(needle) in fold_text(text)
    raise InvalidFilterError(f"{op} is not a substring operator", (op,))
