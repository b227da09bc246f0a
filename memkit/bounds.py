"""The bounds on everything memkit accepts, in one place.

Whatever memkit acknowledges it must be able to index, read back and reopen, so these are
checked at the boundary, before anything is written. Each bound is set below the first
size at which something downstream broke, measured with chromadb 1.5.9, SQLite and
PostgreSQL 16 (README.md, "Bounds", lists them for users):

- strings: Chroma, SQLite and PostgreSQL encode text as UTF-8, and a lone surrogate
  (``"\\ud800"``) cannot be encoded: it was acknowledged, then every index read failed.
  PostgreSQL refuses NUL characters in text. Both are refused in every string.
- timestamps: ``datetime`` stops at year 9999; a memory dated ``1e12`` was stored, then
  every read that turned it into a datetime failed.
- categories: each is a metadata key of the index; 10,000 of them were stored, then every
  index read failed.
- filters: Chroma's SQLite plan fails above about 1,000 ORed conditions ("Expression tree is
  too large") and crashes the process (SIGSEGV) at 10,000; a where clause nested 99 deep is
  refused, and deeper ones overflow Python's recursion limit; more than 32,766 listed values
  exceed SQLite's variable limit.
- content parts: an image goes to the model as its URL, so a data URL is held in memory,
  in the request body and, for a transcript or a kept add, in the record store. OpenAI's
  vision guide takes images up to 20 MB and 50 MB of images per request; a data URL
  over either could never be read, so it is refused before anything is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EARLIEST_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "MAX_CATEGORIES",
    "MAX_CATEGORY_LENGTH",
    "MAX_CONTENT_PARTS",
    "MAX_DATA_URL_BYTES",
    "MAX_FILTER_CONDITIONS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_VALUES",
    "MAX_ID_LENGTH",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_URL_LENGTH",
    "MAX_MESSAGES",
    "MAX_PAGE",
    "MAX_TEXT_LENGTH",
    "json_problem",
    "text_problem",
]

MAX_ID_LENGTH = 255  # user, agent, app, run, memory and session ids
MAX_TEXT_LENGTH = 50_000  # characters in one message, memory text or query
MAX_MESSAGES = 10_000  # messages in one add
MAX_CATEGORIES = 32  # categories on one memory (or named in one call)
MAX_CATEGORY_LENGTH = 64  # characters in one category name
MAX_PAGE = 1_000_000  # highest page number of get_all
MAX_FILTER_DEPTH = 16  # nested AND / OR / NOT levels
MAX_FILTER_CONDITIONS = 256  # field tests in one filter
MAX_FILTER_VALUES = 10_000  # values in all of a filter's in / nin lists together
MAX_CONTENT_PARTS = 100  # parts in one message's content (text and images)
MAX_IMAGE_URL_LENGTH = 8_192  # an http(s) image URL: longer ones most servers refuse (414)
MAX_DATA_URL_BYTES = 20 * 2**20  # decoded bytes of one data: URL image (OpenAI's per-image cap)
MAX_IMAGE_BYTES = 50 * 2**20  # data: URL bytes in one call (OpenAI's per-request cap)

# Memories are dated from the Unix epoch up to the start of year 9999 (UTC): a date in any
# time zone, a year on either side, is still a valid ``datetime``.
EARLIEST_TIMESTAMP = 0.0
LATEST_TIMESTAMP = datetime(9999, 1, 1, tzinfo=UTC).timestamp()


def text_problem(value: str, max_length: int | None = None) -> str | None:
    """Why ``value`` cannot be stored, or None when it can.

    The caller names the value in its own typed error (InvalidInputError, MetadataError,
    InvalidFilterError), so this only says what is wrong with it.
    """
    if max_length is not None and len(value) > max_length:
        return f"is longer than {max_length} characters"
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it contains a lone surrogate)"
    return None


def json_problem(value: Any) -> str | None:
    """``text_problem`` for every string (keys included) inside a JSON-like value."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem is not None:
                return f"holds a string that {problem}"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None
