"""A RAG chain over a user's memories, narrowed with a memkit filter (MemkitRetriever).

Memories carry metadata (here, a topic); the retriever only searches the travel ones,
so the answer is grounded in the right facts.

    python cookbook/langchain_rag_filter.py

Uses gpt-4o-mini when OPENAI_API_KEY is set (pip install langchain-openai); otherwise
an offline scripted model that quotes the context it was given.
"""

from __future__ import annotations

import itertools
import os
import tempfile

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from langchain_memkit import MemkitRetriever
from langchain_memkit.testing import ScriptedChatModel
from memkit import Memory

FACTS = [
    ("Prefers window seats on long flights", "travel"),
    ("Has a Japan Rail Pass for October", "travel"),
    ("Is allergic to peanuts", "health"),
    ("Loves ramen", "food"),
]

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Answer using only these facts about the user:\n{context}"),
        ("human", "{question}"),
    ]
)


def quote_context(messages: list[BaseMessage]) -> str:
    facts = messages[0].text.split("\n")[1:]
    return "From your travel notes: " + "; ".join(f.removeprefix("- ") for f in facts)


def default_model() -> BaseChatModel:
    if os.environ.get("OPENAI_API_KEY"):
        from langchain.chat_models import init_chat_model

        return init_chat_model("openai:gpt-4o-mini", temperature=0)
    return ScriptedChatModel(messages=itertools.repeat(quote_context))


def format_docs(docs: list[Document]) -> str:
    return "\n".join(f"- {d.page_content}" for d in docs)


def main(model: BaseChatModel | None = None, path: str | None = None) -> str:
    with tempfile.TemporaryDirectory(prefix="memkit-rag-") as scratch:
        memory = Memory(path=path or scratch)
        for text, topic in FACTS:
            memory.add(text, user_id="alice", metadata={"topic": topic}, infer=False)

        retriever = MemkitRetriever(
            memory=memory, user_id="alice", k=3, filters={"metadata": {"topic": "travel"}}
        )
        chain = (
            {"context": retriever | format_docs, "question": RunnablePassthrough()}
            | PROMPT
            | (model or default_model())
            | StrOutputParser()
        )
        question = "What should I keep in mind when booking my trip to Japan?"
        answer = chain.invoke(question)
        print(f"Q: {question}\nA: {answer}")
        memory.close()
    return answer


if __name__ == "__main__":
    main()
