"""A LangGraph graph whose long-term memory is MemkitStore, used through langmem's tools.

The graph is the classic agent loop (model -> tools -> model) built with StateGraph;
langmem's `manage_memory` / `search_memory` tools find the store through LangGraph.
Namespaces are per user (e-mail addresses work as labels), and with `user_label=1`
each memory is also that user's memkit memory.

    python cookbook/langchain_langgraph_store.py

Uses gpt-4o-mini when OPENAI_API_KEY is set (pip install langchain-openai); otherwise
an offline scripted model that calls the tools.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_memkit import MemkitStore
from langchain_memkit.testing import ScriptedChatModel
from memkit import Memory

with warnings.catch_warnings():  # langmem's trustcall imports a name LangGraph deprecated
    warnings.simplefilter("ignore", DeprecationWarning)
    from langmem import create_manage_memory_tool, create_search_memory_tool

NAMESPACE = ("memories", "{user_id}")
SYSTEM = "Save durable facts about the user with manage_memory; look them up with search_memory."


def found_memories(messages: list[BaseMessage]) -> str:
    result = [m for m in messages if isinstance(m, ToolMessage)][-1].text
    return "You told me: " + "; ".join(i["value"]["content"] for i in json.loads(result))


def scripted_model() -> BaseChatModel:
    def tool_call(name: str, args: dict[str, Any]) -> AIMessage:
        return AIMessage("", tool_calls=[{"name": name, "args": args, "id": f"call-{name}"}])

    return ScriptedChatModel(
        messages=iter(
            [
                tool_call("manage_memory", {"content": "Is training for the Berlin marathon"}),
                "Good luck with the training!",
                tool_call("search_memory", {"query": "sport and training goals"}),
                found_memories,
            ]
        )
    )


def default_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        from langchain.chat_models import init_chat_model

        return init_chat_model("openai:gpt-4o-mini", temperature=0)
    return scripted_model()


def build_graph(model: BaseChatModel, store: MemkitStore) -> Any:
    tools = [
        create_manage_memory_tool(namespace=NAMESPACE),
        create_search_memory_tool(namespace=NAMESPACE),
    ]
    bound = model.bind_tools(tools)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [bound.invoke([("system", SYSTEM), *state["messages"]])]}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(store=store)


def main(model: BaseChatModel | None = None, path: str | None = None) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="memkit-graph-") as scratch:
        memory = Memory(path=path or scratch)
        store = MemkitStore(memory, user_label=1)
        app = build_graph(model or default_model(), store)
        config = {"configurable": {"user_id": "alice@example.com"}}
        answers = []
        for text in ["I'm training for the Berlin marathon.", "What am I training for?"]:
            state = app.invoke({"messages": [{"role": "user", "content": text}]}, config)
            answers.append(state["messages"][-1].text)
            print(f"> {text}\n  {answers[-1]}")
        print("\nstore:", [i.value for i in store.search(("memories", "alice@example.com"))])
        print("memkit:", [r.memory for r in memory.get_all(user_id="alice@example.com").results])
        memory.close()
    return answers


if __name__ == "__main__":
    main()
