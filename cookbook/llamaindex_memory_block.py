"""LlamaIndex's ``Memory`` with a ``MemkitMemoryBlock``: sessions forget, memkit does not.

Monday's chat runs over its short-term budget; ``Memory`` flushes the oldest
messages to its blocks, and the memkit block writes them to memkit under Alex's
scope. Friday is a new session with an empty queue, yet the block recalls
Monday's facts into the prompt, because it searches by user, not by session.

    python cookbook/llamaindex_memory_block.py

With OPENAI_API_KEY set (and ``pip install llama-index-llms-openai``) a real model
answers; otherwise a scripted offline LLM stands in.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import LLM, ChatMessage
from llama_index.core.memory import Memory as ChatMemory

from llamaindex_memkit import MemkitMemoryBlock, offline_tokenizer
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory

MONDAY = [
    ("user", "Hi, I'm Alex. I live in Lisbon."),
    ("assistant", "Nice to meet you, Alex! How can I help?"),
    ("user", "I'm vegetarian, so keep that in mind for restaurant tips."),
    ("assistant", "Noted: vegetarian-friendly places only."),
    ("user", "Thanks, that's all for today."),
    ("assistant", "Have a good day!"),
]


def make_llm() -> LLM:
    if not os.environ.get("OPENAI_API_KEY"):
        return RecordingLLM()
    try:
        from llama_index.llms.openai import OpenAI
    except ImportError as exc:
        raise ImportError("a real model needs: pip install llama-index-llms-openai") from exc
    return OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def chat_memory(session_id: str, block: MemkitMemoryBlock) -> ChatMemory:
    # A small budget so Monday's chat overflows and gets flushed; tokenizer_fn keeps
    # LlamaIndex from downloading its default tokenizer.
    return ChatMemory.from_defaults(
        session_id=session_id,
        token_limit=80,
        chat_history_token_ratio=0.5,
        token_flush_size=30,
        memory_blocks=[block],
        tokenizer_fn=offline_tokenizer(),
    )


async def run(path: str, llm: LLM) -> dict[str, Any]:
    store = Memory(path=path)
    block = MemkitMemoryBlock(store, user_id="alex")

    monday = chat_memory("monday", block)
    await monday.aput_messages([ChatMessage(role=role, content=text) for role, text in MONDAY])
    flushed = [m.memory for m in store.get_all(user_id="alex").results]
    print("monday's flushed messages, as memkit memories:", flushed)

    friday = chat_memory("friday", block)
    agent = FunctionAgent(tools=[], llm=llm, system_prompt="You are a travel assistant.")
    answer = await agent.run("Can you suggest a place for dinner near home?", memory=friday)
    context = (await friday.aget())[0].content or ""
    print(f"friday's prompt starts with:\n{context}\nagent> {answer}")
    store.close()
    return {"flushed": flushed, "context": context, "answer": str(answer)}


def main(llm: LLM | None = None, path: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="memkit-li-block-") as directory:
        return asyncio.run(run(path or directory, llm or make_llm()))


if __name__ == "__main__":
    main()
