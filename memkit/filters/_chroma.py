"""Translate a filter tree (``memkit.filters``) to Chroma 1.5.9 ``where`` / ``where_document``.

Pure: no client, no I/O. Guarantee of :func:`to_chroma`: a record matches the tree exactly when
it matches ``where`` AND ``where_document`` AND (``residual`` is None or ``evaluate(residual)``).
What Chroma cannot decide exactly stays in ``residual``; the pushed-down part is then still a
necessary condition, so it only narrows.

Index layout, one Chroma record per memory (:func:`chroma_metadata`); the document is the text:

- ``user_id`` / ``agent_id`` / ``app_id`` / ``run_id``: str, ``""`` when null.
- ``created_at`` / ``updated_at``: float epoch seconds, ``""`` when null (a str never passes a
  numeric range, so ``NOT gte t`` is exactly ``lt t OR == ""``).
- ``cat:<name>``: True per category; ``n_categories``: int (for ``categories: "*"``).
- ``md:<key>``: each metadata value as given; ``num:<key>``: float of int/float values (not
  bools), which numeric comparisons use (see the int-vs-float measurement below).

Measured on chromadb 1.5.9 (embedded), and relied on here:

- ``$ne`` / ``$nin`` match records without the key, and values of another type (``"x" $ne 5``).
- ``$eq`` / ``$in`` / ranges never match a value of another type; bool ≠ int both ways
  (``True $eq 1`` and ``1 $eq True`` are false, ``True $gt 0`` false); ranges on a str are false.
- int vs float: an int filter against a float value compares as float; but a float filter
  against an int value is truncated (``1 $eq 1.5``, ``1 $gte 1.5`` are true; ``-1 $gt -1.5``
  is false). Hence ``num:<key>``: float against float is exact.
- ``$in`` / ``$nin`` need a non-empty list of one type; ``$and`` / ``$or`` need ≥ 2 children.
  ``in: []`` is therefore "match nothing", sent as :data:`MATCH_NONE`.
- ``where_document`` ``$contains`` / ``$not_contains`` are case-sensitive literal substring
  tests (``%`` and ``_`` are literal, one-character needles work, ``""`` is rejected).
- ``$regex`` / ``$not_regex`` are unanchored Rust-regex searches. ``(?i)`` works, with simple
  case folding (``(?i)ß`` matches ``ẞ`` but not ``ss``; ``(?i)i`` misses ``İ``). ``icontains``
  sends explicit classes from :func:`memkit.filters._fold.fold_class` instead
  (``[Kk\\x{212A}]``), so Python's tables, not the Rust crate's Unicode version, define the match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

from memkit.errors import InvalidFilterError
from memkit.filters._fold import fold_class
from memkit.filters._tree import (
    DATE_FIELDS,
    ID_FIELDS,
    TEXT_FIELDS,
    And,
    Cond,
    FilterNode,
    Not,
    Or,
    all_of,
    metadata_number,
)
from memkit.store._layout import chroma_metadata

__all__ = ["MATCH_NONE", "ChromaFilter", "chroma_metadata", "to_chroma"]

# Always false, whatever the record holds: Chroma has no literal false.
MATCH_NONE: dict[str, Any] = {"$and": [{"user_id": {"$eq": ""}}, {"user_id": {"$ne": ""}}]}

# A pushed-down clause, or True (no constraint) / False (matches nothing).
Clause: TypeAlias = dict[str, Any] | bool

_CHROMA_OP = {
    "eq": "$eq",
    "ne": "$ne",
    "in": "$in",
    "nin": "$nin",
    "gt": "$gt",
    "gte": "$gte",
    "lt": "$lt",
    "lte": "$lte",
}
_NEGATED = {
    "eq": "ne",
    "ne": "eq",
    "in": "nin",
    "nin": "in",
    "gt": "lte",
    "lte": "gt",
    "gte": "lt",
    "lt": "gte",
    "contains": "ne",  # categories: has it <-> has it not
}


@dataclass(frozen=True)
class ChromaFilter:
    """Arguments for ``collection.get`` / ``query``, plus what Python must still check.

    Example::

        f = to_chroma(parse_filter({"user_id": "alex"}))
        ids = collection.get(where=f.where, where_document=f.where_document)["ids"]
    """

    where: dict[str, Any] | None
    where_document: dict[str, Any] | None
    residual: FilterNode | None
    # The filter this was translated from: whoever answers without Chroma evaluates it.
    source: FilterNode | None = dataclasses.field(default=None, compare=False)


@dataclass(frozen=True)
class _Part:
    """``node ⟺ where ∧ doc ∧ residual`` for one subtree."""

    where: Clause = True
    doc: Clause = True
    residual: FilterNode | None = None

    @property
    def is_false(self) -> bool:
        return self.where is False or self.doc is False

    @property
    def is_true(self) -> bool:
        return self.where is True and self.doc is True and self.residual is None


_TRUE = _Part()
_FALSE = _Part(where=False)


def to_chroma(node: FilterNode | None) -> ChromaFilter:
    """Push down everything Chroma decides exactly; the rest comes back as ``residual``."""
    if node is None:
        return ChromaFilter(None, None, None)
    part = _translate(node, negate=False)
    if part.where is False or part.doc is False:  # part.is_false, spelled out for mypy
        return ChromaFilter(MATCH_NONE, None, None, node)
    return ChromaFilter(
        None if part.where is True else part.where,
        None if part.doc is True else part.doc,
        part.residual,
        node,
    )


def _translate(node: FilterNode, negate: bool) -> _Part:
    """``negate`` pushes a NOT down (De Morgan) to the leaves, which negate their operator."""
    if isinstance(node, Cond):
        handler = _LEAF.get(_kind(node.field))
        if handler is None:
            raise InvalidFilterError(f"cannot translate field {node.field!r}", (node.field,))
        return handler(node, negate)
    if isinstance(node, And):
        if negate:
            return _disj([_translate(c, True) for c in node.children], Not((node,)))
        return _conj([_translate(c, False) for c in node.children])
    if isinstance(node, Or):
        if negate:
            return _conj([_translate(c, True) for c in node.children])
        return _disj([_translate(c, False) for c in node.children], node)
    if isinstance(node, Not):
        if negate:
            return _disj([_translate(c, False) for c in node.children], Or(node.children))
        return _conj([_translate(c, True) for c in node.children])
    raise InvalidFilterError(f"not a filter node: {node!r}")


def _conj(parts: Sequence[_Part]) -> _Part:
    if any(p.is_false for p in parts):
        return _FALSE
    return _Part(
        _and([p.where for p in parts]),
        _and([p.doc for p in parts]),
        all_of(p.residual for p in parts),
    )


def _disj(parts: Sequence[_Part], source: FilterNode) -> _Part:
    live = [p for p in parts if not p.is_false]
    if not live:
        return _FALSE
    if any(p.is_true for p in live):
        return _TRUE
    if all(p.residual is None and p.doc is True for p in live):
        return _Part(where=_or([p.where for p in live]))
    if all(p.residual is None and p.where is True for p in live):
        return _Part(doc=_or([p.doc for p in live]))
    # Mixed: each branch implies its own where/doc, so their ORs are necessary conditions.
    return _Part(_or([p.where for p in live]), _or([p.doc for p in live]), source)


def _and(clauses: Sequence[Clause]) -> Clause:
    if any(c is False for c in clauses):
        return False
    return _combine("$and", [c for c in clauses if isinstance(c, dict)], empty=True)


def _or(clauses: Sequence[Clause]) -> Clause:
    if any(c is True for c in clauses):
        return True
    return _combine("$or", [c for c in clauses if isinstance(c, dict)], empty=False)


def _combine(op: str, clauses: list[dict[str, Any]], empty: bool) -> Clause:
    flat: list[dict[str, Any]] = []
    for clause in clauses:
        for item in clause[op] if list(clause) == [op] else [clause]:
            if item not in flat:
                flat.append(item)
    if not flat:
        return empty
    return flat[0] if len(flat) == 1 else {op: flat}


# ---------------------------------------------------------------------------- leaves


def _kind(field: str) -> str:
    if field in ID_FIELDS:
        return "id"
    if field in DATE_FIELDS:
        return "date"
    if field in TEXT_FIELDS:
        return "text"
    return field


def _residual(cond: Cond, negate: bool) -> _Part:
    return _Part(residual=Not((cond,)) if negate else cond)


def _where(clause: Clause) -> _Part:
    return _Part(where=clause)


def _op(cond: Cond, negate: bool) -> str:
    op = _NEGATED.get(cond.op) if negate else cond.op
    if op is None:
        raise InvalidFilterError(f"cannot negate {cond.op!r}", (cond.field, cond.op))
    return op


def _exists(key: str, negate: bool) -> _Part:
    return _where({key: {"$eq" if negate else "$ne": ""}})


def _id_leaf(cond: Cond, negate: bool) -> _Part:
    if cond.op == "exists":
        return _exists(cond.field, negate)
    op = _op(cond, negate)
    if op not in ("eq", "ne", "in", "nin"):
        raise InvalidFilterError(f"unexpected operator {op!r}", (cond.field, cond.op))
    return _where(_match(cond.field, op, cond.value))


def _date_leaf(cond: Cond, negate: bool) -> _Part:
    if cond.op == "exists":
        return _exists(cond.field, negate)
    op = _op(cond, negate)
    if op not in _CHROMA_OP or op in ("in", "nin"):
        raise InvalidFilterError(f"unexpected operator {op!r}", (cond.field, cond.op))
    clause = {cond.field: {_CHROMA_OP[op]: float(cond.value)}}
    if negate and cond.op not in ("eq", "ne"):
        # NOT (x >= t) also holds for a null date, stored as "".
        return _where(_or([clause, {cond.field: {"$eq": ""}}]))
    return _where(clause)


def _category_leaf(cond: Cond, negate: bool) -> _Part:
    if cond.op == "exists":
        return _where({"n_categories": {"$eq" if negate else "$gt": 0}})
    op = _op(cond, negate)

    def has(name: str) -> dict[str, Any]:
        return {f"cat:{name}": {"$eq": True}}

    def lacks(name: str) -> dict[str, Any]:
        return {f"cat:{name}": {"$ne": True}}

    table: dict[str, Callable[[], Clause]] = {
        "contains": lambda: has(cond.value),
        "eq": lambda: has(cond.value),  # negated "ne"
        "ne": lambda: lacks(cond.value),
        "in": lambda: _or([has(n) for n in cond.value]),
        "nin": lambda: _and([lacks(n) for n in cond.value]),
    }
    if op not in table:
        raise InvalidFilterError(f"unexpected operator {op!r}", ("categories", cond.op))
    return _where(table[op]())


def _metadata_leaf(cond: Cond, negate: bool) -> _Part:
    key = cond.key
    if cond.op in ("exists", "contains", "icontains") or key is None:
        return _residual(cond, negate)  # Chroma has no key-exists nor metadata substring
    if cond.op in ("gt", "gte", "lt", "lte"):
        if negate:  # NOT (x > v) also holds for a missing key or a non-number
            return _residual(cond, negate)
        return _where({f"num:{key}": {_CHROMA_OP[cond.op]: float(cond.value)}})
    op = _op(cond, negate)
    if op not in ("eq", "ne", "in", "nin"):
        raise InvalidFilterError(f"unexpected operator {op!r}", ("metadata", key, cond.op))
    values = cond.value if op in ("in", "nin") else (cond.value,)
    # One $in per Chroma type: strings and bools on md:<key>, numbers as floats on num:<key>.
    groups: dict[str, list[Any]] = {}
    for value in values:
        number = metadata_number(value)
        name = f"md:{key}" if number is None else f"num:{key}"
        kind = f"{name}/{type(value).__name__ if number is None else 'float'}"
        groups.setdefault(kind, []).append(value if number is None else number)
    clauses = [
        _match(kind.split("/")[0], op, vals if op in ("in", "nin") else vals[0])
        for kind, vals in groups.items()
    ]
    return _where(_and(clauses) if op in ("ne", "nin") else _or(clauses))


def _match(key: str, op: str, value: Any) -> Clause:
    if op in ("in", "nin"):
        if not value:
            return op == "nin"
        return {key: {_CHROMA_OP[op]: list(value)}}
    return {key: {_CHROMA_OP[op]: value}}


def _text_leaf(cond: Cond, negate: bool) -> _Part:
    needle: str = cond.value
    if cond.op == "icontains":
        classes = [sorted(fold_class(ch)) for ch in needle]
        if any(len(members) > 1 for members in classes):
            pattern = "".join(_regex_class(members) for members in classes)
            return _Part(doc={"$not_regex" if negate else "$regex": pattern})
    elif cond.op != "contains":
        raise InvalidFilterError(f"unexpected operator {cond.op!r}", (cond.field, cond.op))
    return _Part(doc={"$not_contains" if negate else "$contains": needle})


def _regex_class(members: Sequence[str]) -> str:
    chars = "".join(_regex_char(ch) for ch in members)
    return chars if len(members) == 1 else f"[{chars}]"


def _regex_char(ch: str) -> str:
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{ord(ch):X}}}"


_LEAF: dict[str, Callable[[Cond, bool], _Part]] = {
    "id": _id_leaf,
    "date": _date_leaf,
    "categories": _category_leaf,
    "metadata": _metadata_leaf,
    "text": _text_leaf,
}
