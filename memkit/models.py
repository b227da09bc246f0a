"""Result models. ``model_dump(mode="json")`` of each is the platform's JSON shape.

Results also answer ``result["key"]`` so code written against the platform's dict
responses (``client.search(...)["results"]``) keeps working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, computed_field

from memkit._content import ContentPart

__all__ = [
    "ENTITY_FIELDS",
    "ID_FIELDS",
    "AddEvent",
    "AddResult",
    "BatchResult",
    "EntityInfo",
    "EntityType",
    "ExportResult",
    "FieldsPage",
    "FieldsResult",
    "HistoryEntry",
    "ImportResult",
    "MemoryExportJob",
    "MemoryRecord",
    "MessageResult",
    "Page",
    "QuarantinedMemory",
    "SearchHit",
    "SearchResult",
    "StoreHealth",
    "StoreRepair",
    "TranscriptMessage",
    "UsersResult",
]

# Always "+00:00", never "Z": the offset is spelled out, as DESIGN.md promises.
UtcDatetime = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), when_used="json")]
EntityType = Literal["user", "agent", "app", "run"]

# The four entity ids, defined here once: every layer and both adapters import them.
ID_FIELDS = ("user_id", "agent_id", "app_id", "run_id")
# Which id field names each kind of entity.
ENTITY_FIELDS: dict[EntityType, str] = {
    "user": "user_id",
    "agent": "agent_id",
    "app": "app_id",
    "run": "run_id",
}


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True)

    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default) if key in type(self).model_fields else default


class MemoryRecord(_Result):
    id: str
    memory: str
    hash: str
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    created_at: UtcDatetime
    updated_at: UtcDatetime
    immutable: bool = False
    expiration_date: str | None = None  # "YYYY-MM-DD"; hidden from search and get_all after


class SearchHit(MemoryRecord):
    score: float


class AddEvent(_Result):
    id: str
    memory: str
    event: Literal["ADD", "UPDATE", "DELETE", "NONE"]
    previous_memory: str | None = None
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None


class AddResult(_Result):
    results: list[AddEvent]


class SearchResult(_Result):
    results: list[SearchHit]


class Page(_Result):
    count: int
    page: int
    page_size: int
    next: int | None
    previous: int | None
    results: list[MemoryRecord]


class FieldsResult(_Result):
    """``search(fields=[...])``: each result holds only the fields asked for."""

    results: list[dict[str, Any]]


class FieldsPage(_Result):
    """``get_all(fields=[...])``: a page whose records hold only the fields asked for."""

    count: int
    page: int
    page_size: int
    next: int | None
    previous: int | None
    results: list[dict[str, Any]]


class HistoryEntry(_Result):
    id: int
    memory_id: str
    event: Literal["ADD", "UPDATE", "DELETE"]
    old_memory: str | None
    new_memory: str | None
    metadata: dict[str, Any] = Field(default_factory=dict)
    categories: list[str] = Field(default_factory=list)
    created_at: UtcDatetime


class EntityInfo(_Result):
    id: str
    name: str
    type: EntityType
    total_memories: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class UsersResult(_Result):
    count: int
    results: list[EntityInfo]


class BatchResult(_Result):
    message: str
    count: int


class TranscriptMessage(_Result):
    role: Literal["user", "assistant", "system", "tool"]
    content: str  # the text; for a message given as content parts, its text parts joined
    name: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: UtcDatetime
    parts: list[ContentPart] = Field(default_factory=list)  # as given; empty for plain text


class MessageResult(_Result):
    message: str
    count: int = 0


class QuarantinedMemory(_Result):
    """A memory the vector index refused: whole in the record store (``get`` reads it),
    left out of the index until a retry succeeds."""

    id: str
    error: str
    attempts: int
    first_failed_at: UtcDatetime
    last_failed_at: UtcDatetime


class StoreRepair(_Result):
    """What ``check(repair=True)`` changed in the index."""

    journal_replayed: int = 0
    upserted: int = 0
    deleted: int = 0
    released: int = 0  # quarantined memories the index took on retry


class StoreHealth(_Result):
    """``Memory.check()``: the record store against its index, and what was repaired.

    ``indexed`` is None (and ``index_error`` says why) when the index cannot be read.
    ``locked`` says this process holds the embedded store's file locks (``locks``); a
    store on a Chroma server and PostgreSQL takes none.
    """

    records: int
    indexed: int | None
    journal_pending: int
    quarantined: list[QuarantinedMemory] = Field(default_factory=list)
    locked: bool
    locks: list[str] = Field(default_factory=list)
    repaired: StoreRepair = Field(default_factory=StoreRepair)
    index_error: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def healthy(self) -> bool:
        """Every memory outside quarantine is indexed, nothing waits, nothing failed."""
        return (
            self.index_error is None
            and not self.journal_pending
            and not self.quarantined
            and self.indexed == self.records
        )


class ExportResult(_Result):
    """``Memory.export``: how many memories were written, with which embedder's vectors."""

    count: int
    embedder: str
    embeddings: bool  # whether each line carries its vector


class ImportResult(_Result):
    """``Memory.import_``: what each memory of the file did to the store.

    ``added`` (a new id), ``replaced`` (the id existed with other content and the file's
    version won), ``skipped`` (the store already had exactly it), ``conflicts`` (the id
    existed with other content and the store's version was kept; ids in
    ``conflict_ids``). ``re_embedded`` counts the written memories whose vector was
    computed here rather than read from the file; ``history_added`` the history entries
    written.
    """

    total: int
    added: int = 0
    replaced: int = 0
    skipped: int = 0
    conflicts: int = 0
    re_embedded: int = 0
    history_added: int = 0
    conflict_ids: list[str] = Field(default_factory=list)


class MemoryExportJob(_Result):
    """``Memory.create_memory_export``: the platform's reply; ``id`` is for
    ``get_memory_export``."""

    message: str
    id: str
