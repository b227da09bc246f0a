"""MemkitRetriever: scored nodes with record fields, filters, real async, query engines."""

from __future__ import annotations

import threading

import llama_index.core
import pytest
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import MetadataMode
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from llamaindex_memkit import MemkitRetriever, offline_tokenizer
from llamaindex_memkit.testing import RecordingLLM
from memkit import AsyncMemory, Memory
from memkit.errors import InvalidFilterError


@pytest.fixture
def store():
    memory = Memory()
    memory.add(
        "Is allergic to peanuts",
        user_id="alex",
        infer=False,
        metadata={"priority": 5, "source": "doctor"},
        categories=["health"],
    )
    memory.add(
        "Loves Thai food",
        user_id="alex",
        infer=False,
        metadata={"priority": 1},
        categories=["food"],
    )
    memory.add("Loves steak", user_id="bob", infer=False, categories=["food"])
    yield memory
    memory.close()


def test_nodes_carry_the_record(store):
    nodes = MemkitRetriever(store, user_id="alex").retrieve("peanut allergy")
    assert [n.node.get_content() for n in nodes] == ["Is allergic to peanuts", "Loves Thai food"]
    assert nodes[0].score > nodes[1].score
    top = nodes[0].node
    record = store.get(top.node_id)
    assert top.metadata["user_id"] == "alex" and top.metadata["agent_id"] is None
    assert top.metadata["categories"] == ["health"]
    assert top.metadata["created_at"] == record.created_at.isoformat()
    assert top.metadata["hash"] == record.hash
    assert (top.metadata["priority"], top.metadata["source"]) == (5, "doctor")
    llm_view = top.get_content(metadata_mode=MetadataMode.LLM)
    assert "health" in llm_view and "alex" not in llm_view
    assert top.get_content(metadata_mode=MetadataMode.EMBED) == "Is allergic to peanuts"


def test_scope_similarity_top_k_and_threshold(store):
    assert [
        n.node.get_content() for n in MemkitRetriever(store, user_id="bob").retrieve("food")
    ] == ["Loves steak"]
    assert len(MemkitRetriever(store, user_id="alex", similarity_top_k=1).retrieve("food")) == 1
    assert MemkitRetriever(store, user_id="alex", threshold=0.99).retrieve("food") == []


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"categories": {"contains": "food"}}, ["Loves Thai food"]),
        ({"metadata": {"priority": {"gte": 3}}}, ["Is allergic to peanuts"]),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="priority", value=3, operator=FilterOperator.LT)]
            ),
            ["Loves Thai food"],
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(key="categories", value=["health"], operator=FilterOperator.ANY)
                ]
            ),
            ["Is allergic to peanuts"],
        ),
        (
            MetadataFilters(
                filters=[
                    MetadataFilter(
                        key="text", value="thai", operator=FilterOperator.TEXT_MATCH_INSENSITIVE
                    )
                ]
            ),
            ["Loves Thai food"],
        ),
    ],
)
def test_filters(store, filters, expected):
    nodes = MemkitRetriever(store, user_id="alex", filters=filters).retrieve("what about me?")
    assert [n.node.get_content() for n in nodes] == expected


def test_bad_filters_fail_at_construction(store):
    with pytest.raises(InvalidFilterError):
        MemkitRetriever(store, user_id="alex", filters={"created_at": {"gte": "not a date"}})


async def test_aretrieve_awaits_the_async_client(store, monkeypatch):
    amem = AsyncMemory(memory=store)
    awaited: list[str] = []
    real = amem.search

    async def spy(query, **kwargs):
        awaited.append(query)
        return await real(query, **kwargs)

    threads: list[threading.Thread] = []
    blocking = store.search

    def in_thread(*args, **kwargs):
        threads.append(threading.current_thread())
        return blocking(*args, **kwargs)

    monkeypatch.setattr(amem, "search", spy)
    monkeypatch.setattr(store, "search", in_thread)
    nodes = await MemkitRetriever(amem, user_id="alex").aretrieve("peanuts")
    assert awaited == ["peanuts"] and nodes[0].node.get_content() == "Is allergic to peanuts"
    assert threads and threading.current_thread() not in threads  # the loop never blocked


async def test_in_a_query_engine(store, monkeypatch):
    monkeypatch.setattr(llama_index.core, "global_tokenizer", offline_tokenizer())
    llm = RecordingLLM()
    engine = RetrieverQueryEngine.from_args(MemkitRetriever(store, user_id="alex"), llm=llm)
    response = engine.query("What can I not eat?")
    assert "Is allergic to peanuts" in llm.prompts[-1] and "steak" not in llm.prompts[-1]
    assert response.source_nodes[0].node.get_content() == "Is allergic to peanuts"
    response = await engine.aquery("What can I not eat?")
    assert len(response.source_nodes) == 2
