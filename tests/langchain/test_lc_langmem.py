"""langmem's memory tools, unchanged, on MemkitStore: invoked directly and inside a graph."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

with warnings.catch_warnings():  # langmem's trustcall imports a name LangGraph deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from langmem import create_manage_memory_tool, create_search_memory_tool


from langchain_memkit import MemkitMiddleware, MemkitStore
from langchain_memkit.testing import ScriptedChatModel, recalled_memories
from memkit import Memory

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy

NAMESPACE = ("memories", "{user_id}")
ALICE = {"configurable": {"user_id": "alice@example.com"}}
BOB = {"configurable": {"user_id": "bob@example.com"}}


def test_tools_invoked_directly(client: Any, both: Any, mem: Memory) -> None:
    store = MemkitStore(client, user_label=1)
    manage = create_manage_memory_tool(namespace=NAMESPACE, store=store)
    search = create_search_memory_tool(namespace=NAMESPACE, store=store)

    def call(tool: Any, args: dict[str, Any], config: dict[str, Any]) -> Any:
        return both(lambda: tool.invoke(args, config), lambda: tool.ainvoke(args, config))

    created = call(manage, {"content": "Prefers window seats"}, ALICE)
    memory_id = created.split()[-1]
    call(manage, {"content": "Prefers aisle seats"}, BOB)
    found = json.loads(call(search, {"query": "seat preference"}, ALICE))
    assert [(f["key"], f["value"]) for f in found] == [
        (memory_id, {"content": "Prefers window seats"})
    ]
    call(manage, {"action": "update", "id": memory_id, "content": "Prefers aisle seats now"}, ALICE)
    found = json.loads(call(search, {"query": "seat"}, ALICE))
    assert [f["value"]["content"] for f in found] == ["Prefers aisle seats now"]
    call(manage, {"action": "delete", "id": memory_id}, ALICE)
    assert json.loads(call(search, {"query": "seat"}, ALICE)) == []
    assert [r.memory for r in mem.get_all(user_id="bob@example.com").results] == [
        "Prefers aisle seats"
    ]


def last_tool_result(messages: list[BaseMessage]) -> str:
    result = [m for m in messages if isinstance(m, ToolMessage)][-1].content
    return "Found: " + ", ".join(item["value"]["content"] for item in json.loads(result))


@dataclass
class Context:
    user_id: str


def test_tools_in_an_agent_graph_with_the_store(mem: Memory) -> None:
    store = MemkitStore(mem, user_label=1)
    model = ScriptedChatModel(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {
                            "name": "manage_memory",
                            "id": "c1",
                            "args": {"content": "Likes green tea"},
                        }
                    ],
                ),
                "Saved.",
                AIMessage(
                    "",
                    tool_calls=[
                        {"name": "search_memory", "id": "c2", "args": {"query": "favourite drink"}}
                    ],
                ),
                last_tool_result,
                "Hello!",
            ]
        )
    )
    agent = create_agent(
        model,
        tools=[
            create_manage_memory_tool(namespace=NAMESPACE),
            create_search_memory_tool(namespace=NAMESPACE),
        ],
        # memkit's own recall sees what langmem saved: the store files it under the user.
        middleware=[MemkitMiddleware(mem, write=False)],
        context_schema=Context,
        store=store,
        checkpointer=InMemorySaver(),
    )

    def ask(text: str, thread: str, user: str) -> str:
        config = {"configurable": {"thread_id": thread, "user_id": user}}
        state = agent.invoke(
            {"messages": [{"role": "user", "content": text}]}, config, context=Context(user)
        )
        return state["messages"][-1].content

    assert ask("I like green tea", "t-1", "alice@example.com") == "Saved."
    assert ask("What do I drink?", "t-2", "alice@example.com") == "Found: Likes green tea"
    assert recalled_memories(model.calls[2]) == ["Likes green tea"]
    assert ask("Hi", "t-3", "bob@example.com") == "Hello!"
    assert recalled_memories(model.calls[4]) == []
    assert [i.value for i in store.search(("memories", "alice@example.com"))] == [
        {"content": "Likes green tea"}
    ]
