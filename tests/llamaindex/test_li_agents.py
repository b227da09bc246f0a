"""MemkitMemory inside LlamaIndex's agents and chat engines, with a recording mock LLM."""

from __future__ import annotations

from typing import Any

import llama_index.core
import pytest
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent
from llama_index.core.chat_engine import CondensePlusContextChatEngine, SimpleChatEngine
from llama_index.core.tools import FunctionTool

from llamaindex_memkit import MemkitMemory, MemkitRetriever, offline_tokenizer
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory


@pytest.fixture
def store():
    memory = Memory()
    yield memory
    memory.close()


@pytest.fixture
def adds(store, monkeypatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    real = store.add

    def spy(messages, **kwargs):
        calls.append({"messages": messages, **kwargs})
        return real(messages, **kwargs)

    monkeypatch.setattr(store, "add", spy)
    return calls


@pytest.fixture
def offline_settings(monkeypatch):
    """Settings.tokenizer for LlamaIndex's own synthesizers; restored after the test."""
    monkeypatch.setattr(llama_index.core, "global_tokenizer", offline_tokenizer())


def weather() -> str:
    """Today's weather."""
    return "sunny"


async def test_function_agent_remembers_a_user_across_sessions(store, adds):
    llm = RecordingLLM(call_tool="weather")
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(weather)],
        llm=llm,
        system_prompt="You are a helpful assistant.",
    )
    monday = MemkitMemory.from_client(store, user_id="alex")
    await agent.run("I live in Paris. How is the weather?", memory=monday)
    # One write for the turn: the question and the final answer, no tool traffic.
    assert [[m["role"] for m in a["messages"]] for a in adds] == [["user", "assistant"]]
    assert [m.role.value for m in await monday.aget_all()] == ["user", "assistant"]

    await agent.run("I'm allergic to cats.", memory=MemkitMemory.from_client(store, user_id="bob"))

    llm.prompts.clear()
    friday = MemkitMemory.from_client(store, user_id="alex")
    answer = await agent.run("Where do I live?", memory=friday)
    assert llm.prompts and all("- Lives in Paris" in p for p in llm.prompts)
    assert not any("cats" in p for p in llm.prompts)
    assert "Lives in Paris" in str(answer)
    assert [m.content for m in await friday.aget_all()] == ["Where do I live?", str(answer)]
    assert len(adds) == 3


@pytest.mark.parametrize(
    ("system_prompt", "insert_method"),
    [
        ("You are a helpful assistant.", "system"),
        # ReActAgent drops a leading system message when it has no system_prompt of its own.
        (None, "user"),
    ],
)
async def test_react_agent_sees_recalled_memories(store, system_prompt, insert_method):
    store.add("I live in Paris", user_id="alex")
    store.add("I'm allergic to cats", user_id="bob")
    llm = RecordingLLM(react=True)
    agent = ReActAgent(tools=[], llm=llm, system_prompt=system_prompt)
    memory = MemkitMemory.from_client(store, user_id="alex", insert_method=insert_method)
    answer = await agent.run("Where do I live?", memory=memory)
    assert "- Lives in Paris" in llm.prompts[-1]
    assert "cats" not in llm.prompts[-1]
    assert "Lives in Paris" in str(answer)
    assert [r.memory for r in store.get_all(user_id="alex").results] == ["Lives in Paris"]


def test_simple_chat_engine_sync(store):
    llm = RecordingLLM()
    first = SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="alex"), system_prompt="Hi."
    )
    first.chat("I live in Paris")
    SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="bob")
    ).chat("I love cats")
    second = SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="alex")
    )
    response = second.chat("Where do I live?")
    assert "- Lives in Paris" in llm.prompts[-1] and "cats" not in llm.prompts[-1]
    assert "Lives in Paris" in str(response)
    assert [m.role.value for m in second.chat_history] == ["user", "assistant"]


async def test_simple_chat_engine_async(store):
    llm = RecordingLLM()
    await SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="alex")
    ).achat("I live in Rome")
    engine = SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="alex")
    )
    response = await engine.achat("Where do I live?")
    assert "Lives in Rome" in str(response)


@pytest.mark.usefixtures("offline_settings")
@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_condense_plus_context_engine(store, mode):
    store.add("Opening hours are 9 to 5", agent_id="kb", infer=False)
    store.add("I'm a vegetarian", user_id="alex")
    store.add("I love steak", user_id="bob")
    llm = RecordingLLM()
    engine = CondensePlusContextChatEngine.from_defaults(
        MemkitRetriever(store, agent_id="kb"),
        llm=llm,
        memory=MemkitMemory.from_client(store, user_id="alex"),
    )
    for question in ("When are you open?", "What should I eat there?"):
        if mode == "sync":
            engine.chat(question)
        else:
            await engine.achat(question)
        assert "Opening hours are 9 to 5" in llm.prompts[-1]
        assert "- Is a vegetarian" in llm.prompts[-1]
        assert "steak" not in "".join(llm.prompts)
    assert len(engine.chat_history) == 4
