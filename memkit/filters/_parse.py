"""Parsing: a user's v2 filter (untrusted JSON-like data) into a validated tree.

Every check happens here, before anything reaches the index, so a bad filter is an
``InvalidFilterError`` naming the bad node, and a filter Chroma could not plan never
reaches it. The language's semantics are documented in ``memkit.filters._language``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

from memkit.bounds import (
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_VALUES,
    MAX_TEXT_LENGTH,
    text_problem,
)
from memkit.errors import InvalidFilterError
from memkit.filters._tree import (
    DATE_FIELDS,
    FIELDS,
    ID_FIELDS,
    LIST_OPS,
    OPERATORS,
    RANGE_OPS,
    SUBSTRING_OPS,
    TEXT_FIELDS,
    And,
    Cond,
    FilterNode,
    Not,
    Or,
    as_utc,
    conjoin,
    metadata_number,
)

__all__ = ["eq", "parse_filter"]

_DAY = 86400.0
Path: TypeAlias = tuple[str | int, ...]


_GROUPS: dict[str, type[And] | type[Or] | type[Not]] = {"AND": And, "OR": Or, "NOT": Not}


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
            nodes.append(_GROUPS[name](children))
        else:
            nodes.append(_parse_field(name, value, here))
    return conjoin(nodes)


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
        return conjoin([_parse_op(field, op, v, (*path, op)) for op, v in value.items()])
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
    if op not in SUBSTRING_OPS:
        raise InvalidFilterError(f"{field} takes contains or icontains", path)
    return Cond(field, op, _needle(value, path))


def _parse_id(field: str, op: str, value: Any, path: Path) -> Cond:
    if op in RANGE_OPS:
        raise InvalidFilterError(f"range operators are not allowed on {field}", path)
    if op in SUBSTRING_OPS:
        raise InvalidFilterError(f"{op} is not allowed on {field}", path)
    if op in LIST_OPS:
        return Cond(field, op, _str_list(value, path, f"{field} ids"))
    return Cond(field, op, _id(value, path))


def _parse_date(field: str, op: str, value: Any, path: Path) -> FilterNode:
    if op in LIST_OPS or op in SUBSTRING_OPS:
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
    if op in LIST_OPS:
        return Cond("categories", op, _str_list(value, path, "category names"))
    if op == "eq" and _is_list(value):
        names = _str_list(value, path, "category names")
        if not names:
            raise InvalidFilterError("equality with an empty category list", path)
        return conjoin([Cond("categories", "contains", n) for n in names])
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
    return conjoin(nodes)


def _parse_md_op(key: str, op: Any, value: Any, path: Path) -> Cond:
    if not isinstance(op, str) or op not in OPERATORS:
        raise InvalidFilterError(f"unknown operator {op!r}", path)
    if op in SUBSTRING_OPS:
        return Cond("metadata", op, _needle(value, path), key)
    if op in RANGE_OPS:
        if metadata_number(value) is None:
            raise InvalidFilterError(f"{op} takes a number (not a bool)", path)
        return Cond("metadata", op, value, key)
    if op in LIST_OPS:
        if not _is_list(value):
            raise InvalidFilterError(f"{op} takes a list", path)
        items = tuple(_md_scalar(v, (*path, i)) for i, v in enumerate(value))
        return Cond("metadata", op, items, key)
    return Cond("metadata", op, _md_scalar(value, path), key)


def _md_scalar(value: Any, path: Path) -> str | int | float | bool:
    if isinstance(value, str):
        return _storable(value, path)
    if isinstance(value, bool | int | float) and (
        isinstance(value, bool) or metadata_number(value) is not None
    ):
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
            return as_utc(moment).timestamp(), None
        except (OverflowError, ValueError):
            raise InvalidFilterError(f"the date is out of range: {value!r}", path) from None
    assert day is not None
    start = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return start, start + _DAY


def eq(field: str, value: Any) -> Cond:
    """A validated ``{field: value}`` condition, e.g. ``eq("user_id", "alex")``.

    Raises InvalidFilterError when the value does not make one condition (a date-only day or
    a category list do; use :func:`parse_filter` for those).
    """
    node = _parse_field(field, value, (field,))
    if not isinstance(node, Cond):
        raise InvalidFilterError("eq() needs a value that makes a single condition", (field,))
    return node
