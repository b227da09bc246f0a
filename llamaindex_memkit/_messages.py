"""LlamaIndex ``ChatMessage`` <-> memkit message dicts, and where a turn ends.

memkit's transcripts and ``add`` take ``{"role", "content"}`` messages, the content a
string or OpenAI content parts: text and image blocks become ``text`` / ``image_url``
parts (an image given as bytes or a path as a data URL); other blocks go on to memkit,
which leaves out reasoning and tool bookkeeping and refuses audio, video and documents
(``memkit.adapter_messages``). Tool
calls and tool results cannot be represented there without their call ids, and a
replayed tool message without its call breaks every provider's message checks, so
they are left out of both: the transcript keeps what was said, not how.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from llama_index.core.base.llms.types import (
    ChatMessage,
    ContentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)

from memkit.adapter_messages import as_given, has_content, message_content, message_text
from memkit.models import TranscriptMessage

_ROLES = {
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
}


def has_tool_calls(message: ChatMessage) -> bool:
    return bool(message.additional_kwargs.get("tool_calls")) or any(
        isinstance(block, ToolCallBlock) for block in message.blocks
    )


def to_memkit(message: ChatMessage) -> dict[str, Any] | None:
    """The memkit form of a message, or None for tool traffic and empty messages."""
    role = _ROLES.get(MessageRole(message.role))
    if role is None or (role == "assistant" and has_tool_calls(message)):
        return None
    content = message_content([_part(block) for block in message.blocks])
    item = {"role": role, "content": content.strip() if isinstance(content, str) else content}
    return item if has_content(item) else None


def _part(block: ContentBlock) -> dict[str, Any]:
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        if block.url is not None:
            url = str(block.url)
        else:
            data = block.resolve_image(as_base64=True).read().decode("ascii")
            url = f"data:{block.image_mimetype or 'image/png'};base64,{data}"
        image: dict[str, Any] = {"url": url}
        if block.detail in ("auto", "low", "high"):
            image["detail"] = block.detail
        return {"type": "image_url", "image_url": image}
    return {"type": block.block_type}  # memkit leaves it out or refuses it by its type


def to_memkit_all(messages: Iterable[ChatMessage]) -> list[dict[str, Any]]:
    return [m for m in map(to_memkit, messages) if m is not None]


def from_transcript(message: TranscriptMessage) -> ChatMessage:
    content = as_given(message)
    if isinstance(content, str):
        return ChatMessage(role=message.role, content=content)
    blocks: list[ContentBlock] = [
        TextBlock(text=part["text"])
        if part["type"] == "text"
        else ImageBlock(url=part["image_url"]["url"], detail=part["image_url"].get("detail"))
        for part in content
    ]
    return ChatMessage(role=message.role, blocks=blocks)


def turns(messages: Iterable[ChatMessage]) -> list[tuple[str, str]]:
    """``(role, text)`` pairs for ``memkit.recall.recall_query``."""
    return [(m["role"], message_text(m)) for m in to_memkit_all(messages)]


def split_turns(
    pending: Sequence[dict[str, Any]], incoming: Sequence[dict[str, Any]]
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Complete turns to write now, and the messages still waiting for a reply.

    A turn ends with an assistant reply; system messages are never memories and are
    not carried over.
    """
    complete: list[list[dict[str, Any]]] = []
    current = list(pending)
    for message in incoming:
        if message["role"] == "system":
            continue
        current.append(message)
        if message["role"] == "assistant":
            complete.append(current)
            current = []
    return complete, current


def with_recall(history: list[ChatMessage], recall: str, insert: str) -> list[ChatMessage]:
    """``history`` with the recalled memories added, never mutating the given messages.

    ``insert="system"`` merges them into a leading system message or adds one;
    ``insert="user"`` prefixes them to the latest user message (for consumers that
    drop system messages, such as ``ReActAgent`` without a ``system_prompt``).
    """
    if not recall:
        return history
    out = list(history)
    if insert == "user":
        for i in range(len(out) - 1, -1, -1):
            if out[i].role == MessageRole.USER:
                out[i] = ChatMessage(
                    role=MessageRole.USER, content=f"{recall}\n\n{out[i].content or ''}"
                )
                return out
        return [*out, ChatMessage(role=MessageRole.USER, content=recall)]
    if out and out[0].role == MessageRole.SYSTEM:
        out[0] = ChatMessage(role=MessageRole.SYSTEM, content=f"{recall}\n\n{out[0].content or ''}")
        return out
    return [ChatMessage(role=MessageRole.SYSTEM, content=recall), *out]
