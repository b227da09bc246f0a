"""How stored values compare, shared by the index's layout and the filter language.

A bottom-layer module: the store lays memories out in Chroma with these, and the filter
language evaluates conditions with the very same ones, so the two cannot disagree.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from memkit.errors import InvalidInputError
from memkit.models import ID_FIELDS

__all__ = ["DATE_FIELDS", "ID_FIELDS", "as_utc", "metadata_number", "record_epoch"]

DATE_FIELDS = ("created_at", "updated_at")


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
        return as_utc(value).timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return as_utc(datetime.fromisoformat(value)).timestamp()
        except ValueError:
            pass
    raise InvalidInputError(f"not a record date: {value!r}")


def as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
