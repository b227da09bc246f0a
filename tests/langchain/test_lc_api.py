"""The package surface, and the one driver every adapter shares."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import langchain_memkit
import langchain_memkit.testing
from langchain_memkit import MemkitRetriever
from langchain_memkit._calls import call, resolve_scope, run_async, run_sync
from memkit import AsyncMemory, Memory
from memkit.errors import InvalidInputError

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy


def test_all_is_pinned() -> None:
    assert langchain_memkit.__all__ == [
        "LangChainEmbedder",
        "LangChainExtractor",
        "MemkitChatMessageHistory",
        "MemkitMiddleware",
        "MemkitRetriever",
        "MemkitState",
        "MemkitStore",
    ]
    for name in langchain_memkit.__all__:
        assert getattr(langchain_memkit, name).__doc__
    assert langchain_memkit.testing.__all__ == [
        "Reply",
        "ScriptedChatModel",
        "answer_from_memories",
        "recalled_memories",
    ]


class AsyncOnly:
    """A remote client with memkit's methods, async only."""

    def __init__(self, memory: Memory) -> None:
        self.memory = memory

    async def search(self, query: str, **kwargs: Any) -> Any:
        return self.memory.search(query, **kwargs)


def test_an_async_only_client_works_async_and_refuses_sync(mem: Memory) -> None:
    mem.add("Likes tea", user_id="alex", infer=False)
    retriever = MemkitRetriever(memory=AsyncOnly(mem), user_id="alex")
    docs = asyncio.run(retriever.ainvoke("tea"))
    assert [d.page_content for d in docs] == ["Likes tea"]
    with pytest.raises(TypeError, match="async-only"):
        retriever.invoke("tea")


def test_an_async_memory_also_serves_the_sync_api(mem: Memory) -> None:
    mem.add("Likes tea", user_id="alex", infer=False)
    retriever = MemkitRetriever(memory=AsyncMemory(memory=mem), user_id="alex")
    assert [d.page_content for d in retriever.invoke("tea")] == ["Likes tea"]


def test_flows_compose_and_errors_propagate(mem: Memory) -> None:
    def flow() -> Any:
        first = yield from call("add", "Likes tea", user_id="alex", infer=False)
        found = yield from call("get", first.results[0].id)
        return found.memory

    assert run_sync(mem, flow()) == "Likes tea"
    assert asyncio.run(run_async(AsyncMemory(memory=mem), flow())) == "Likes tea"
    with pytest.raises(LookupError):
        run_sync(mem, call("get", "no-such-id"))


def test_scope_resolution() -> None:
    defaults = {"user_id": "a", "agent_id": "bot", "app_id": None, "run_id": None}
    assert resolve_scope(defaults) == {"user_id": "a", "agent_id": "bot"}
    assert resolve_scope(defaults, {"user_id": "b"}) == {"user_id": "b", "agent_id": "bot"}

    class Context:
        user_id = "c"
        run_id = "r"

    assert resolve_scope(defaults, {"user_id": "b"}, Context()) == {
        "user_id": "c",
        "agent_id": "bot",
        "run_id": "r",
    }
    with pytest.raises(InvalidInputError, match="no memkit scope"):
        resolve_scope({}, None, {})
    with pytest.raises(InvalidInputError, match="user_id"):
        resolve_scope({}, {"user_id": 7})
