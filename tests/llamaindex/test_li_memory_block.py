"""MemkitMemoryBlock inside LlamaIndex's Memory: flushed writes, scope recall, truncation."""

from __future__ import annotations

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.memory import Memory as ChatMemory

from llamaindex_memkit import MemkitMemoryBlock, offline_tokenizer
from memkit import AsyncMemory, Memory
from memkit.tokens import count_tokens


@pytest.fixture
def store():
    memory = Memory()
    yield memory
    memory.close()


def chat_memory(session_id: str, *blocks: MemkitMemoryBlock, **kwargs) -> ChatMemory:
    settings = {
        "token_limit": 80,
        "chat_history_token_ratio": 0.5,
        "token_flush_size": 30,
        **kwargs,
    }
    return ChatMemory.from_defaults(
        session_id=session_id,
        memory_blocks=list(blocks),
        tokenizer_fn=offline_tokenizer(),
        **settings,
    )


def msg(role: str, text: str) -> ChatMessage:
    return ChatMessage(role=role, content=text)


async def test_flushed_messages_are_recalled_in_another_session_by_scope(store):
    alex = MemkitMemoryBlock(store, user_id="alex")
    monday = chat_memory("monday", alex, token_limit=50, token_flush_size=20)
    await monday.aput_messages(
        [
            msg("user", "Hi, I'm Alex. I live in Lisbon."),
            msg("assistant", "Nice to meet you!"),
            msg("user", "I'm vegetarian, remember that."),
            msg("assistant", "Noted, vegetarian."),
            msg("user", "That's all for now, thanks."),
            msg("assistant", "Bye!"),
        ]
    )
    assert "Lives in Lisbon" in [r.memory for r in store.get_all(user_id="alex").results]

    bob = MemkitMemoryBlock(store, user_id="bob")
    await bob.aput([msg("user", "I live in Oslo")])

    friday = chat_memory("friday", MemkitMemoryBlock(store, user_id="alex"))
    await friday.aput(msg("user", "Where should I eat near home?"))
    first = (await friday.aget())[0]
    assert first.role == MessageRole.SYSTEM
    assert "<memkit_memories>" in first.content and "- Lives in Lisbon" in first.content
    assert "Oslo" not in first.content


async def test_block_reads_and_writes_through_async_memory(store):
    block = MemkitMemoryBlock(
        AsyncMemory(memory=store), user_id="alex", infer=False, metadata={"source": "block"}
    )
    call = ChatMessage(
        role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="t")]
    )
    await block.aput(
        [msg("system", "be nice"), call, msg("tool", "result"), msg("user", "I collect stamps")]
    )
    records = store.get_all(user_id="alex").results
    assert [(r.memory, r.metadata) for r in records] == [("I collect stamps", {"source": "block"})]
    await block.aput([msg("system", "only a system message")])  # nothing to remember
    assert store.get_all(user_id="alex").count == 1
    assert await block.aget([]) == ""
    assert await block.aget(None) == ""
    text = await block.aget([msg("user", "what are my hobbies?")], session_id="ignored")
    assert text.splitlines() == [block.header, "- I collect stamps"]


async def test_truncation_drops_the_least_relevant_memories_first(store):
    facts = [
        "Is allergic to peanuts",
        "Loves Thai food",
        "Plays the violin every evening",
        "Drives a red bicycle",
        "Works as a nurse in Porto",
    ]
    for fact in facts:
        store.add(fact, user_id="alex", infer=False)
    block = MemkitMemoryBlock(store, user_id="alex")
    content = await block.aget([msg("user", "any food allergies? I eat Thai often")])
    lines = content.splitlines()[1:]
    assert set(lines[:2]) == {"- Is allergic to peanuts", "- Loves Thai food"}

    cut = await block.atruncate(content, count_tokens(lines[-1]) + 2)
    assert cut is not None and count_tokens(cut) <= count_tokens(content) - 2
    assert cut.splitlines()[1:] == lines[: len(cut.splitlines()) - 1]  # a prefix: tail dropped
    assert await block.atruncate(content, count_tokens(content)) is None
    assert await block.atruncate("content this block never produced", 5) is None


async def test_memory_truncates_the_block_when_over_budget(store):
    for i in range(20):
        store.add(f"Visited museum number {i} in the city of Lyon", user_id="alex", infer=False)
    block = MemkitMemoryBlock(store, user_id="alex", token_limit=2000)
    memory = chat_memory("s", block, token_limit=120, token_flush_size=10)
    await memory.aput(msg("user", "which museums did I visit?"))
    content = (await memory.aget())[0].content
    full = await block.aget([msg("user", "which museums did I visit?")])
    assert "- Visited museum" in content
    assert content.count("- Visited museum") < full.count("- Visited museum")


def test_block_scope_and_filters_are_checked_at_construction(store):
    with pytest.raises(ValueError, match="scope"):
        MemkitMemoryBlock(store)
    with pytest.raises(ValueError, match="colour"):
        MemkitMemoryBlock(store, user_id="alex", filters={"colour": "red"})
    block = MemkitMemoryBlock(store, context={"user_id": "alex"}, priority=2, name="facts")
    assert (block.name, block.priority, block.context.user_id) == ("facts", 2, "alex")
