"""A LangChain embeddings model and chat model as memkit's embedder and LLM."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from langchain_memkit import LangChainEmbedder, LangChainExtractor
from langchain_memkit.testing import ScriptedChatModel
from memkit import Memory
from memkit.errors import ExtractionError


def test_embedder_satisfies_memkits_protocol() -> None:
    embedder = LangChainEmbedder(DeterministicFakeEmbedding(size=32))
    assert embedder.name == "langchain:DeterministicFakeEmbedding:size=32"
    vectors = embedder.embed(["likes tea", "lives in Paris", "likes tea"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 32) == (3, embedder.dims)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert np.array_equal(vectors[0], vectors[2])
    assert embedder.embed([]).shape == (0, 32)
    assert LangChainEmbedder(DeterministicFakeEmbedding(size=8), name="mine").dims == 8


def test_memory_runs_on_langchain_embeddings(memkit_home) -> None:
    with Memory(embedder=LangChainEmbedder(DeterministicFakeEmbedding(size=64))) as memory:
        memory.add("Lives in Paris", user_id="alex", infer=False)
        memory.add("Plays chess", user_id="alex", infer=False)
        first, second = memory.search("Lives in Paris", user_id="alex").results
        assert first.memory == "Lives in Paris" and first.score > second.score


def plan(*memories: dict) -> str:
    return json.dumps({"memories": list(memories), "forget": []})


def test_memory_extracts_with_a_langchain_chat_model(memkit_home) -> None:
    model = ScriptedChatModel(
        messages=iter(
            [
                plan(
                    {
                        "event": "ADD",
                        "source": 1,
                        "text": "Lives in Lisbon",
                        "target": None,
                        "categories": ["personal_details"],
                    }
                ),
                "this is not JSON",  # rejected, and repaired once
                plan(
                    {
                        "event": "UPDATE",
                        "source": 1,
                        "text": "Lives in Porto",
                        "target": "m1",
                        "categories": ["personal_details"],
                    }
                ),
            ]
        )
    )
    with Memory(extractor=LangChainExtractor(model)) as memory:
        added = memory.add("I moved to Lisbon", user_id="alex")
        assert [(e.event, e.memory) for e in added.results] == [("ADD", "Lives in Lisbon")]
        changed = memory.add("Actually I live in Porto now", user_id="alex")
        assert [(e.event, e.memory, e.previous_memory) for e in changed.results] == [
            ("UPDATE", "Lives in Porto", "Lives in Lisbon")
        ]
    first = model.calls[0]
    assert [type(m) for m in first] == [SystemMessage, HumanMessage]
    assert "I moved to Lisbon" in first[1].text
    assert isinstance(model.calls[2][-2], AIMessage)  # the repair shows the rejected answer
    assert "rejected" in model.calls[2][-1].text


def test_json_schema_mode_binds_the_response_format(memkit_home) -> None:
    bound: list[dict] = []

    class Recording(ScriptedChatModel):
        def bind(self, **kwargs):  # type: ignore[override]
            bound.append(kwargs)
            return self

    model = Recording(messages=itertools.repeat(plan()))
    with Memory(extractor=LangChainExtractor(model, json_schema=True)) as memory:
        assert memory.add("I like tea", user_id="alex").results == []
    (options,) = bound
    assert options["response_format"]["type"] == "json_schema"


def test_a_failing_chat_model_is_an_extraction_error_and_the_add_is_kept(memkit_home) -> None:
    class Unreachable(ScriptedChatModel):
        def _generate(self, *args, **kwargs):  # type: ignore[override]
            raise ConnectionError("provider unreachable")

    model = Unreachable(messages=iter([]))
    with Memory(extractor=LangChainExtractor(model)) as memory:
        with pytest.raises(ExtractionError, match="ConnectionError: provider unreachable") as err:
            memory.add("I moved to Lisbon", user_id="alex")
        assert isinstance(err.value.__cause__.__cause__, ConnectionError)
        assert memory.get_all(user_id="alex").count == 0  # nothing half-written
        (kept,) = memory.pending()
        assert kept["id"] == err.value.pending_id
