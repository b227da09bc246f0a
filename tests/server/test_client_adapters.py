"""The LangChain and LlamaIndex adapters take memkit's client wherever they take a Memory:
moving an agent from the embedded store to a `memkit serve` changes only that object."""

from __future__ import annotations

import asyncio

from langchain_memkit import MemkitRetriever
from llamaindex_memkit import MemkitRetriever as LlamaRetriever
from memkit.client import AsyncMemoryClient, MemoryClient


def test_the_langchain_retriever_reads_through_either_client(live_server):
    key = live_server.new_key("lc_project")
    with MemoryClient(api_key=key, host=live_server.url) as memory:
        memory.add("I'm a vegetarian. I play the cello.", user_id="alex")
        retriever = MemkitRetriever(memory=memory, user_id="alex", k=5)
        docs = retriever.invoke("what can alex eat?")
        assert docs[0].page_content == "Is a vegetarian"

    async def served() -> list[str]:
        async with AsyncMemoryClient(api_key=key, host=live_server.url) as aio:
            retriever = MemkitRetriever(memory=aio, user_id="alex", k=5)
            sync_docs = retriever.invoke("what can alex eat?")  # through aio.sync
            async_docs = await retriever.ainvoke("what can alex eat?")
            return [sync_docs[0].page_content, async_docs[0].page_content]

    assert asyncio.run(served()) == ["Is a vegetarian", "Is a vegetarian"]


def test_the_llamaindex_retriever_reads_through_either_client(live_server):
    key = live_server.new_key("li_project")
    with MemoryClient(api_key=key, host=live_server.url) as memory:
        memory.add("I'm a vegetarian. I play the cello.", user_id="alex")
        nodes = LlamaRetriever(memory, user_id="alex").retrieve("what can alex eat?")
        assert nodes[0].node.get_content() == "Is a vegetarian"

    async def served() -> list[str]:
        async with AsyncMemoryClient(api_key=key, host=live_server.url) as aio:
            retriever = LlamaRetriever(aio, user_id="alex")
            sync_nodes = retriever.retrieve("what can alex eat?")  # through aio.sync
            async_nodes = await retriever.aretrieve("what can alex eat?")
            return [sync_nodes[0].node.get_content(), async_nodes[0].node.get_content()]

    assert asyncio.run(served()) == ["Is a vegetarian", "Is a vegetarian"]
