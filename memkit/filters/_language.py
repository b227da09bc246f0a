"""memkit's v2 filter language: parse → validated tree → evaluate on plain records.

Pure and standalone (no I/O); ``memkit.filters._chroma`` translates the same tree to Chroma, and
the property tests hold the two to the same answers.

Grammar::

    filter := {"AND": [filter…]} | {"OR": [filter…]} | {"NOT": [filter…]}
            | {field: value} | {field: {op: value, …}}
    field  := user_id | agent_id | app_id | run_id | created_at | updated_at
            | categories | metadata | text | keywords
    op     := eq | ne | in | nin | gt | gte | lt | lte | contains | icontains

Example::

    >>> parse_filter({"user_id": "alex", "created_at": {"gte": "2024-07-01"}})
    And(children=(Cond(field='user_id', op='eq', value='alex', key=None), ...))

Semantics fixed here (the reference leaves them open):

- Several keys in one object, and several operators on one field, are ANDed.
  ``NOT [a, b]`` matches records that match none of ``a``, ``b``.
- ``{field: "*"}`` means "is set": an id or date that is not null, a non-empty category list, a
  present metadata key. In the tree it is ``Cond(field, "exists", True)``. Only the bare value
  is a wildcard: ``{field: {"eq": "*"}}`` and ``{"in": ["*"]}`` compare with the string ``*``,
  so any string can be matched literally (the LangGraph store's keys and labels are).
- Dates take ISO dates or datetimes (or ``date`` / ``datetime`` objects); values without an
  offset are UTC. A date-only value is the whole UTC day: ``gte`` / ``lt`` compare with its
  start, ``gt`` / ``lte`` with its end, ``eq`` means "within that day", ``ne`` "not within it".
  The tree holds epoch seconds (float) with exact half-open bounds (``lte: day`` becomes
  ``lt: next day``), so evaluation and translation use the same numbers. An empty range is not
  an error: it matches nothing.
- ``ne`` / ``nin`` (and ``NOT``) are true when the field is null or the metadata key missing;
  every other operator is false there.
- Strict types: a bool never equals a number; metadata numbers (int or float, not bool) compare
  as float64, so ``1 == 1.0``; range operators on a missing key or a non-number are false.
- ``text`` and ``keywords`` are the same field, the memory text. ``contains`` is a
  case-sensitive substring test. ``icontains`` folds case character by character with
  :func:`fold_char` (``str.casefold``, falling back to ``str.lower``, when either gives one
  character; ``ß`` therefore matches ``ẞ`` but not ``ss``): a per-character folding is what a
  regular expression can reproduce exactly, so Chroma and Python agree.
- ``categories``: ``contains`` / equality with a string (has it), equality with a list (has all
  of them), ``in`` (has any), ``nin`` (has none), ``ne`` (has not).
- Metadata ``contains`` / ``icontains`` are substring tests on string values (false otherwise).
- ``in: []`` matches nothing and ``nin: []`` everything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from typing import Any, TypeAlias

from memkit.bounds import (
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_VALUES,
    MAX_TEXT_LENGTH,
    text_problem,
)
from memkit.errors import InvalidFilterError, InvalidInputError

__all__ = [
    "DATE_FIELDS",
    "FIELDS",
    "ID_FIELDS",
    "TEXT_FIELDS",
    "And",
    "Cond",
    "FilterNode",
    "Not",
    "Or",
    "all_of",
    "entity_scope",
    "eq",
    "evaluate",
    "fold_char",
    "fold_class",
    "fold_text",
    "metadata_number",
    "parse_filter",
    "record_epoch",
    "referenced_fields",
]

ID_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
DATE_FIELDS = ("created_at", "updated_at")
TEXT_FIELDS = ("text", "keywords")
FIELDS = frozenset((*ID_FIELDS, *DATE_FIELDS, *TEXT_FIELDS, "categories", "metadata"))
OPERATORS = frozenset(("eq", "ne", "in", "nin", "gt", "gte", "lt", "lte", "contains", "icontains"))
RANGE_OPS = frozenset(("gt", "gte", "lt", "lte"))
_LIST_OPS = frozenset(("in", "nin"))
_SUBSTRING_OPS = frozenset(("contains", "icontains"))
_DAY = 86400.0
Path: TypeAlias = tuple[str | int, ...]


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


# --------------------------------------------------------------------------- parsing


def parse_filter(filters: Mapping[str, Any] | None) -> FilterNode | None:
    """Validate a v2 filter; ``None`` or ``{}`` means no filter.

    Raises :class:`~memkit.errors.InvalidFilterError` whose ``path`` names the bad node.
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise InvalidFilterError("a filter must be an object", ())
    if not filters:
        return None
    _check_size(filters)
    return _parse_object(filters, ())


def _check_size(filters: Mapping[str, Any]) -> None:
    """Depth, conditions and listed values within the bounds, checked without recursion, so a
    filter nested a thousand deep is an InvalidFilterError rather than a RecursionError, and a
    filter Chroma could not plan (or would crash on) never reaches it."""
    conditions = values = 0
    stack: list[tuple[Any, Path, int]] = [(filters, (), 0)]
    while stack:
        node, path, depth = stack.pop()
        if depth > MAX_FILTER_DEPTH:
            raise InvalidFilterError(
                f"filters are nested more than {MAX_FILTER_DEPTH} AND / OR / NOT levels deep",
                path,
            )
        if not isinstance(node, Mapping):
            continue  # _parse_object names it
        for name, value in node.items():
            if name in ("AND", "OR", "NOT") and _is_list(value):
                stack.extend(((item, (*path, name, i), depth + 1) for i, item in enumerate(value)))
                continue
            tests = value.values() if name == "metadata" and isinstance(value, Mapping) else [value]
            for test in tests:
                ops = test.values() if isinstance(test, Mapping) else [test]
                conditions += max(1, len(ops))
                listed = sum(len(v) for v in ops if _is_list(v))
                if name == "categories":  # one index field per category: each is a condition
                    conditions += listed
                else:
                    values += listed
            if conditions > MAX_FILTER_CONDITIONS:
                raise InvalidFilterError(
                    f"filters hold more than {MAX_FILTER_CONDITIONS} conditions", (*path, name)
                )
            if values > MAX_FILTER_VALUES:
                raise InvalidFilterError(
                    f"filters list more than {MAX_FILTER_VALUES} values", (*path, name)
                )


def _parse_object(obj: Any, path: Path) -> FilterNode:
    if not isinstance(obj, Mapping):
        raise InvalidFilterError("expected a filter object", path)
    if not obj:
        raise InvalidFilterError("empty filter object", path)
    nodes: list[FilterNode] = []
    for name, value in obj.items():
        here = (*path, name)
        if name in ("AND", "OR", "NOT"):
            if not _is_list(value):
                raise InvalidFilterError(f"{name} takes a list of filters", here)
            if not value:
                raise InvalidFilterError(f"empty {name} list", here)
            children = tuple(_parse_object(item, (*here, i)) for i, item in enumerate(value))
            nodes.append({"AND": And, "OR": Or, "NOT": Not}[name](children))
        else:
            nodes.append(_parse_field(name, value, here))
    return _conjoin(nodes)


def _parse_field(field: Any, value: Any, path: Path) -> FilterNode:
    if not isinstance(field, str) or field not in FIELDS:
        # The usual cause is a metadata key written at the top level, so show where it goes.
        key = (field.removeprefix("metadata.") or field) if isinstance(field, str) else None
        hint = f'; a metadata key goes inside "metadata": {{"metadata": {{"{key}": ...}}}}'
        raise InvalidFilterError(f"unknown field {field!r}{hint if key else ''}", path)
    if field == "metadata":
        return _parse_metadata(value, path)
    if isinstance(value, Mapping):
        if not value:
            raise InvalidFilterError("empty operator object", path)
        return _conjoin([_parse_op(field, op, v, (*path, op)) for op, v in value.items()])
    return _parse_op(field, "eq", value, path, bare=True)


def _parse_op(field: str, op: Any, value: Any, path: Path, bare: bool = False) -> FilterNode:
    if not isinstance(op, str) or op not in OPERATORS:
        raise InvalidFilterError(f"unknown operator {op!r}", path)
    if bare and value == "*" and isinstance(value, str):
        if field in TEXT_FIELDS:
            raise InvalidFilterError(f"{field} takes contains or icontains", path)
        return Cond(field, "exists", True)
    if field in ID_FIELDS:
        return _parse_id(field, op, value, path)
    if field in DATE_FIELDS:
        return _parse_date(field, op, value, path)
    if field == "categories":
        return _parse_categories(op, value, path)
    if op not in _SUBSTRING_OPS:
        raise InvalidFilterError(f"{field} takes contains or icontains", path)
    return Cond(field, op, _needle(value, path))


def _parse_id(field: str, op: str, value: Any, path: Path) -> Cond:
    if op in RANGE_OPS:
        raise InvalidFilterError(f"range operators are not allowed on {field}", path)
    if op in _SUBSTRING_OPS:
        raise InvalidFilterError(f"{op} is not allowed on {field}", path)
    if op in _LIST_OPS:
        return Cond(field, op, _str_list(value, path, f"{field} ids"))
    return Cond(field, op, _id(value, path))


def _parse_date(field: str, op: str, value: Any, path: Path) -> FilterNode:
    if op in _LIST_OPS or op in _SUBSTRING_OPS:
        raise InvalidFilterError(f"{op} is not allowed on {field}", path)
    start, day_end = _date_value(value, path)
    if day_end is None:
        return Cond(field, op, start)
    whole_day = And((Cond(field, "gte", start), Cond(field, "lt", day_end)))
    match op:
        case "eq":
            return whole_day
        case "ne":
            return Not((whole_day,))
        case "gte" | "lt":
            return Cond(field, op, start)
        case "gt":
            return Cond(field, "gte", day_end)
        case _:  # lte
            return Cond(field, "lt", day_end)


def _parse_categories(op: str, value: Any, path: Path) -> FilterNode:
    if op in RANGE_OPS or op == "icontains":
        raise InvalidFilterError(f"{op} is not allowed on categories", path)
    if op in _LIST_OPS:
        return Cond("categories", op, _str_list(value, path, "category names"))
    if op == "eq" and _is_list(value):
        names = _str_list(value, path, "category names")
        if not names:
            raise InvalidFilterError("equality with an empty category list", path)
        return _conjoin([Cond("categories", "contains", n) for n in names])
    name = _id(value, path, "a category name")
    return Cond("categories", "ne" if op == "ne" else "contains", name)


def _parse_metadata(value: Any, path: Path) -> FilterNode:
    if not isinstance(value, Mapping) or not value:
        raise InvalidFilterError("metadata takes a non-empty object of key conditions", path)
    nodes: list[FilterNode] = []
    for key, spec in value.items():
        here = (*path, key)
        if not isinstance(key, str) or not key or text_problem(key) is not None:
            raise InvalidFilterError("metadata keys must be non-empty strings", here)
        if isinstance(spec, Mapping):
            if not spec:
                raise InvalidFilterError("empty operator object", here)
            nodes.extend(_parse_md_op(key, op, v, (*here, op)) for op, v in spec.items())
        elif spec == "*" and isinstance(spec, str):
            nodes.append(Cond("metadata", "exists", True, key))
        else:
            nodes.append(_parse_md_op(key, "eq", spec, here))
    return _conjoin(nodes)


def _parse_md_op(key: str, op: Any, value: Any, path: Path) -> Cond:
    if not isinstance(op, str) or op not in OPERATORS:
        raise InvalidFilterError(f"unknown operator {op!r}", path)
    if op in _SUBSTRING_OPS:
        return Cond("metadata", op, _needle(value, path), key)
    if op in RANGE_OPS:
        if metadata_number(value) is None:
            raise InvalidFilterError(f"{op} takes a number (not a bool)", path)
        return Cond("metadata", op, value, key)
    if op in _LIST_OPS:
        if not _is_list(value):
            raise InvalidFilterError(f"{op} takes a list", path)
        items = tuple(_md_scalar(v, (*path, i)) for i, v in enumerate(value))
        return Cond("metadata", op, items, key)
    return Cond("metadata", op, _md_scalar(value, path), key)


def _md_scalar(value: Any, path: Path) -> str | int | float | bool:
    if isinstance(value, str):
        return _storable(value, path)
    if isinstance(value, bool) or metadata_number(value) is not None:
        return value
    raise InvalidFilterError("metadata values are str, int, float (finite) or bool", path)


def _id(value: Any, path: Path, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value:
        raise InvalidFilterError(f"expected {what}", path)
    return _storable(value, path)


def _needle(value: Any, path: Path) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidFilterError("contains / icontains take a non-empty string", path)
    return _storable(value, path)


def _storable(value: str, path: Path) -> str:
    """A string the index can be asked about: no text memkit could have stored is refused."""
    problem = text_problem(value, MAX_TEXT_LENGTH)
    if problem is not None:
        raise InvalidFilterError(f"the string {problem}", path)
    return value


def _str_list(value: Any, path: Path, what: str) -> tuple[str, ...]:
    if not _is_list(value):
        raise InvalidFilterError(f"expected a list of {what}", path)
    items = []
    for i, item in enumerate(value):
        items.append(_id(item, (*path, i)))
    return tuple(items)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def _date_value(value: Any, path: Path) -> tuple[float, float | None]:
    """Epoch seconds of a filter date, and the end of the day when it is date-only."""
    day: date | None = None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                raise InvalidFilterError(f"not an ISO date or datetime: {value!r}", path) from None
    else:
        raise InvalidFilterError("dates take ISO date or datetime strings", path)
    if moment is not None:
        try:
            return _aware(moment).timestamp(), None
        except (OverflowError, ValueError):
            raise InvalidFilterError(f"the date is out of range: {value!r}", path) from None
    assert day is not None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start, start + _DAY


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _conjoin(nodes: Sequence[FilterNode]) -> FilterNode:
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


# --------------------------------------------------------------------------- helpers


def eq(field: str, value: Any) -> Cond:
    """A validated ``{field: value}`` condition, e.g. ``eq("user_id", "alex")``.

    Raises InvalidFilterError when the value does not make one condition (a date-only day or
    a category list do; use :func:`parse_filter` for those).
    """
    node = _parse_field(field, value, (field,))
    if not isinstance(node, Cond):
        raise InvalidFilterError("eq() needs a value that makes a single condition", (field,))
    return node


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
    return _conjoin(flat)


def referenced_fields(node: FilterNode | None) -> set[str]:
    """Every field a filter tests (``text`` and ``keywords`` stay as written)."""
    return {cond.field for cond in _conditions(node)}


def _conditions(node: FilterNode | None) -> Iterator[Cond]:
    if isinstance(node, Cond):
        yield node
    elif node is not None:
        for child in node.children:
            yield from _conditions(child)


def metadata_number(value: Any) -> float | None:
    """The float64 a metadata value compares as, or None for bools, strings and non-finite."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def record_epoch(value: Any) -> float | None:
    """A record date (datetime, epoch seconds or ISO string; naive = UTC) as epoch seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _aware(value).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return _aware(datetime.fromisoformat(value)).timestamp()
        except ValueError:
            pass
    raise InvalidInputError(f"not a record date: {value!r}")


# ------------------------------------------------------------------------- case folding


def fold_char(ch: str) -> str:
    """One character's case-insensitive form; always exactly one character."""
    folded = ch.casefold()
    if len(folded) == 1:
        return folded
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


@cache
def _fold_tables() -> tuple[dict[int, str], dict[str, frozenset[str]]]:
    # One scan of all code points (~0.2 s, once): the translate table for fold_text and the
    # inverse classes that the Chroma translation turns into regex character classes.
    table: dict[int, str] = {}
    inverse: dict[str, set[str]] = {}
    for cp in range(0x110000):
        ch = chr(cp)
        key = fold_char(ch)
        if key != ch:
            table[cp] = key
            inverse.setdefault(key, set()).add(ch)
    classes = {
        key: frozenset(members | ({key} if fold_char(key) == key else set()))
        for key, members in inverse.items()
    }
    return table, classes


def fold_text(text: str) -> str:
    """``text`` with every character replaced by :func:`fold_char` (same length)."""
    return text.translate(_fold_tables()[0])


def fold_class(ch: str) -> frozenset[str]:
    """Every character that folds like ``ch`` (``"k"`` → ``{"k", "K", "\\u212a"}``)."""
    key = fold_char(ch)
    return _fold_tables()[1].get(key, frozenset((ch,)))


# --------------------------------------------------------------------------- evaluation


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
        if op in _SUBSTRING_OPS:
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
