"""memkit: long-term memory for AI agents, on your own machine by default.

from memkit import Memory
memory = Memory()
memory.add("I'm a vegetarian", user_id="alex")
memory.search("what does alex eat?", user_id="alex")
"""

from memkit._async_memory import AsyncMemory
from memkit._memory import Memory
from memkit.config import MemoryConfig
from memkit.errors import (
    BatchLimitError,
    ConfigError,
    ExtractionError,
    InvalidFilterError,
    InvalidInputError,
    MemkitError,
    MemoryNotFoundError,
    MetadataError,
    RecordStoreError,
    StoreLockedError,
    VectorStoreError,
)

__all__ = [
    "AsyncMemory",
    "BatchLimitError",
    "ConfigError",
    "ExtractionError",
    "InvalidFilterError",
    "InvalidInputError",
    "MemkitError",
    "Memory",
    "MemoryConfig",
    "MemoryNotFoundError",
    "MetadataError",
    "RecordStoreError",
    "StoreLockedError",
    "VectorStoreError",
]

__version__ = "0.1.0"
