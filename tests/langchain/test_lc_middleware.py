"""MemkitMiddleware on create_agent: recall into the model call, write each finished turn."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from langchain_memkit import MemkitMiddleware
from langchain_memkit.middleware import unsaved_turn, with_memories
from langchain_memkit.testing import ScriptedChatModel, answer_from_memories, recalled_memories
from memkit import Memory
from memkit.errors import InvalidInputError
from memkit.recall import DEFAULT_HEADER
from memkit.tokens import count_tokens

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy


@dataclass
class Context:
    user_id: str


def make_agent(memory: Any, **options: Any) -> tuple[Any, ScriptedChatModel]:
    model = ScriptedChatModel(messages=itertools.repeat(answer_from_memories))
    agent = create_agent(
        model,
        system_prompt="You are a helpful assistant.",
        middleware=[MemkitMiddleware(memory, **options)],
        context_schema=Context,
        checkpointer=InMemorySaver(),
    )
    return agent, model


def ask(both, agent: Any, text: str, thread: str, user: str) -> str:
    state = {"messages": [{"role": "user", "content": text}]}
    config = {"configurable": {"thread_id": thread}}
    result = both(
        lambda: agent.invoke(state, config, context=Context(user)),
        lambda: agent.ainvoke(state, config, context=Context(user)),
    )
    return result["messages"][-1].content


def test_a_fact_told_in_one_thread_is_recalled_in_another(mem: Memory, client, both) -> None:
    agent, model = make_agent(client)
    ask(both, agent, "I live in Paris and I love green tea", "t-1", "alice")
    ask(both, agent, "I live in Rome", "t-2", "bob")
    answer = ask(both, agent, "Where do I live?", "t-3", "alice")
    assert "Lives in Paris" in answer
    system = model.calls[-1][0]
    assert isinstance(system, SystemMessage)
    assert system.text.startswith("You are a helpful assistant.")
    assert set(recalled_memories(model.calls[-1])) == {"Lives in Paris", "Loves green tea"}

    # Another user's facts never reach the model: calls 0 and 2 are alice's, 1 is bob's.
    def seen(call: list) -> str:
        return " ".join(m.text for m in call)

    assert "Rome" not in seen(model.calls[0]) + seen(model.calls[2])
    assert "Paris" not in seen(model.calls[1]) and recalled_memories(model.calls[1]) == []
    # The recall is for the call only; it is not saved into the conversation.
    state = agent.get_state({"configurable": {"thread_id": "t-3"}}).values
    assert all(DEFAULT_HEADER not in m.text for m in state["messages"])


def test_each_turn_is_written_once(mem: Memory, spy, both) -> None:
    agent, _ = make_agent(spy)
    ask(both, agent, "I live in Paris", "t-1", "alice")
    ask(both, agent, "I play the cello", "t-1", "alice")
    writes = [args[0] for args, _ in spy.named("add")]
    assert [[m["content"] for m in w if m["role"] == "user"] for w in writes] == [
        ["I live in Paris"],
        ["I play the cello"],
    ]
    assert all(kwargs == {"infer": True, "user_id": "alice"} for _, kwargs in spy.named("add"))
    assert sorted(r.memory for r in mem.get_all(user_id="alice").results) == [
        "Lives in Paris",
        "Plays the cello",
    ]


def test_component_scope_joins_the_context(mem: Memory) -> None:
    agent, _ = make_agent(mem, agent_id="helper", app_id="shop")
    agent.invoke(
        {"messages": [{"role": "user", "content": "I live in Paris"}]},
        {"configurable": {"thread_id": "t"}},
        context=Context("alice"),
    )
    (record,) = mem.get_all(user_id="alice").results
    assert (record.user_id, record.agent_id, record.app_id) == ("alice", None, "shop")


def test_with_an_agent_id_recall_draws_on_the_user_and_the_agent(mem: Memory) -> None:
    mem.add("Lives in Paris", user_id="alice", infer=False)
    mem.add("Lives in Rome", user_id="bob", infer=False)
    mem.add("Is called Max", agent_id="helper", infer=False)
    mem.add("Is called Sam", agent_id="other", infer=False)
    agent, model = make_agent(mem, agent_id="helper", write=False)
    agent.invoke(
        {"messages": [{"role": "user", "content": "Who are we?"}]},
        {"configurable": {"thread_id": "t"}},
        context=Context("alice"),
    )
    assert sorted(recalled_memories(model.calls[0])) == ["Is called Max", "Lives in Paris"]


def test_budget_keeps_the_most_relevant(mem: Memory) -> None:
    for fact in ("Lives in Paris", "Has a dog named Rex", "Works as a nurse"):
        mem.add(fact, user_id="alice", infer=False)
    budget = count_tokens(DEFAULT_HEADER) + 1 + count_tokens("- Lives in Paris") + 1
    agent, model = make_agent(mem, budget_tokens=budget, write=False)
    agent.invoke(
        {"messages": [{"role": "user", "content": "Which city is home?"}]},
        {"configurable": {"thread_id": "t"}},
        context=Context("alice"),
    )
    assert recalled_memories(model.calls[0]) == ["Lives in Paris"]
    assert mem.get_all(user_id="alice").count == 3


def test_recall_happens_before_every_model_call_of_a_tool_loop(mem: Memory) -> None:
    mem.add("Lives in Paris", user_id="alice", infer=False)
    call = {"name": "weather", "args": {"city": "Paris"}, "id": "c1"}
    model = ScriptedChatModel(messages=iter([AIMessage("", tool_calls=[call]), "Sunny in Paris"]))

    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    agent = create_agent(
        model,
        tools=[weather],
        middleware=[MemkitMiddleware(mem)],
        context_schema=Context,
        checkpointer=InMemorySaver(),
    )
    agent.invoke(
        {"messages": [{"role": "user", "content": "Weather at home?"}]},
        {"configurable": {"thread_id": "t"}},
        context=Context("alice"),
    )
    assert [recalled_memories(c) for c in model.calls] == [["Lives in Paris"]] * 2


def test_no_scope_refuses_to_run(mem: Memory) -> None:
    model = ScriptedChatModel(messages=iter(["hi"]))
    agent = create_agent(model, middleware=[MemkitMiddleware(mem)])
    with pytest.raises(InvalidInputError, match="no memkit scope"):
        agent.invoke({"messages": [{"role": "user", "content": "hello"}]})


def test_the_scope_can_come_from_the_runs_configurable(mem: Memory, client, both) -> None:
    """No context schema at all: the user is named in the config, as the error suggests."""
    model = ScriptedChatModel(messages=itertools.repeat(answer_from_memories))
    agent = create_agent(model, middleware=[MemkitMiddleware(client)], checkpointer=InMemorySaver())

    def ask_as(user: str, text: str, thread: str) -> str:
        state = {"messages": [{"role": "user", "content": text}]}
        config = {"configurable": {"thread_id": thread, "user_id": user}}
        result = both(lambda: agent.invoke(state, config), lambda: agent.ainvoke(state, config))
        return result["messages"][-1].content

    ask_as("alice", "I live in Paris", "t-1")
    ask_as("bob", "I live in Rome", "t-2")
    assert "Lives in Paris" in ask_as("alice", "Where do I live?", "t-3")
    assert [r.memory for r in mem.get_all(user_id="alice").results] == ["Lives in Paris"]
    assert [r.memory for r in mem.get_all(user_id="bob").results] == ["Lives in Rome"]


def test_the_runtime_context_wins_over_the_configurable(mem: Memory) -> None:
    model = ScriptedChatModel(messages=itertools.repeat(answer_from_memories))
    agent = create_agent(
        model,
        middleware=[MemkitMiddleware(mem, user_id="nobody")],
        context_schema=Context,
        checkpointer=InMemorySaver(),
    )
    agent.invoke(
        {"messages": [{"role": "user", "content": "I live in Oslo"}]},
        {"configurable": {"thread_id": "t", "user_id": "bob"}},
        context=Context("alice"),
    )
    assert [r.memory for r in mem.get_all(user_id="alice").results] == ["Lives in Oslo"]
    assert mem.get_all(user_id="bob").results == []


def test_unsaved_turn() -> None:
    h1, a1 = HumanMessage("a", id="1"), AIMessage("b", id="2")
    h2, t2, a2 = (
        HumanMessage("c", id="3"),
        ToolMessage("x", tool_call_id="c", id="4"),
        AIMessage("d", id="5"),
    )
    history = [h1, a1, h2, t2, a2]
    assert unsaved_turn(history, None) == history
    assert unsaved_turn(history, "2") == [h2, t2, a2]
    assert unsaved_turn(history, "5") == []
    assert unsaved_turn(history, "gone") == [h2, t2, a2]  # history was rewritten


def test_with_memories_keeps_the_system_message() -> None:
    assert with_memories(None, "M").content == "M"
    assert with_memories(SystemMessage("S", id="s"), "M").content == "S\n\nM"
    blocks = with_memories(SystemMessage([{"type": "text", "text": "S"}]), "M").content
    assert blocks == [{"type": "text", "text": "S"}, {"type": "text", "text": "M"}]
