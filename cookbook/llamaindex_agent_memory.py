"""A LlamaIndex FunctionAgent that remembers a user across two sessions, on memkit.

Session 1: Alex says where they live and what they eat; another user, Bob, talks
to the same agent. Session 2 is a new chat (a new transcript): the agent recalls
Alex's facts, and never Bob's.

    python cookbook/llamaindex_agent_memory.py

With OPENAI_API_KEY set (and ``pip install llama-index-llms-openai``) a real model
answers; otherwise a scripted offline LLM stands in and answers from the memories
it was shown. The store lives in a temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from typing import Any

from llama_index.core.agent.workflow import FunctionAgent
from llama_index.core.llms import LLM

from llamaindex_memkit import MemkitMemory
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory


def make_llm() -> LLM:
    """A real OpenAI model when OPENAI_API_KEY is set, else the offline stand-in."""
    if not os.environ.get("OPENAI_API_KEY"):
        return RecordingLLM()
    try:
        from llama_index.llms.openai import OpenAI
    except ImportError as exc:
        raise ImportError("a real model needs: pip install llama-index-llms-openai") from exc
    return OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


async def run(path: str, llm: LLM) -> dict[str, Any]:
    store = Memory(path=path)
    agent = FunctionAgent(
        tools=[], llm=llm, system_prompt="You are a friendly assistant. Keep answers short."
    )

    monday = MemkitMemory.from_client(store, user_id="alex")
    first = await agent.run("Hi! I live in Lisbon and I'm a vegetarian.", memory=monday)
    print(f"session 1  alex> I live in Lisbon and I'm a vegetarian.\n           agent> {first}")

    bob = MemkitMemory.from_client(store, user_id="bob")
    await agent.run("I live in Oslo and I love steak.", memory=bob)
    print("           (bob told the same agent he lives in Oslo and loves steak)")

    # A new MemkitMemory is a new session: empty transcript, same long-term memory.
    friday = MemkitMemory.from_client(store, user_id="alex")
    second = await agent.run("Where do I live, and what should I order tonight?", memory=friday)
    print(
        f"session 2  alex> Where do I live, and what should I order tonight?\n"
        f"           agent> {second}"
    )

    remembered = [m.memory for m in store.get_all(user_id="alex").results]
    print("memkit holds for alex:", remembered)
    store.close()
    return {"first": str(first), "second": str(second), "alex_memories": remembered}


def main(llm: LLM | None = None, path: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="memkit-li-agent-") as directory:
        return asyncio.run(run(path or directory, llm or make_llm()))


if __name__ == "__main__":
    main()
