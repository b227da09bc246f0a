"""A scope id is an identity, never a pattern: adversarial ids on every API path and adapter.

An application that forwards its own users' names as memkit ids must not let one of them,
called ``*`` or ``%`` or ``' OR 1=1 --``, read, overwrite or delete another's memories.
Wildcards exist only inside ``filters``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from memkit import AsyncMemory, Memory
from memkit.search import _exact as exact

# Ids that mean "anything" or "something else" to some layer: the filter language, SQL
# LIKE, regular expressions, Chroma's where clauses, JSON, or a careless comparison.
ADVERSARIAL_IDS = [
    "*",
    "%",
    "_",
    ".*",
    "?",
    "alex*",
    "[a-z]*",
    "' OR '1'='1",
    "alex' --",
    '{"$ne": ""}',
    "$ne",
    "ALEX",
    "alex ",
    " alex",
    "al\u200bex",
    "ａｌｅｘ",
    "\\",
    "null",
    "None",
]
OTHERS = {"alex": "Alex drinks green tea", "bob": "Bob plays the cello every day"}


def seed(memory: Any) -> dict[str, str]:
    """One memory for each of alex and bob, on every id field; returns id -> text."""
    ids = {}
    for name, text in OTHERS.items():
        for field in ("user_id", "agent_id", "app_id", "run_id"):
            role = "assistant" if field == "agent_id" else "user"
            result = memory.add(
                [{"role": role, "content": f"{text} ({field})"}], infer=False, **{field: name}
            )
            ids[result.results[0].id] = result.results[0].memory
    return ids


def everything(memory: Any) -> dict[str, str]:
    found = {}
    for name in OTHERS:
        for field in ("user_id", "agent_id", "app_id", "run_id"):
            for record in memory.get_all(**{field: name}).results:
                found[record.id] = record.memory
    return found


@pytest.fixture(params=["exact", "chroma"])
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Scopes answered from the record store (small scopes) or by Chroma (large ones)."""
    if request.param == "chroma":
        monkeypatch.setattr(exact, "EXACT_LIMIT", 0)
    return str(request.param)


@pytest.mark.parametrize("field", ["user_id", "agent_id", "app_id", "run_id"])
def test_an_adversarial_id_reaches_only_its_own_memories(
    memory: Any, path: str, field: str
) -> None:
    seeded = seed(memory)
    for bad in ADVERSARIAL_IDS:
        scope = {field: bad}
        assert memory.get_all(**scope).results == []
        assert memory.search("tea cello Alex Bob", **scope).results == []
        assert memory.delete_all(**scope).count == 0
        assert memory.delete_users(**scope).count == 0
        role = "assistant" if field == "agent_id" else "user"
        added = memory.add([{"role": role, "content": f"I am {bad!r}"}], infer=False, **scope)
        own = added.results[0].id
        assert [r.id for r in memory.get_all(**scope).results] == [own]
        assert [h.id for h in memory.search("I am", **scope).results] == [own]
        assert memory.delete_all(**scope).count == 1
    assert everything(memory) == seeded


def test_star_as_an_id_is_not_the_filter_wildcard(memory: Any, path: str) -> None:
    seed(memory)
    memory.add("I am the user called star", user_id="*", infer=False)
    # Inside filters a bare "*" still means "has a user_id" ...
    assert memory.get_all(filters={"user_id": "*"}).count == 3
    # ... and {"eq": "*"} is the id "*" itself.
    assert [r.user_id for r in memory.get_all(filters={"user_id": {"eq": "*"}}).results] == ["*"]
    assert [r.user_id for r in memory.get_all(user_id="*").results] == ["*"]
    assert memory.delete_all(user_id="*").count == 1
    assert memory.get_all(filters={"user_id": "*"}).count == 2


def test_users_lists_adversarial_ids_as_themselves(memory: Any) -> None:
    memory.add("I like tea", user_id="*", infer=False)
    memory.add("I like tea", user_id="%", infer=False)
    names = {(e.type, e.id) for e in memory.users().results}
    assert names == {("user", "*"), ("user", "%")}


# ---- LangChain ------------------------------------------------------------------------


@pytest.fixture
def store() -> Any:
    memory = Memory()
    yield memory
    memory.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_langchain_retriever_scope_from_config_is_literal(store: Memory, mode: str) -> None:
    from langchain_memkit import MemkitRetriever

    seed(store)
    for memory in (store, AsyncMemory(memory=store)) if mode == "async" else (store,):
        retriever = MemkitRetriever(memory=memory, user_id="alex")
        for bad in ADVERSARIAL_IDS:
            config = {"configurable": {"user_id": bad}}
            if mode == "sync":
                docs = retriever.invoke("tea", config=config)
            else:
                docs = asyncio.run(retriever.ainvoke("tea", config=config))
            assert docs == []
            assert MemkitRetriever(memory=memory, user_id=bad).invoke("tea") == []
        assert retriever.invoke("tea") != []  # alex's own scope still works


def test_langchain_chat_history_session_is_literal(store: Memory) -> None:
    from langchain_core.messages import HumanMessage

    from langchain_memkit import MemkitChatMessageHistory

    mine = MemkitChatMessageHistory(store, "s-1", user_id="alex", infer=False)
    mine.add_messages([HumanMessage("my secret is 42")])
    for bad in ADVERSARIAL_IDS:
        other = MemkitChatMessageHistory(store, bad, user_id=bad, infer=False)
        assert other.messages == []
        other.clear()
    assert [m.content for m in mine.messages] == ["my secret is 42"]


def test_langgraph_store_keys_and_labels_are_literal(store: Memory) -> None:
    from langchain_memkit import MemkitStore

    lg = MemkitStore(store, user_label=1)
    lg.put(("memories", "alex"), "k1", {"content": "Alex likes green tea"})
    lg.put(("memories", "bob"), "k2", {"content": "Bob plays the cello"})
    for bad in ADVERSARIAL_IDS:
        assert lg.get(("memories", "alex"), bad) is None
        assert lg.get(("memories", bad), "k1") is None
        assert lg.search(("memories", bad)) == []
        assert lg.search(("memories", bad), query="tea") == []
        lg.delete(("memories", "alex"), bad)
        lg.delete(("memories", bad), "k1")
        lg.put(("memories", "alex"), bad, {"content": f"item {bad!r}"})
        lg.put(("memories", bad), "k1", {"content": f"user {bad!r}"})
        assert lg.get(("memories", bad), "k1").value == {"content": f"user {bad!r}"}
        assert lg.get(("memories", "alex"), bad).value == {"content": f"item {bad!r}"}
    assert lg.get(("memories", "alex"), "k1").value == {"content": "Alex likes green tea"}
    assert lg.get(("memories", "bob"), "k2").value == {"content": "Bob plays the cello"}
    for bad in ADVERSARIAL_IDS:
        lg.delete(("memories", "alex"), bad)
        lg.delete(("memories", bad), "k1")
    assert {(i.namespace, i.key) for i in lg.search(("memories",), limit=100)} == {
        (("memories", "alex"), "k1"),
        (("memories", "bob"), "k2"),
    }
    # list_namespaces keeps LangGraph's own "*" label wildcard in match conditions.
    assert lg.list_namespaces(prefix=("memories", "*")) == [
        ("memories", "alex"),
        ("memories", "bob"),
    ]


# ---- LlamaIndex -----------------------------------------------------------------------


def test_llamaindex_components_scope_is_literal(store: Memory) -> None:
    from llamaindex_memkit import MemkitMemory, MemkitMemoryBlock, MemkitRetriever

    seed(store)
    for bad in ADVERSARIAL_IDS:
        assert MemkitRetriever(store, user_id=bad).retrieve("tea") == []
        block = MemkitMemoryBlock(store, user_id=bad)
        assert not asyncio.run(block.aget([]))
        recalled = MemkitMemory(store, user_id=bad).get("what do I drink? tea")
        assert not any("Alex" in str(m.content) or "Bob" in str(m.content) for m in recalled)
    assert MemkitRetriever(store, user_id="alex").retrieve("tea") != []


@pytest.mark.parametrize("bad", ["*", "%", "' OR '1'='1"])
def test_langchain_middleware_recalls_only_the_literal_user_and_agent(
    store: Memory, bad: str
) -> None:
    from dataclasses import dataclass

    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver

    from langchain_memkit import MemkitMiddleware
    from langchain_memkit.testing import (
        ScriptedChatModel,
        answer_from_memories,
        recalled_memories,
    )

    @dataclass
    class Context:
        user_id: str

    store.add("Lives in Paris", user_id="alice", infer=False)
    store.add("Is called Max", agent_id="helper", infer=False)
    store.add(f"Is the user called {bad}", user_id=bad, infer=False)
    model = ScriptedChatModel(messages=iter([answer_from_memories] * 2))
    agent = create_agent(
        model,
        middleware=[MemkitMiddleware(store, agent_id=bad, write=False)],
        context_schema=Context,
        checkpointer=InMemorySaver(),
    )
    agent.invoke(
        {"messages": [{"role": "user", "content": "Who am I and where do I live?"}]},
        {"configurable": {"thread_id": "t"}},
        context=Context(bad),
    )
    assert recalled_memories(model.calls[0]) == [f"Is the user called {bad}"]
