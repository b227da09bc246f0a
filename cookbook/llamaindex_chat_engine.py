"""A CondensePlusContextChatEngine that answers from a user's memkit memories.

memkit already knows a few things about Alex (and about Bob); the chat engine
retrieves Alex's memories with ``MemkitRetriever`` and puts them in the model's
context. Bob's never reach it: the retriever is scoped to Alex.

    python cookbook/llamaindex_chat_engine.py

With OPENAI_API_KEY set (and ``pip install llama-index-llms-openai``) a real model
answers; otherwise a scripted offline LLM stands in.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from llama_index.core.chat_engine import CondensePlusContextChatEngine
from llama_index.core.llms import LLM
from llama_index.core.memory import ChatMemoryBuffer

from llamaindex_memkit import MemkitRetriever, offline_tokenizer, use_offline_tokenizer
from llamaindex_memkit.testing import RecordingLLM
from memkit import Memory


def make_llm(known: list[str]) -> LLM:
    """A real model when OPENAI_API_KEY is set; else a stand-in that says what it was shown."""
    if not os.environ.get("OPENAI_API_KEY"):

        def reply(prompt: str) -> str:
            seen = [memory for memory in known if memory in prompt]
            return f"(offline stand-in) my context held: {'; '.join(seen) or 'nothing'}"

        return RecordingLLM(reply=reply)
    try:
        from llama_index.llms.openai import OpenAI
    except ImportError as exc:
        raise ImportError("a real model needs: pip install llama-index-llms-openai") from exc
    return OpenAI(model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"))


def main(llm: LLM | None = None, path: str | None = None) -> dict[str, Any]:
    # The engine's response synthesizer counts tokens with Settings.tokenizer, whose
    # default downloads cl100k_base; this sets memkit's offline copy, explicitly.
    use_offline_tokenizer()
    with tempfile.TemporaryDirectory(prefix="memkit-li-chat-") as directory:
        store = Memory(path=path or directory)
        store.add("I'm vegetarian and allergic to peanuts", user_id="alex")
        store.add("My favourite cuisine is Thai", user_id="alex")
        store.add("I love steak", user_id="bob")

        everyone = [m.memory for m in store.get_all().results]

        retriever = MemkitRetriever(store, user_id="alex", similarity_top_k=5)
        engine = CondensePlusContextChatEngine.from_defaults(
            retriever,
            llm=llm or make_llm(everyone),
            memory=ChatMemoryBuffer.from_defaults(
                token_limit=3000, tokenizer_fn=offline_tokenizer()
            ),
            system_prompt="You are a cooking assistant. Use what you know about the user.",
        )
        question = "What should I cook for dinner tonight?"
        response = engine.chat(question)
        sources = [(n.node.get_content(), round(n.score or 0.0, 3)) for n in response.source_nodes]
        print(f"alex> {question}\nbot>  {response}")
        for text, score in sources:
            print(f"      memory {score:.3f}  {text}")
        follow_up = engine.chat("And something for dessert?")
        print(f"alex> And something for dessert?\nbot>  {follow_up}")
        store.close()
    return {"answer": str(response), "sources": sources, "follow_up": str(follow_up)}


if __name__ == "__main__":
    main()
