"""Configuration is validated at construction; the public surface is pinned."""

from __future__ import annotations

import pytest

import memkit
from memkit import Memory
from memkit.config import MemoryConfig, load_config
from memkit.errors import (
    BatchLimitError,
    ConfigError,
    ExtractionError,
    InvalidFilterError,
    MemkitError,
    MemoryNotFoundError,
    MetadataError,
    RecordStoreError,
    VectorStoreError,
)


def test_public_api_is_pinned():
    assert sorted(memkit.__all__) == [
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


def test_error_families():
    for usage in (
        ConfigError,
        InvalidFilterError,
        MetadataError,
        BatchLimitError,
        MemoryNotFoundError,
    ):
        assert issubclass(usage, MemkitError) and issubclass(usage, ValueError)
    assert issubclass(MemoryNotFoundError, LookupError)
    for runtime in (ExtractionError, VectorStoreError, RecordStoreError):
        assert issubclass(runtime, MemkitError) and not issubclass(runtime, ValueError)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"vector_stor": {}}, "vector_stor"),
        ({"vector_store": {"provider": "qdrant"}}, "vector_store.provider"),
        (
            {"embedder": {"provider": "onnx", "config": {"batch_size": "many"}}},
            "embedder.config.batch_size",
        ),
        ({"llm": {"config": {"temperature": "hot"}}}, "llm.config.temperature"),
        (
            {"vector_store": {"config": {"collection_name": "c"}}},
            "vector_store.config.collection_name",
        ),
        ({"categories": 5}, "categories"),
    ],
)
def test_bad_config_names_the_key(config, key):
    with pytest.raises(ConfigError) as caught:
        Memory.from_config(config)
    assert key in str(caught.value)


def test_a_mem0_config_moves_over(tmp_path):
    config = load_config(
        {
            "version": "v1.1",
            "history_db_path": str(tmp_path / "history.db"),
            "llm": {
                "provider": "openai",
                "config": {"model": "gpt-4o-mini", "openai_base_url": "http://127.0.0.1:9/v1"},
            },
            "vector_store": {
                "provider": "chroma",
                "config": {"path": str(tmp_path / "chroma"), "collection_name": "mem0"},
            },
        }
    )
    assert config.record_store.url == f"sqlite:///{tmp_path / 'history.db'}"
    assert config.llm is not None and config.llm.config.base_url == "http://127.0.0.1:9/v1"


def test_config_as_model_and_custom_categories(tmp_path):
    config = MemoryConfig(path=str(tmp_path), categories={"pets": "animals the user keeps"})
    with Memory.from_config(config) as memory:
        assert list(memory.categories) == ["pets"]
        added = memory.add("I have a dog named Rex", user_id="u")
        assert all(e.event == "ADD" for e in added.results)
    with pytest.raises(ConfigError):
        Memory(config={"categories": ["bad:name"]})


def test_memory_home_defaults_to_memkit_home(memkit_home):
    with Memory() as memory:
        memory.add("Owns a cat", user_id="u", infer=False)
    assert (memkit_home / "memkit.db").is_file()


def test_a_store_refuses_another_embedder(tmp_path):
    from memkit.testing import HashEmbedder

    Memory(path=str(tmp_path), embedder=HashEmbedder()).close()
    with pytest.raises(ConfigError, match="embedder"):
        Memory(path=str(tmp_path))
