"""Recall for the framework adapters: what to search for, and fitting hits into a budget.

The adapters (LangChain middleware, LlamaIndex memory) inject memories into a model
call; the decisions of how live here, once, so both frameworks behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from memkit.models import SearchHit
from memkit.tokens import count_tokens

__all__ = ["DEFAULT_HEADER", "format_recall", "recall_query"]

DEFAULT_HEADER = "Relevant long-term memories about the user and the conversation:"


def recall_query(turns: Sequence[tuple[str, str]], max_chars: int = 2000) -> str:
    """The text to search memories with: the latest user turns, newest first, up to max_chars.

    ``turns`` are ``(role, content)`` pairs, oldest first.
    """
    parts: list[str] = []
    used = 0
    for role, content in reversed(turns):
        if role != "user" or not content.strip():
            continue
        if used + len(content) > max_chars and parts:
            break
        parts.append(content.strip()[:max_chars])
        used += len(content)
    return "\n".join(parts)


def format_recall(
    hits: Sequence[SearchHit], budget_tokens: int, header: str = DEFAULT_HEADER
) -> str:
    """The most relevant memories as a bullet list that fits ``budget_tokens``.

    The least relevant are dropped first; returns "" when nothing fits or nothing was found.
    """
    ranked = sorted(hits, key=lambda h: h.score, reverse=True)
    used = count_tokens(header) + 1
    lines: list[str] = []
    for hit in ranked:
        line = f"- {hit.memory}"
        cost = count_tokens(line) + 1
        if used + cost > budget_tokens:
            continue
        lines.append(line)
        used += cost
    return "\n".join([header, *lines]) if lines else ""
