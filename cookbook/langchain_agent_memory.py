"""A `create_agent` agent that remembers each user across sessions, with MemkitMiddleware.

Session 1: Alice says where she lives and what she drinks. Session 2 (a new thread, so
no shared chat history): she asks, and the agent answers from long-term memory. Bob
never sees Alice's facts.

    python cookbook/langchain_agent_memory.py

Uses gpt-4o-mini when OPENAI_API_KEY is set (pip install langchain-openai); otherwise
an offline scripted model that answers with the memories it was given.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langgraph.checkpoint.memory import InMemorySaver

from langchain_memkit import MemkitMiddleware
from langchain_memkit.testing import ScriptedChatModel, answer_from_memories
from memkit import Memory


@dataclass
class Context:
    """Who the agent is talking to; MemkitMiddleware reads the scope from here."""

    user_id: str


def default_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        from langchain.chat_models import init_chat_model

        return init_chat_model("openai:gpt-4o-mini", temperature=0)
    return ScriptedChatModel(messages=itertools.repeat(answer_from_memories))


def main(model: BaseChatModel | None = None, path: str | None = None) -> list[str]:
    """Run the two sessions; returns the agent's answers."""
    with tempfile.TemporaryDirectory(prefix="memkit-agent-") as scratch:
        memory = Memory(path=path or scratch)
        agent = create_agent(
            model or default_model(),
            system_prompt="You are a concise assistant. Use what you remember about the user.",
            middleware=[MemkitMiddleware(memory, agent_id="concierge", budget_tokens=500)],
            context_schema=Context,
            checkpointer=InMemorySaver(),
        )

        def say(user: str, thread: str, text: str) -> str:
            state: Any = agent.invoke(
                {"messages": [{"role": "user", "content": text}]},
                {"configurable": {"thread_id": thread}},
                context=Context(user_id=user),
            )
            answer = state["messages"][-1].text
            print(f"[{user} / {thread}] {text}\n    -> {answer}")
            return answer

        answers = [
            say("alice", "session-1", "Hi! I live in Lisbon and I love green tea."),
            say("bob", "session-2", "I live in Oslo."),
            say("alice", "session-3", "What do you remember about me?"),
            say("bob", "session-4", "What do you remember about me?"),
        ]
        print("\nalice's memories:", [r.memory for r in memory.get_all(user_id="alice").results])
        memory.close()
    return answers


if __name__ == "__main__":
    main()
