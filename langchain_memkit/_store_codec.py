"""Pure translation between LangGraph store items and memkit memories (no I/O).

An item ``(namespace, key) -> value`` is one memory written with ``infer=False``:

- the memory text is the item's indexed text (what gets embedded and searched);
- metadata holds the rest, under ``lg.`` keys: ``lg.ns`` (the namespace as a JSON
  array, so a label may contain ``.`` or ``/`` without colliding), ``lg.ns.<i>`` (each
  label, for prefix search), ``lg.key``, ``lg.value.<i>`` (the value as JSON, in
  chunks), ``lg.text_key`` (the value field that *is* the memory text, kept once),
  ``lg.indexed`` and ``lg.f.<field>`` (top-level scalar fields mirrored so filters run
  in memkit; ``lg.partial`` marks an item whose fields did not all fit);
  ``lg.expires_at``, ``lg.ttl_minutes`` and ``lg.updated_at`` for an item with a TTL
  (``_store_ttl`` says what they mean).

LangGraph filters become memkit v2 filters on the mirrored fields. That translation
only narrows the candidates; :func:`matches` then decides exactly, on the real value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from langgraph.store.base import InvalidNamespaceError, Item, MatchCondition
from langgraph.store.base.embed import get_text_at_path

from memkit.models import MemoryRecord

__all__ = [
    "EXPIRES_AT",
    "INDEXED",
    "TTL_MINUTES",
    "UPDATED_AT",
    "check_namespace",
    "decode_item",
    "decode_namespace",
    "decode_value",
    "encode_item",
    "item_text",
    "matches",
    "namespace_filter",
    "namespace_matches",
    "push_down",
]

NS = "lg.ns"
KEY = "lg.key"
INDEXED = "lg.indexed"
PARTIAL = "lg.partial"
TEXT_KEY = "lg.text_key"
VALUE = "lg.value."
FIELD = "lg.f."
EXPIRES_AT = "lg.expires_at"
TTL_MINUTES = "lg.ttl_minutes"
UPDATED_AT = "lg.updated_at"
MAX_DEPTH = 16
# memkit's metadata bounds (memkit._inputs): 64 keys, keys of 64 characters, strings of
# 4096 characters, 16 KiB as JSON.
_MAX_KEYS, _MAX_KEY, _MAX_STRING, _MAX_BYTES = 64, 64, 4096, 16_384
_KEY_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_INT64 = 2**63
# Room an item with a TTL keeps for its refreshes: lg.updated_at (an ISO time of at most 32
# characters) and a lg.expires_at whose float may print longer than the first one did.
_TTL_RESERVE_BYTES, _TTL_RESERVE_KEYS = 80, 1
_OPS = {"$eq": "eq", "$ne": "ne", "$gt": "gt", "$gte": "gte", "$lt": "lt", "$lte": "lte"}


def check_namespace(namespace: tuple[str, ...], *, writing: bool = False) -> None:
    """LangGraph's label rules, except that ``.`` is allowed (e-mail addresses work).

    Upstream forbids ``.`` because some stores join labels with it; this one never does.
    """
    if writing and not namespace:
        raise InvalidNamespaceError("Namespace cannot be empty.")
    if writing and namespace[0] == "langgraph":
        raise InvalidNamespaceError(f'Root label for namespace cannot be "langgraph": {namespace}')
    if len(namespace) > MAX_DEPTH:
        raise InvalidNamespaceError(f"namespaces are at most {MAX_DEPTH} labels deep")
    for label in namespace:
        if not isinstance(label, str) or not label or "\x00" in label:
            raise InvalidNamespaceError(
                f"Invalid namespace label {label!r} in {namespace}: labels are non-empty "
                "strings without NUL bytes"
            )
        if len(label) > _MAX_STRING:
            raise InvalidNamespaceError(f"a namespace label is over {_MAX_STRING} characters")


def item_text(value: Mapping[str, Any], index: Sequence[str] | None) -> tuple[str, str | None]:
    """The text to embed, and the top-level field it came from when it is one whole field."""
    if index and list(index) != ["$"]:
        texts = [t for path in index for t in get_text_at_path(value, path)]
        text = "\n".join(texts)
        field = index[0] if len(index) == 1 and index[0] in value else None
    elif len(value) == 1 and isinstance(next(iter(value.values())), str):
        field, text = next(iter(value.items()))
    else:
        field, text = None, json.dumps(value, ensure_ascii=False, sort_keys=True)
    if not text.strip():
        return json.dumps(value, ensure_ascii=False, sort_keys=True), None
    # memkit strips the text it stores, so only a stripped field can stand for itself.
    keep = field is not None and value.get(field) == text and text == text.strip()
    return text, field if keep else None


def _mirrorable(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= _MAX_STRING


def encode_item(
    namespace: tuple[str, ...],
    key: str,
    value: Mapping[str, Any],
    index: Sequence[str] | None,
    indexed: bool = True,
    expiry: tuple[float, float] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The memory text and metadata of one item; ``expiry`` is (expires at, TTL in minutes).

    Raises ValueError when the item cannot fit memkit's metadata bounds.
    """
    text, text_key = item_text(value, index)
    rest = {k: v for k, v in value.items() if k != text_key}
    packed = json.dumps(rest, ensure_ascii=False, separators=(",", ":"))
    metadata: dict[str, Any] = {NS: json.dumps(list(namespace), ensure_ascii=False), KEY: key}
    metadata.update({f"lg.ns.{i}": label for i, label in enumerate(namespace)})
    chunks = [packed[i : i + _MAX_STRING] for i in range(0, len(packed), _MAX_STRING)]
    metadata.update({f"{VALUE}{i}": chunk for i, chunk in enumerate(chunks)})
    if text_key is not None:
        metadata[TEXT_KEY] = text_key
    if not indexed:
        metadata[INDEXED] = False
    reserve_bytes = reserve_keys = 0
    if expiry is not None:
        metadata[EXPIRES_AT], metadata[TTL_MINUTES] = expiry
        reserve_bytes, reserve_keys = _TTL_RESERVE_BYTES, _TTL_RESERVE_KEYS
    too_long = len(key) > _MAX_STRING or len(metadata[NS]) > _MAX_STRING
    if too_long or _size(metadata) + reserve_bytes > _MAX_BYTES:
        raise ValueError(
            f"item {key!r} in {namespace} is too large for memkit metadata "
            f"(at most {_MAX_BYTES} bytes of JSON for the value, key and namespace)"
        )
    partial = False
    for field, field_value in value.items():
        if not isinstance(field_value, str | int | float | bool):
            continue
        name = FIELD + field
        fits = (
            _KEY_RE.match(name) is not None
            and len(name) <= _MAX_KEY
            and _mirrorable(field_value)
            and len(metadata) + 2 + reserve_keys <= _MAX_KEYS
            and _size({**metadata, name: field_value}) + 32 + reserve_bytes <= _MAX_BYTES
        )
        if fits:
            metadata[name] = field_value
        else:
            partial = True
    if partial:
        metadata[PARTIAL] = True
    return text, metadata


def _size(metadata: Mapping[str, Any]) -> int:
    return len(json.dumps(metadata))  # the measure memkit applies


def decode_value(record: MemoryRecord) -> dict[str, Any]:
    md = record.metadata
    packed = "".join(md[f"{VALUE}{i}"] for i in range(len(md)) if f"{VALUE}{i}" in md)
    value: dict[str, Any] = json.loads(packed) if packed else {}
    if TEXT_KEY in md:
        value[md[TEXT_KEY]] = record.memory
    return value


def decode_namespace(record: MemoryRecord) -> tuple[str, ...]:
    return tuple(json.loads(record.metadata[NS]))


def decode_item(record: MemoryRecord) -> Item:
    written = record.metadata.get(UPDATED_AT)  # set when a TTL refresh moved memkit's own
    return Item(
        value=decode_value(record),
        key=record.metadata[KEY],
        namespace=decode_namespace(record),
        created_at=record.created_at,
        updated_at=record.updated_at if written is None else datetime.fromisoformat(written),
    )


def namespace_filter(
    prefix: Sequence[str],
    *,
    exact: bool = False,
    key: str | None = None,
    wildcards: bool = False,
) -> dict[str, Any]:
    """memkit filter for items under ``prefix``.

    Labels and keys are identities, compared literally (``{"eq": label}``): an item keyed
    ``"*"`` is that item alone, as in LangGraph's own stores. Only ``list_namespaces``'
    match conditions treat a ``"*"`` label as "any label" (``wildcards=True``).
    """
    if exact:
        conditions: dict[str, Any] = {NS: {"eq": json.dumps(list(prefix), ensure_ascii=False)}}
    else:
        conditions = {
            f"lg.ns.{i}": {"eq": label}
            for i, label in enumerate(prefix)
            if not (wildcards and label == "*")
        }
        conditions.setdefault(NS, "*")
    if key is not None:
        conditions[KEY] = {"eq": key}
    return {"metadata": conditions}


def push_down(filter: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """memkit conditions that every item matching the LangGraph ``filter`` satisfies."""
    out: list[dict[str, Any]] = []
    for field, spec in (filter or {}).items():
        name = FIELD + field
        if not isinstance(field, str) or not _KEY_RE.match(name) or len(name) > _MAX_KEY:
            continue
        if isinstance(spec, Mapping):
            if not spec or not all(isinstance(op, str) and op.startswith("$") for op in spec):
                continue
            pairs = [(_OPS.get(op), operand) for op, operand in spec.items()]
        else:
            pairs = [("eq", spec)]
        for op, operand in pairs:
            if op is None or not _mirrorable(operand):
                continue
            if op in ("gt", "gte", "lt", "lte") and (
                isinstance(operand, bool) or not isinstance(operand, int | float)
            ):
                continue
            condition = {"metadata": {name: {op: operand}}}
            # ``ne`` already holds for items whose field was not mirrored (memkit: a missing
            # key is "not equal"); the others must let partially mirrored items through.
            out.append(
                condition if op == "ne" else {"OR": [condition, {"metadata": {PARTIAL: True}}]}
            )
    return out


def _same(a: Any, b: Any) -> bool:
    """JSON equality: ``true`` is not ``1`` (as in PostgresStore's JSONB)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _apply(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return _same(value, operand)
    if op == "$ne":
        return not _same(value, operand)
    if op not in _OPS:
        raise ValueError(f"Unsupported operator: {op}")
    left, right = _number(value), _number(operand)
    if left is None or right is None:
        return False
    return {"$gt": left > right, "$gte": left >= right, "$lt": left < right, "$lte": left <= right}[
        op
    ]


def _compare(value: Any, expected: Any) -> bool:
    """InMemoryStore's matching rules: operators, nested objects match as subsets."""
    if isinstance(expected, Mapping):
        if any(str(k).startswith("$") for k in expected):
            return all(_apply(value, op, operand) for op, operand in expected.items())
        if not isinstance(value, Mapping):
            return False
        return all(_compare(value.get(k), v) for k, v in expected.items())
    if isinstance(expected, list | tuple):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(expected)
            and all(_compare(v, e) for v, e in zip(value, expected, strict=True))
        )
    return _same(value, expected)


def matches(value: Mapping[str, Any], filter: Mapping[str, Any] | None) -> bool:
    """Whether an item's value passes a LangGraph store filter."""
    return all(_compare(value.get(field), spec) for field, spec in (filter or {}).items())


def namespace_matches(namespace: tuple[str, ...], conditions: Iterable[MatchCondition]) -> bool:
    for condition in conditions:
        path = tuple(condition.path)
        if len(namespace) < len(path):
            return False
        window = (
            namespace[: len(path)]
            if condition.match_type == "prefix"
            else (namespace[len(namespace) - len(path) :])
        )
        if any(p != "*" and p != label for p, label in zip(path, window, strict=True)):
            return False
    return True
