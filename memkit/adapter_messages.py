"""What every adapter's message conversion shares: a framework message's content parts as
the content memkit takes, and back.

LangChain and LlamaIndex messages carry lists of blocks; each adapter turns its own into
OpenAI content parts (``{"type": "text", ...}``, ``{"type": "image_url", ...}``) and
hands them here. Blocks that record how a model worked rather than what was said
(reasoning, tool calls: ``SKIPPED_PART_TYPES``) are left out, as they always were; text
and images pass through, and anything else goes on to ``add`` / ``append_messages``,
which refuse it with a typed error naming the part rather than drop it.

>>> message_content([{"type": "text", "text": "I love sushi"}])
'I love sushi'
>>> message_content([{"type": "thinking", "thinking": "..."}, {"type": "text", "text": "Hi"}])
'Hi'
>>> parts = [{"type": "text", "text": "This is me"},
...          {"type": "image_url", "image_url": {"url": "https://example.com/me.png"}}]
>>> message_content(parts) == parts
True
>>> message_text({"role": "user", "content": parts})
'This is me'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from memkit.models import TranscriptMessage

__all__ = ["SKIPPED_PART_TYPES", "as_given", "has_content", "message_content", "message_text"]

# Blocks a framework message may hold that are no part of what was said.
SKIPPED_PART_TYPES = frozenset(
    {
        "thinking",  # Anthropic's reasoning, in LangChain AIMessage content
        "redacted_thinking",
        "reasoning",  # LangChain's standard reasoning block, OpenAI's reasoning summary
        "tool_use",  # a tool call (LangChain also keeps it in ``tool_calls``)
        "tool_call",
        "tool_call_chunk",
        "server_tool_call",
        "server_tool_result",
        "function_call",
        "citation",
        "cache",  # LlamaIndex's prompt-caching marker (CachePoint)
        "cache_point",
    }
)


def message_content(parts: Iterable[Mapping[str, Any]] | str) -> str | list[dict[str, Any]]:
    """A message's content for memkit: the text when it is all text, else the parts."""
    if isinstance(parts, str):
        return parts
    kept = [dict(p) for p in parts if p.get("type") not in SKIPPED_PART_TYPES]
    if all(p.get("type") == "text" and isinstance(p.get("text"), str) for p in kept):
        return "\n".join(p["text"] for p in kept)
    return kept


def message_text(message: Mapping[str, Any]) -> str:
    """The text of a message dict whose content is a string or content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        p["text"]
        for p in content
        if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
    )


def has_content(message: Mapping[str, Any]) -> bool:
    """Whether a message dict says anything: some text, or any other part (an image)."""
    content = message.get("content")
    if isinstance(content, list):
        return bool(message_text(message).strip()) or any(
            isinstance(p, Mapping) and p.get("type") != "text" for p in content
        )
    return isinstance(content, str) and bool(content.strip())


def as_given(message: TranscriptMessage) -> str | list[dict[str, Any]]:
    """A transcript message's content as it was appended: the text, or its parts."""
    if not message.parts:
        return message.content
    return [part.model_dump(exclude_none=True) for part in message.parts]
