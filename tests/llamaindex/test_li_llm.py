"""LlamaIndexExtractor: a LlamaIndex LLM answering memkit's extraction calls."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import ChatMessage

from llamaindex_memkit import LlamaIndexExtractor, MemkitMemory
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory
from memkit.errors import ExtractionError


def plan(*memories: dict) -> str:
    return json.dumps({"memories": list(memories), "forget": []})


def add(text: str, source: int = 1) -> dict:
    return {"event": "ADD", "source": source, "text": text, "target": None, "categories": []}


def test_the_llm_decides_what_is_remembered():
    llm = RecordingLLM(reply=lambda prompt: plan(add("Is vegetarian")))
    memory = Memory(extractor=LlamaIndexExtractor(llm))
    events = memory.add("I'm vegetarian, by the way", user_id="alex").results
    assert [(e.event, e.memory) for e in events] == [("ADD", "Is vegetarian")]
    assert len(llm.prompts) == 1
    assert "I'm vegetarian, by the way" in llm.prompts[0] and "JSON" in llm.prompts[0]
    assert "response_format" not in llm.options[0]
    memory.close()


def test_an_answer_invalid_twice_is_an_extraction_error():
    llm = RecordingLLM(reply=lambda prompt: "not json")
    memory = Memory(extractor=LlamaIndexExtractor(llm))
    with pytest.raises(ExtractionError):
        memory.add("I'm vegetarian", user_id="alex")
    assert len(llm.prompts) == 2  # the answer, then one repair
    assert memory.get_all(user_id="alex").count == 0
    memory.close()


def test_json_schema_is_passed_as_response_format():
    llm = RecordingLLM(reply=lambda prompt: plan())
    memory = Memory(extractor=LlamaIndexExtractor(llm, json_schema=True))
    memory.add("I'm vegetarian", user_id="alex")
    assert llm.options[0]["response_format"]["type"] == "json_schema"
    memory.close()


async def test_memkit_memory_sends_each_turn_once_to_the_llm():
    extraction = RecordingLLM(reply=lambda prompt: plan(add("Lives in Lisbon")))
    store = Memory(extractor=LlamaIndexExtractor(extraction))
    memory = MemkitMemory.from_client(store, user_id="alex")
    await memory.aput(ChatMessage(role="user", content="I live in Lisbon"))
    await memory.aput(ChatMessage(role="assistant", content="Lovely city!"))
    await memory.aput(ChatMessage(role="user", content="Thanks"))
    assert len(extraction.prompts) == 1
    assert "I live in Lisbon" in extraction.prompts[0] and "Lovely city!" in extraction.prompts[0]
    assert [r.memory for r in store.get_all(user_id="alex").results] == ["Lives in Lisbon"]
    store.close()


def test_a_failing_llm_is_an_extraction_error_and_the_add_is_kept():
    def unreachable(prompt: str) -> str:
        raise TimeoutError("provider timed out")

    memory = Memory(extractor=LlamaIndexExtractor(RecordingLLM(reply=unreachable)))
    with pytest.raises(ExtractionError, match="TimeoutError: provider timed out") as err:
        memory.add("I'm vegetarian", user_id="alex")
    assert memory.get_all(user_id="alex").count == 0
    assert [row["id"] for row in memory.pending()] == [err.value.pending_id]
    memory.close()
