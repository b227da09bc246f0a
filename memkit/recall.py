"""Recall for the framework adapters: what to search for, and fitting hits into a budget.

The adapters (LangChain middleware, LlamaIndex memory) inject memories into a model
call; the decisions of how live here, once, so both frameworks behave the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from memkit.models import SearchHit
from memkit.tokens import count_tokens

__all__ = ["DEFAULT_HEADER", "format_recall", "recall_filter", "recall_query"]

DEFAULT_HEADER = "Relevant long-term memories about the user and the conversation:"


def recall_filter(
    filters: Mapping[str, Any] | None = None,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    app_id: str | None = None,
    run_id: str | None = None,
) -> dict[str, Any] | None:
    """The v2 filter that recalls a component's scope, ANDed with the caller's filters.

    ``add`` stores facts from user messages under the user_id only and facts from
    assistant messages under the agent_id only, so with both ids recall asks for
    either of them; app_id and run_id narrow both.

    Each id is compared with ``{"eq": id}``, never as a bare value: a bare ``"*"`` is the
    filter language's wildcard, and a scope id is an identity.
    """
    clauses: list[Mapping[str, Any]] = [filters] if filters else []
    if user_id is not None and agent_id is not None:
        clauses.append({"OR": [{"user_id": {"eq": user_id}}, {"agent_id": {"eq": agent_id}}]})
    else:
        pairs = (("user_id", user_id), ("agent_id", agent_id))
        clauses.extend({k: {"eq": v}} for k, v in pairs if v)
    clauses.extend({k: {"eq": v}} for k, v in (("app_id", app_id), ("run_id", run_id)) if v)
    if not clauses:
        return None
    return dict(clauses[0]) if len(clauses) == 1 else {"AND": clauses}


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
