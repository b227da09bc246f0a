"""The hosted platform's per-call options of ``add``, ``search`` and ``get_all``, checked.

Each option either does what the platform documents or is refused with a typed error
naming it; none is accepted and then ignored (README.md, "Platform options", lists what
each does here). Pure functions: a clean value out, or an ``InvalidInputError`` before
anything is written.

Expiration (``expiration_date``) follows the platform to the letter: a ``YYYY-MM-DD``
date, in UTC, inclusive of that day; an expired memory is hidden from ``search`` and
``get_all`` and still returned by ``get``; a stored value that cannot be read as a date
fails open (never expires), so a bad date never makes a memory vanish.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

from memkit.bounds import MAX_TEXT_LENGTH, text_problem
from memkit.errors import ConfigError, InvalidInputError
from memkit.extract._categories import normalize_categories
from memkit.extract._interface import ExtractionOptions
from memkit.models import MemoryRecord, SearchHit

__all__ = [
    "KEEP",
    "V10",
    "V11",
    "Keep",
    "OutputFormat",
    "check_expiration_date",
    "check_fields",
    "check_flag",
    "check_output_format",
    "check_version",
    "expired",
    "extraction_options",
    "only_fields",
    "today",
]

OutputFormat = Literal["v1.0", "v1.1"]
# The overloads of search and get_all pick their return type by these.
V10 = Literal["v1.0"]
V11 = Literal["v1.1"] | None


class Keep:
    """The default of ``update(expiration_date=...)``: keep the date (None clears it)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP = Keep()
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The platform's ``version``: v2 is its current API, v1 the deprecated one; both filter and
# rank alike here (DESIGN.md), and any other value is a typo.
VERSIONS = ("v1", "v2")


def check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInputError(f"{name} must be True or False, got {value!r}")
    return value


def check_version(value: Any) -> None:
    if value is not None and value not in VERSIONS:
        raise InvalidInputError(f"version must be one of {list(VERSIONS)}, got {value!r}")


def check_output_format(value: Any) -> OutputFormat | None:
    """``v1.1`` (the default: ``{"results": ...}`` / a page) or ``v1.0`` (a bare list)."""
    if value is None or value in ("v1.0", "v1.1"):
        return value  # type: ignore[no-any-return]
    raise InvalidInputError(f"output_format must be 'v1.0' or 'v1.1', got {value!r}")


def check_expiration_date(value: Any) -> str | None:
    """A ``YYYY-MM-DD`` string (or a ``datetime.date``), kept as that string; None: never."""
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise InvalidInputError(
        f"expiration_date must be a date as 'YYYY-MM-DD' (no time, no offset), got {value!r}"
    )


def today(now: float) -> date:
    """The UTC day that expiration dates are compared with."""
    return datetime.fromtimestamp(now, tz=UTC).date()


def expired(stored: str | None, day: date) -> bool:
    """Whether a memory with this stored expiration date is hidden on ``day``: it stays
    visible through its date. Unreadable dates fail open."""
    if not stored:
        return False
    try:
        return date.fromisoformat(stored.strip()) < day
    except (ValueError, AttributeError):
        return False


def _instruction(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}"[:200])
    problem = text_problem(value, MAX_TEXT_LENGTH)
    if problem is not None:
        raise InvalidInputError(f"{name} {problem}")
    return value.strip()


def extraction_options(
    includes: Any, excludes: Any, custom_instructions: Any, custom_categories: Any
) -> ExtractionOptions:
    """The add's own extraction options; ``custom_categories`` takes the platform's list
    of one-entry dicts (``[{"travel": "Trips"}]``), a dict or a list of names."""
    categories = None
    if custom_categories is not None:
        try:
            categories = normalize_categories(custom_categories)
        except ConfigError as exc:
            raise InvalidInputError(f"custom_{exc}") from None
        if not categories:
            raise InvalidInputError("custom_categories is empty: give at least one category")
    return ExtractionOptions(
        includes=_instruction(includes, "includes"),
        excludes=_instruction(excludes, "excludes"),
        custom_instructions=_instruction(custom_instructions, "custom_instructions"),
        categories=categories,
    )


def check_fields(fields: Any, model: type[MemoryRecord]) -> tuple[str, ...] | None:
    """The record fields a read returns (``fields=["memory", "categories"]``), each known."""
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = [fields]
    known = list(model.model_fields)
    if (
        not isinstance(fields, Sequence)
        or not fields
        or not all(isinstance(f, str) for f in fields)
    ):
        raise InvalidInputError(f"fields must be a non-empty list of field names of {known}")
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise InvalidInputError(f"fields: unknown {unknown}; a record has {known}")
    return tuple(dict.fromkeys(fields))


def only_fields(
    records: Sequence[MemoryRecord | SearchHit], fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Each record as the platform's JSON object holding only ``fields``."""
    return [record.model_dump(mode="json", include=set(fields)) for record in records]


def without_none(options: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}
