"""memkit: long-term memory for AI agents, on your own machine by default.

The public names: Memory and AsyncMemory, their configuration, the result models, the
errors, and the Extractor and Embedder protocols for bringing your own.

from memkit import Memory
memory = Memory()
memory.add("I'm a vegetarian", user_id="alex")
memory.search("what does alex eat?", user_id="alex")
"""

from memkit._async_memory import AsyncMemory
from memkit._embedder import Embedder
from memkit._memory import Memory
from memkit.config import MemoryConfig
from memkit.errors import (
    BatchLimitError,
    ConfigError,
    ExtractionError,
    ImmutableMemoryError,
    InvalidFilterError,
    InvalidImportError,
    InvalidInputError,
    MemkitError,
    MemoryNotFoundError,
    MetadataError,
    RecordStoreError,
    StoreLockedError,
    UnsupportedContentError,
    VectorStoreError,
)
from memkit.extract import ExtractionContext, Extractor
from memkit.models import (
    AddEvent,
    AddResult,
    BatchResult,
    EntityInfo,
    ExportResult,
    FieldsPage,
    FieldsResult,
    HistoryEntry,
    ImportResult,
    MemoryExportJob,
    MemoryRecord,
    MessageResult,
    Page,
    SearchHit,
    SearchResult,
    StoreHealth,
    TranscriptMessage,
    UsersResult,
)

__all__ = [
    "AddEvent",
    "AddResult",
    "AsyncMemory",
    "BatchLimitError",
    "BatchResult",
    "ConfigError",
    "Embedder",
    "EntityInfo",
    "ExportResult",
    "ExtractionContext",
    "ExtractionError",
    "Extractor",
    "FieldsPage",
    "FieldsResult",
    "HistoryEntry",
    "ImmutableMemoryError",
    "ImportResult",
    "InvalidFilterError",
    "InvalidImportError",
    "InvalidInputError",
    "MemkitError",
    "Memory",
    "MemoryConfig",
    "MemoryExportJob",
    "MemoryNotFoundError",
    "MemoryRecord",
    "MessageResult",
    "MetadataError",
    "Page",
    "RecordStoreError",
    "SearchHit",
    "SearchResult",
    "StoreHealth",
    "StoreLockedError",
    "TranscriptMessage",
    "UnsupportedContentError",
    "UsersResult",
    "VectorStoreError",
]

__version__ = "0.1.0"
