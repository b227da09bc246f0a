"""memkit.adapter_driver: framework-neutral, and the one driver both adapters use."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from memkit import AsyncMemory, Memory
from memkit.adapter_driver import Flow, call, run_async, run_sync
from memkit.errors import MemoryNotFoundError


def test_the_driver_imports_no_framework() -> None:
    code = (
        "import sys, memkit.adapter_driver; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'langchain', "
        "'langchain_core', 'langgraph', 'llama_index'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_both_adapters_drive_their_flows_with_it() -> None:
    import langchain_memkit._calls as lc
    import llamaindex_memkit.memory as li_memory
    import llamaindex_memkit.retriever as li_retriever

    assert lc.run_sync is run_sync and lc.run_async is run_async and lc.call is call
    for module in (li_memory, li_retriever):
        assert module.run_sync is run_sync and module.run_async is run_async


def remember_then_recall(text: str) -> Flow[list[str]]:
    yield from call("add", text, user_id="alex", infer=False)
    found = yield from call("search", text, user_id="alex")
    return [hit.memory for hit in found.results]


@pytest.mark.parametrize("kind", ["Memory", "AsyncMemory"])
def test_one_flow_runs_the_same_sync_and_async(kind: str) -> None:
    memory = Memory() if kind == "Memory" else AsyncMemory()
    try:
        assert run_sync(memory, remember_then_recall("Likes tea")) == ["Likes tea"]
        again = asyncio.run(run_async(memory, remember_then_recall("Plays chess")))
        assert again[0] == "Plays chess" and set(again) == {"Likes tea", "Plays chess"}
    finally:
        (memory if isinstance(memory, Memory) else memory.sync).close()


def test_an_async_only_client_refuses_the_sync_driver() -> None:
    class AsyncOnly:
        async def search(self, query: str) -> None: ...

    with pytest.raises(TypeError, match="async-only"):
        run_sync(AsyncOnly(), call("search", "x"))


def test_a_memkit_error_is_thrown_into_the_flow() -> None:
    def lookup(memory_id: str) -> Flow[str]:
        try:
            yield from call("get", memory_id)
        except MemoryNotFoundError:
            return "gone"
        return "found"

    def uncaught() -> Flow[None]:
        yield from call("get", "no-such-id")

    memory = Memory()
    try:
        assert run_sync(memory, lookup("no-such-id")) == "gone"
        assert asyncio.run(run_async(AsyncMemory(memory=memory), lookup("no-such-id"))) == "gone"
        assert asyncio.run(run_async(memory, lookup("no-such-id"))) == "gone"
        with pytest.raises(MemoryNotFoundError):
            run_sync(memory, uncaught())
    finally:
        memory.close()
