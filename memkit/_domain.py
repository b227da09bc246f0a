"""Domain types every layer shares: a memory as memkit holds it, a history row, a write set.

They sit below the store (which persists them) and the facade (which builds them), so the
SQL module holds SQL only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from memkit.models import MemoryRecord

__all__ = ["HistoryRow", "StoredMemory", "WriteSet", "epoch_to_datetime"]


@dataclass(frozen=True)
class StoredMemory:
    """A memory as the record store holds it."""

    id: str
    memory: str
    hash: str
    user_id: str | None
    agent_id: str | None
    app_id: str | None
    run_id: str | None
    metadata: dict[str, Any]
    categories: list[str]
    embedding: np.ndarray
    created_at: float
    updated_at: float
    # The platform's add options: an immutable memory is never updated, by ``update`` or
    # by an extractor; one past its expiration date ("YYYY-MM-DD", inclusive, UTC) is
    # left out of search and get_all, never deleted.
    immutable: bool = False
    expiration_date: str | None = None

    def evolve(self, **changes: Any) -> StoredMemory:
        return replace(self, **changes)

    def as_filter_record(self) -> dict[str, Any]:
        """The plain record that the filter evaluator and the index layout read."""
        return {
            "id": self.id,
            "memory": self.memory,
            "user_id": self.user_id,
            "agent_id": self.agent_id,
            "app_id": self.app_id,
            "run_id": self.run_id,
            "metadata": self.metadata,
            "categories": self.categories,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    def to_model(self) -> MemoryRecord:
        return MemoryRecord(**self.public_fields())

    def public_fields(self) -> dict[str, Any]:
        """The fields of ``MemoryRecord``: a model extending it (a search hit) is built
        from these and its own, and validated once."""
        return dict(
            id=self.id,
            memory=self.memory,
            hash=self.hash,
            user_id=self.user_id,
            agent_id=self.agent_id,
            app_id=self.app_id,
            run_id=self.run_id,
            metadata=dict(self.metadata),
            categories=list(self.categories),
            created_at=epoch_to_datetime(self.created_at),
            updated_at=epoch_to_datetime(self.updated_at),
            immutable=self.immutable,
            expiration_date=self.expiration_date,
        )


@dataclass(frozen=True)
class HistoryRow:
    memory_id: str
    event: str
    old_memory: str | None
    new_memory: str | None
    memory: StoredMemory  # the memory as it is after (ADD/UPDATE) or was before (DELETE)
    created_at: float


@dataclass
class WriteSet:
    """Everything one call changes, committed in one transaction."""

    inserts: list[StoredMemory] = field(default_factory=list)
    updates: list[StoredMemory] = field(default_factory=list)
    deletes: list[StoredMemory] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.updates or self.deletes)


def epoch_to_datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)
