"""Validation of everything a caller hands ``Memory``, before anything is written.

Pure functions: each either returns the clean value or raises a typed usage error
naming what was wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from memkit._content import check_image_total, image_bytes, read_content
from memkit.bounds import (
    EARLIEST_TIMESTAMP,
    LATEST_TIMESTAMP,
    MAX_CATEGORIES,
    MAX_CATEGORY_LENGTH,
    MAX_ID_LENGTH,
    MAX_MESSAGES,
    MAX_PAGE,
    MAX_TEXT_LENGTH,
    text_problem,
)
from memkit.errors import BatchLimitError, InvalidInputError, MetadataError
from memkit.extract._interface import Message, Operation, Side

__all__ = [
    "MAX_ACTIVITY_ROWS",
    "MAX_BATCH",
    "MAX_PAGE_SIZE",
    "Scope",
    "admit_operations",
    "check_activity_query",
    "check_batch",
    "check_categories",
    "check_id",
    "check_metadata",
    "check_paging",
    "check_text",
    "normalize_messages",
    "parse_timestamp",
]

MAX_BATCH = 1000
MAX_PAGE_SIZE = 1000
# Measured: one record with 10,000 metadata keys broke its Chroma collection for good.
MAX_METADATA_KEYS = 64
MAX_METADATA_KEY_LENGTH = 64
MAX_METADATA_STRING = 4096
MAX_METADATA_BYTES = 16_384
_KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_INT64 = 2**63


@dataclass(frozen=True)
class Scope:
    """The entity ids of one call; at least one is set for writes."""

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None

    @classmethod
    def of(cls, **ids: str | None) -> Scope:
        for name, value in ids.items():
            if value is not None:
                check_id(value, name)
        return cls(**ids)

    def as_dict(self) -> dict[str, str]:
        """The ids that are set."""
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def as_full_dict(self) -> dict[str, str | None]:
        return dict(self.__dict__)

    def __bool__(self) -> bool:
        return bool(self.as_dict())

    def sides(self) -> list[Side]:
        """Which message roles give memories: user messages for a user, assistant for an agent."""
        if self.user_id and self.agent_id:
            return ["user", "assistant"]
        if self.agent_id:
            return ["assistant"]
        if self.user_id:
            return ["user"]
        return ["user", "assistant"]  # app_id / run_id alone: both sides, like the platform

    def for_side(self, side: Side) -> Scope:
        """Dual tagging: user facts carry only user_id, assistant facts only agent_id."""
        if self.user_id and self.agent_id:
            if side == "user":
                return Scope(self.user_id, None, self.app_id, self.run_id)
            return Scope(None, self.agent_id, self.app_id, self.run_id)
        return self


def check_id(value: Any, name: str) -> str:
    """An entity, memory or session id: a non-empty string that every store can hold.

    Ids are identities, compared exactly: ``"*"`` is the id ``*``, not a wildcard.
    """
    return _storable_string(value, name, MAX_ID_LENGTH)


def check_text(value: Any, name: str) -> str:
    """A memory text or query: a non-empty string of at most MAX_TEXT_LENGTH characters."""
    return _storable_string(value, name, MAX_TEXT_LENGTH)


def _storable_string(value: Any, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        shown = f"{value!r}"[:80]
        raise InvalidInputError(f"{name} must be a non-empty string, got {shown}")
    problem = text_problem(value, max_length)
    if problem is not None:
        raise InvalidInputError(f"{name} {problem}")
    return value


def normalize_messages(messages: Any, scope: Scope) -> list[Message]:
    """A string, one message dict or a list of them -> messages; system ones are kept as context."""
    if isinstance(messages, str):
        role = "user" if scope.user_id else "assistant"
        items: list[Any] = [{"role": role, "content": messages}]
    elif isinstance(messages, Mapping):
        items = [messages]
    elif isinstance(messages, Sequence) and not isinstance(messages, bytes):
        items = list(messages)
    else:
        raise InvalidInputError(
            f"messages must be a string, a message dict or a list of them, "
            f"not {type(messages).__name__}"
        )
    if len(items) > MAX_MESSAGES:
        raise InvalidInputError(f"messages: at most {MAX_MESSAGES} in one call, got {len(items)}")
    out: list[Message] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            item = {"role": "user" if scope.user_id else "assistant", "content": item}
        if not isinstance(item, Mapping):
            raise InvalidInputError(f"messages[{i}] must be a dict with role and content")
        item = _with_parts(item, f"messages[{i}].content")
        try:
            message = Message.model_validate(item)
        except ValidationError as exc:
            problem = exc.errors()[0]
            field = ".".join(str(p) for p in problem["loc"])
            raise InvalidInputError(f"messages[{i}].{field}: {problem['msg']}") from exc
        for field, text in (("content", message.content), ("name", message.name)):
            trouble = None if text is None else text_problem(text, MAX_TEXT_LENGTH)
            if trouble is not None:
                raise InvalidInputError(f"messages[{i}].{field} {trouble}")
        out.append(message)
    check_image_total(sum(image_bytes(m.parts) for m in out))
    if not any(m.content.strip() or m.images for m in out):
        raise InvalidInputError("messages are empty: nothing to remember")
    return out


def _with_parts(item: Mapping[str, Any], field: str) -> dict[str, Any]:
    """The message with list content read into its text and parts (``memkit._content``);
    ``parts`` comes only from ``content``, never from the caller's dict."""
    clean = {k: v for k, v in item.items() if k != "parts"}
    content = clean.get("content")
    if content is not None and not isinstance(content, str):
        clean["content"], clean["parts"] = read_content(content, field)
    return clean


def parse_timestamp(value: Any) -> float:
    """Epoch seconds, a datetime, a date or an ISO string -> epoch seconds (UTC), from
    1970-01-01 up to the start of year 9999: every later step can turn it into a datetime."""
    seconds = _epoch_seconds(value)
    if not (math.isfinite(seconds) and EARLIEST_TIMESTAMP <= seconds < LATEST_TIMESTAMP):
        raise InvalidInputError(
            f"timestamp must lie between 1970-01-01 and 9999-01-01 (UTC), got {value!r}"
        )
    return seconds


def _epoch_seconds(value: Any) -> float:
    if isinstance(value, bool):
        raise InvalidInputError(
            f"timestamp must be epoch seconds, a datetime or ISO string: {value!r}"
        )
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidInputError(f"timestamp is not an ISO date or datetime: {value!r}") from exc
    else:
        raise InvalidInputError(
            f"timestamp must be epoch seconds, a datetime or ISO string, not {type(value).__name__}"
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):  # a date that leaves datetime's range in UTC
        return math.inf


def check_metadata(metadata: Any) -> dict[str, Any]:
    """Keys, value types and sizes that the index can hold, checked before any write."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise MetadataError(f"metadata must be a dict, not {type(metadata).__name__}")
    if len(metadata) > MAX_METADATA_KEYS:
        raise MetadataError(f"metadata has {len(metadata)} keys; at most {MAX_METADATA_KEYS}")
    clean: dict[str, Any] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not _KEY.match(key) or len(key) > MAX_METADATA_KEY_LENGTH:
            raise MetadataError(
                f"metadata key {key!r} must be 1-{MAX_METADATA_KEY_LENGTH} characters of "
                "letters, digits, '_', '.', '-' (not starting with '.' or '-')"
            )
        clean[key] = _metadata_value(key, value)
    if len(json.dumps(clean)) > MAX_METADATA_BYTES:
        raise MetadataError(f"metadata is larger than {MAX_METADATA_BYTES} bytes as JSON")
    return clean


def _metadata_value(key: str, value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise MetadataError(f"metadata[{key!r}] is outside the 64-bit integer range")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MetadataError(f"metadata[{key!r}] must be a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        problem = text_problem(value, MAX_METADATA_STRING)
        if problem is not None:
            raise MetadataError(f"metadata[{key!r}] {problem}")
        return value
    raise MetadataError(
        f"metadata[{key!r}] must be a string, number or boolean, not {type(value).__name__} "
        "(the index cannot hold nested or null values)"
    )


def check_categories(categories: Any, name: str = "categories") -> list[str]:
    """At most MAX_CATEGORIES names, each a metadata key of the index (no ':')."""
    if isinstance(categories, str):
        categories = [categories]
    if not isinstance(categories, Sequence) or not all(
        isinstance(c, str) and c.strip() and ":" not in c for c in categories
    ):
        raise InvalidInputError(f"{name} must be a list of non-empty strings without ':'")
    clean = list(dict.fromkeys(c.strip() for c in categories))
    if len(clean) > MAX_CATEGORIES:
        raise InvalidInputError(f"{name}: at most {MAX_CATEGORIES}, got {len(clean)}")
    for category in clean:
        problem = text_problem(category, MAX_CATEGORY_LENGTH)
        if problem is not None:
            raise InvalidInputError(f"{name}: {category[:40]!r} {problem}")
    return clean


def check_paging(page: Any, page_size: Any) -> tuple[int, int]:
    for name, value in (("page", page), ("page_size", page_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInputError(f"{name} must be a positive integer, got {value!r}")
    if page_size > MAX_PAGE_SIZE:
        raise InvalidInputError(f"page_size must be at most {MAX_PAGE_SIZE}, got {page_size}")
    if page > MAX_PAGE:
        raise InvalidInputError(f"page must be at most {MAX_PAGE}, got {page}")
    return page, page_size


MAX_ACTIVITY_ROWS = 10_000  # rows one activity() call returns


def check_activity_query(limit: Any, kind: Any) -> tuple[int, str | None]:
    """``activity``'s arguments: a server passes them on from any caller."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInputError(f"limit must be a positive integer, got {limit!r}")
    if limit > MAX_ACTIVITY_ROWS:
        raise InvalidInputError(f"limit must be at most {MAX_ACTIVITY_ROWS}, got {limit}")
    if kind is not None and (not isinstance(kind, str) or len(kind) > 64):
        raise InvalidInputError("kind must be an operation's name (add, search, ...) or None")
    return limit, kind


def check_batch(items: Any, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise InvalidInputError(f"{name} takes a list of items")
    if len(items) > MAX_BATCH:
        raise BatchLimitError(f"{name} takes at most {MAX_BATCH} items, got {len(items)}")
    if not items:
        raise InvalidInputError(f"{name} got an empty list")
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("memory_id"), str):
            raise InvalidInputError(f"{name}[{i}] must be a dict with a string 'memory_id'")
        check_id(item["memory_id"], f"{name}[{i}].memory_id")
    return list(items)


def admit_operations(operations: Sequence[Operation]) -> list[Operation]:
    """An extractor's plan cut to what the store can hold.

    A plan comes from a model's JSON (where ``"\\u0000"`` or a lone ``"\\ud800"`` is one
    escape away) or from a user's own Extractor, and what it writes must meet the same bounds
    as a caller's input. It is cleaned rather than refused, since the caller did nothing
    wrong: NULs and lone surrogates are dropped from a fact, which is cut to
    MAX_TEXT_LENGTH characters (an ADD or UPDATE left empty is dropped), and categories
    that are no valid name, or past the first MAX_CATEGORIES, are left off.
    """
    admitted: list[Operation] = []
    for op in operations:
        text = op.text
        if text is not None:
            text = _UNSTORABLE.sub("", text).strip()[:MAX_TEXT_LENGTH]
            if not text and op.event in ("ADD", "UPDATE"):
                continue
        categories = [
            c
            for c in dict.fromkeys(c.strip() for c in op.categories if isinstance(c, str))
            if c and ":" not in c and text_problem(c, MAX_CATEGORY_LENGTH) is None
        ][:MAX_CATEGORIES]
        admitted.append(op.model_copy(update={"text": text, "categories": tuple(categories)}))
    return admitted


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
