"""The package's public surface, and that nothing runs without a scope."""

from __future__ import annotations

import subprocess
import sys

import pytest

import llamaindex_memkit
from llamaindex_memkit import (
    MemkitContext,
    MemkitMemory,
    MemkitMemoryBlock,
    MemkitRetriever,
)
from llamaindex_memkit.context import build_context
from memkit import Memory
from memkit.errors import InvalidInputError


def test_all_is_pinned():
    assert llamaindex_memkit.__all__ == [
        "LlamaIndexEmbedder",
        "LlamaIndexExtractor",
        "MemkitContext",
        "MemkitMemory",
        "MemkitMemoryBlock",
        "MemkitRetriever",
        "offline_tokenizer",
        "to_memkit_filter",
        "use_offline_tokenizer",
    ]
    for name in llamaindex_memkit.__all__:
        assert getattr(llamaindex_memkit, name).__doc__


def test_import_changes_no_llamaindex_setting():
    code = (
        "import llama_index.core as core, llamaindex_memkit; "
        "assert core.global_tokenizer is None, 'import set the global tokenizer'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture
def store():
    memory = Memory()
    yield memory
    memory.close()


@pytest.mark.parametrize(
    "build",
    [
        lambda m, **kw: MemkitMemory.from_client(m, **kw),
        lambda m, **kw: MemkitMemoryBlock(m, **kw),
        lambda m, **kw: MemkitRetriever(m, **kw),
    ],
    ids=["memory", "block", "retriever"],
)
@pytest.mark.parametrize("scope", [{}, {"user_id": ""}, {"user_id": "  ", "run_id": None}])
def test_no_component_runs_without_a_scope(store, build, scope):
    with pytest.raises(ValueError, match=r"scope|non-empty"):
        build(store, **scope)


@pytest.mark.parametrize(
    "build",
    [
        lambda m, **kw: MemkitMemory.from_client(m, **kw),
        lambda m, **kw: MemkitMemoryBlock(m, **kw),
        lambda m, **kw: MemkitRetriever(m, **kw),
        lambda m, **kw: MemkitContext(**kw),
        lambda m, **kw: MemkitMemory.from_client(m, context=kw),
    ],
    ids=["memory", "block", "retriever", "context", "context-dict"],
)
@pytest.mark.parametrize("scope", [{}, {"user_id": ""}, {"agent_id": " ", "run_id": None}])
def test_a_missing_scope_is_memkits_invalid_input_error(store, build, scope):
    """As in the core and the LangChain adapter: not a pydantic ValidationError."""
    with pytest.raises(InvalidInputError) as info:
        build(store, **scope)
    assert type(info.value) is InvalidInputError
    assert "scope" in str(info.value) or "non-empty" in str(info.value)


def test_scope_is_given_one_way():
    with pytest.raises(ValueError, match="not both"):
        build_context({"user_id": "a"}, user_id="b")
    with pytest.raises(ValueError):
        MemkitContext(user_id="a", colour="red")


@pytest.mark.parametrize(
    ("ids", "filters", "expected"),
    [
        ({"user_id": "alex"}, None, {"filters": {"user_id": {"eq": "alex"}}}),
        (
            {"agent_id": "bot", "run_id": "r1"},
            None,
            {"filters": {"AND": [{"agent_id": {"eq": "bot"}}, {"run_id": {"eq": "r1"}}]}},
        ),
        (
            {"user_id": "alex", "agent_id": "bot"},
            None,
            {"filters": {"OR": [{"user_id": {"eq": "alex"}}, {"agent_id": {"eq": "bot"}}]}},
        ),
        (
            {"user_id": "alex", "agent_id": "bot", "app_id": "a"},
            {"categories": "food"},
            {
                "filters": {
                    "AND": [
                        {"categories": "food"},
                        {"OR": [{"user_id": {"eq": "alex"}}, {"agent_id": {"eq": "bot"}}]},
                        {"app_id": {"eq": "a"}},
                    ]
                }
            },
        ),
        (
            {"user_id": "alex"},
            {"categories": "food"},
            {"filters": {"AND": [{"categories": "food"}, {"user_id": {"eq": "alex"}}]}},
        ),
    ],
)
def test_recall_scope(ids, filters, expected):
    assert MemkitContext(**ids).search_kwargs(filters) == expected
