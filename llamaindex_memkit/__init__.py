"""llamaindex_memkit: memkit long-term memory for LlamaIndex (llama-index-core 0.14).

>>> from memkit import Memory
>>> from llamaindex_memkit import MemkitMemory, MemkitRetriever
>>> store = Memory()
>>> memory = MemkitMemory.from_client(store, user_id="alex")  # for agents and chat engines
>>> retriever = MemkitRetriever(store, user_id="alex")         # NodeWithScore results

``MemkitMemory``'s example runs an agent with it (``agent.run(..., memory=memory)``).

Every component needs a scope (user_id / agent_id / app_id / run_id) and counts
tokens offline; nothing here changes LlamaIndex's global ``Settings`` unless you
call :func:`use_offline_tokenizer`.
"""

from llamaindex_memkit.context import MemkitContext
from llamaindex_memkit.embedding import LlamaIndexEmbedder
from llamaindex_memkit.filters import to_memkit_filter
from llamaindex_memkit.llm import LlamaIndexExtractor
from llamaindex_memkit.memory import MemkitMemory
from llamaindex_memkit.memory_block import MemkitMemoryBlock
from llamaindex_memkit.retriever import MemkitRetriever
from llamaindex_memkit.tokenizer import offline_tokenizer, use_offline_tokenizer

__all__ = [
    "LlamaIndexEmbedder",
    "LlamaIndexExtractor",
    "MemkitContext",
    "MemkitMemory",
    "MemkitMemoryBlock",
    "MemkitRetriever",
    "offline_tokenizer",
    "to_memkit_filter",
    "use_offline_tokenizer",
]
