"""Every error memkit raises, under one base.

    MemkitError
    ├── MemkitUsageError (also ValueError): the caller asked for something wrong
    │   ├── ConfigError            unknown key / provider, wrong type, at construction
    │   │   └── MissingDependencyError   an optional package is not installed (also
    │   │                                ImportError); names the extra that installs it
    │   ├── InvalidFilterError     malformed v2 filter; ``path`` names the bad node
    │   ├── InvalidInputError      empty messages, no entity id, bad timestamp, ...
    │   │   ├── MetadataError      metadata Chroma cannot hold, or over the bounds
    │   │   ├── InvalidImportError a line of an import file is malformed; ``line`` names it
    │   │   └── UnsupportedContentError  a message part nothing configured reads (an
    │   │                                image without a vision LLM); names the part
    │   ├── BatchLimitError        more than 1000 items in a batch call
    │   ├── MemoryNotFoundError    unknown memory id (also LookupError)
    │   └── ImmutableMemoryError   update of a memory added with ``immutable=True``
    └── MemkitRuntimeError: the call was fine, something underneath failed
        ├── StoreLockedError       another process holds the embedded store
        ├── ExtractionError        the LLM failed for good; messages kept for replay
        ├── EmbeddingError         the embedder failed
        ├── VectorStoreError       Chroma failed or timed out
        └── RecordStoreError       the SQL record store (SQLite or PostgreSQL) failed

Usage errors are raised before anything is written, so a failed call changes nothing.
``HistoryError`` is the deprecated old name of ``RecordStoreError`` (it was raised for
every SQL failure, not only the history's): ``except HistoryError`` still catches it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

__all__ = [
    "BatchLimitError",
    "ConfigError",
    "EmbeddingError",
    "ExtractionError",
    "ImmutableMemoryError",
    "InvalidFilterError",
    "InvalidImportError",
    "InvalidInputError",
    "MemkitError",
    "MemkitRuntimeError",
    "MemkitUsageError",
    "MemoryNotFoundError",
    "MetadataError",
    "MissingDependencyError",
    "RecordStoreError",
    "StoreLockedError",
    "UnsupportedContentError",
    "VectorStoreError",
]


class MemkitError(Exception):
    """Base of every memkit error."""


class MemkitUsageError(MemkitError, ValueError):
    """The call itself was wrong; nothing was changed."""


class ConfigError(MemkitUsageError):
    """A configuration entry is unknown or has the wrong type."""


class MissingDependencyError(ConfigError, ImportError):
    """The configuration needs a package that is not installed. A ConfigError, because the
    configuration chose it, and an ImportError, because that is what a missing package is;
    the message names the ``pip install`` that fixes it."""


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


class InvalidImportError(InvalidInputError):
    """An import file (``Memory.import_``) is malformed; nothing was written. ``line`` is the
    1-based line number of the offending line (None for the file as a whole)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        self.reason = message
        super().__init__(f"line {line}: {message}" if line is not None else message)


class UnsupportedContentError(InvalidInputError):
    """A message part this Memory cannot read, refused rather than dropped: an image with
    no vision-capable LLM configured, or with ``infer=False``. ``field`` names the part
    (``messages[0].content[1]``); the message says what to configure."""

    def __init__(self, message: str, field: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class BatchLimitError(MemkitUsageError):
    """A batch call carried more items than allowed."""


class MemoryNotFoundError(MemkitUsageError, LookupError):
    """No memory has this id."""

    def __init__(self, memory_id: str) -> None:
        self.memory_id = memory_id
        super().__init__(f"no memory with id {memory_id!r}")


class ImmutableMemoryError(MemkitUsageError):
    """The memory was added with ``immutable=True``: it is never updated. Delete it and
    add the new text instead, as the platform says."""

    def __init__(self, memory_id: str) -> None:
        self.memory_id = memory_id
        super().__init__(
            f"memory {memory_id!r} is immutable (added with immutable=True): it cannot be "
            "updated; delete it and add the new text instead"
        )


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


class RecordStoreError(MemkitRuntimeError):
    """The SQL record store (SQLite or PostgreSQL) failed: any statement, not only the
    history's."""


if TYPE_CHECKING:
    HistoryError = RecordStoreError
else:

    def __getattr__(name: str) -> Any:
        if name == "HistoryError":
            warnings.warn(
                "memkit.errors.HistoryError is deprecated: it is RecordStoreError",
                DeprecationWarning,
                stacklevel=2,
            )
            return RecordStoreError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def format_path(path: Sequence[str | int]) -> str:
    """``("AND", 1, "created_at", "gte")`` -> ``AND[1].created_at.gte``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
