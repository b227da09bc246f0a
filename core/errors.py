"""Every error memkit raises, under one base.

    MemkitError
    ├── MemkitUsageError (also ValueError): the caller asked for something wrong
    │   ├── ConfigError            unknown key / provider, wrong type, at construction
    │   ├── InvalidFilterError     malformed v2 filter; ``path`` names the bad node
    │   ├── InvalidInputError      empty messages, no entity id, bad timestamp, ...
    │   │   └── MetadataError      metadata Chroma cannot hold, or over the bounds
    │   ├── BatchLimitError        more than 1000 items in a batch call
    │   └── MemoryNotFoundError    unknown memory id (also LookupError)
    └── MemkitRuntimeError: the call was fine, something underneath failed
        ├── StoreLockedError       another process holds the embedded store
        ├── ExtractionError        the LLM failed for good; messages kept for replay
        ├── EmbeddingError         the embedder failed
        ├── VectorStoreError       Chroma failed or timed out
        └── HistoryError           the SQL record store failed

Usage errors are raised before anything is written, so a failed call changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "BatchLimitError",
    "ConfigError",
    "EmbeddingError",
    "ExtractionError",
    "HistoryError",
    "InvalidFilterError",
    "InvalidInputError",
    "MemkitError",
    "MemkitRuntimeError",
    "MemkitUsageError",
    "MemoryNotFoundError",
    "MetadataError",
    "StoreLockedError",
    "VectorStoreError",
]


class MemkitError(Exception):
    """Base of every memkit error."""


class MemkitUsageError(MemkitError, ValueError):
    """The call itself was wrong; nothing was changed."""


class ConfigError(MemkitUsageError):
    """A configuration entry is unknown or has the wrong type."""


class InvalidFilterError(MemkitUsageError):
    """A v2 filter is malformed. ``path`` locates the bad node: ``AND[1].created_at.gte``."""

    def __init__(self, message: str, path: Sequence[str | int] = ()) -> None:
        self.path: tuple[str | int, ...] = tuple(path)
        self.reason = message
        where = format_path(self.path)
        super().__init__(f"{message} (at {where})" if where else message)


class InvalidInputError(MemkitUsageError):
    """An argument other than a filter is malformed."""


class MetadataError(InvalidInputError):
    """Metadata that the index cannot hold, or that is over memkit's bounds."""


class BatchLimitError(MemkitUsageError):
    """A batch call carried more items than allowed."""


class MemoryNotFoundError(MemkitUsageError, LookupError):
    """No memory has this id."""

    def __init__(self, memory_id: str) -> None:
        self.memory_id = memory_id
        super().__init__(f"no memory with id {memory_id!r}")


class MemkitRuntimeError(MemkitError, RuntimeError):
    """Something underneath memkit failed; the request itself was valid."""


class StoreLockedError(MemkitRuntimeError):
    """Another process has the embedded store open."""


class ExtractionError(MemkitRuntimeError):
    """The extractor failed for good. ``pending_id`` names the kept messages for replay
    (``Memory.replay(pending_id)``); ``usage`` is what the failed attempts cost."""

    def __init__(
        self,
        message: str,
        pending_id: str | None = None,
        usage: dict[str, int] | None = None,
    ) -> None:
        self.pending_id = pending_id
        self.usage: dict[str, int] = dict(usage or {})
        super().__init__(message)


class EmbeddingError(MemkitRuntimeError):
    """The embedder could not embed the texts."""


class VectorStoreError(MemkitRuntimeError):
    """The vector index (Chroma) failed or timed out."""


class HistoryError(MemkitRuntimeError):
    """The SQL record store failed."""


def format_path(path: Sequence[str | int]) -> str:
    """``("AND", 1, "created_at", "gte")`` -> ``AND[1].created_at.gte``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
