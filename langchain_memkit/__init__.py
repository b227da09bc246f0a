"""memkit for LangChain and LangGraph: thin adapters over memkit's one API.

>>> from memkit import Memory
>>> from langchain_memkit import MemkitMiddleware, MemkitRetriever, MemkitStore
>>> memory = Memory()
>>> retriever = MemkitRetriever(memory=memory, user_id="alex")

Each component takes ``memory=`` (a ``Memory``, an ``AsyncMemory`` or a client with
their methods) and a scope (``user_id``, ``agent_id``, ``app_id``, ``run_id``), set on
the component or read from the run's config / context; without a scope it refuses to run.
"""

from langchain_memkit.chat_history import MemkitChatMessageHistory
from langchain_memkit.embeddings import LangChainEmbedder
from langchain_memkit.llm import LangChainExtractor
from langchain_memkit.middleware import MemkitMiddleware, MemkitState
from langchain_memkit.retriever import MemkitRetriever
from langchain_memkit.store import MemkitStore

__all__ = [
    "LangChainEmbedder",
    "LangChainExtractor",
    "MemkitChatMessageHistory",
    "MemkitMiddleware",
    "MemkitRetriever",
    "MemkitState",
    "MemkitStore",
]
