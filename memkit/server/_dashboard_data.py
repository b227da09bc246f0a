"""The dashboard's numbers, as pure functions over what ``Memory`` returns.

No I/O here: the routes in ``_dashboard`` read the store and hand the rows over, so the
shaping (tokens per operation, per-minute buckets, the filter the memories view sends)
is tested without a server.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, PlainSerializer

from memkit.errors import InvalidFilterError
from memkit.models import ENTITY_FIELDS

__all__ = [
    "Bucket",
    "OperationRow",
    "listing_filters",
    "operation_rows",
    "parse_filters",
    "per_minute",
]

TOKEN_COUNTS = ("prompt_tokens", "completion_tokens")
# As memkit's result models spell times: "+00:00", never "Z".
UtcDatetime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), when_used="json")]


class OperationRow(BaseModel):
    """One row of the operations table: an activity entry plus its LLM tokens."""

    id: int
    kind: str
    scope: dict[str, str]
    counts: dict[str, Any]
    latency_ms: float
    tokens: int | None
    error: str | None
    created_at: UtcDatetime


class Bucket(BaseModel):
    """One minute of operations, for the charts: how many, and how slow."""

    minute: UtcDatetime
    operations: int
    errors: int
    by_kind: dict[str, int]
    avg_latency_ms: float | None
    p95_latency_ms: float | None


def _tokens(counts: Mapping[str, Any]) -> int | None:
    found = [counts[name] for name in TOKEN_COUNTS if isinstance(counts.get(name), int)]
    return sum(found) if found else None


def operation_rows(activity: Sequence[Mapping[str, Any]]) -> list[OperationRow]:
    """``Memory.activity()`` rows as the table shows them (tokens summed from counts)."""
    return [
        OperationRow(
            id=row["id"],
            kind=row["kind"],
            scope=dict(row["scope"]),
            counts=dict(row["counts"]),
            latency_ms=round(float(row["latency_ms"]), 3),
            tokens=_tokens(row["counts"]),
            error=row["error"],
            created_at=row["created_at"],
        )
        for row in activity
    ]


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def per_minute(activity: Sequence[Mapping[str, Any]], now: datetime, minutes: int) -> list[Bucket]:
    """The last ``minutes`` minutes up to ``now``, oldest first, empty minutes included
    (a chart's x axis is time, not just the minutes that had traffic)."""
    end = now.replace(second=0, microsecond=0)
    start = end - timedelta(minutes=minutes - 1)
    latencies: dict[datetime, list[float]] = {}
    kinds: dict[datetime, Counter[str]] = {}
    errors: Counter[datetime] = Counter()
    for row in activity:
        minute = row["created_at"].replace(second=0, microsecond=0)
        if not start <= minute <= end:
            continue
        latencies.setdefault(minute, []).append(float(row["latency_ms"]))
        kinds.setdefault(minute, Counter())[row["kind"]] += 1
        errors[minute] += row["error"] is not None
    buckets = []
    for step in range(minutes):
        minute = start + timedelta(minutes=step)
        values = latencies.get(minute, [])
        buckets.append(
            Bucket(
                minute=minute,
                operations=len(values),
                errors=errors[minute],
                by_kind=dict(sorted(kinds.get(minute, Counter()).items())),
                avg_latency_ms=round(sum(values) / len(values), 3) if values else None,
                p95_latency_ms=round(_p95(values), 3) if values else None,
            )
        )
    return buckets


def parse_filters(text: str | None) -> dict[str, Any] | None:
    """The filter box's text: empty, or a v2 filter as a JSON object."""
    if text is None or not text.strip():
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidFilterError(f"filters are not valid JSON: {exc.msg} at {exc.pos}") from exc
    except RecursionError as exc:  # "[[[[...": the caller's mistake, not the server's (500)
        raise InvalidFilterError("filters are nested too deeply") from exc
    if not isinstance(parsed, dict):
        raise InvalidFilterError(
            'filters must be a JSON object, e.g. {"AND": [{"user_id": "alex"}]}'
        )
    return parsed


def listing_filters(
    entity_type: str | None, entity_id: str | None, filters: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The selected user/agent/app/run and the typed filter, as one v2 filter."""
    clauses: list[dict[str, Any]] = []
    if entity_type and entity_id:
        field = ENTITY_FIELDS.get(entity_type)  # type: ignore[call-overload]
        if field is None:
            raise InvalidFilterError(
                f"unknown entity type {entity_type!r}: expected one of {sorted(ENTITY_FIELDS)}"
            )
        clauses.append({field: entity_id})
    if filters:
        clauses.append(filters)
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"AND": clauses}
