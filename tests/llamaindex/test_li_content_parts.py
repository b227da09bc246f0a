"""LlamaIndex messages with blocks: text and image blocks reach memkit as OpenAI content
parts and come back from the transcript as blocks; reasoning blocks are left out, and
audio is refused rather than dropped. Sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    ChatMessage,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
)

from llamaindex_memkit import MemkitMemory
from memkit import Memory
from memkit.errors import UnsupportedContentError
from memkit.extract import Plan
from memkit.testing import HashEmbedder

URL = "https://example.com/sushi.png"
PNG = b"\x89PNG\r\n\x1a\n0000"


class ImageReader:
    """An extractor that reads images (``accepts_images``) and records what it got."""

    accepts_images = True

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def plan(self, messages: Any, sides: Any, context: Any) -> Plan:
        self.seen.extend(messages)
        return Plan()


@pytest.fixture(params=["sync", "async"])
def drive(request):
    def call(memory: MemkitMemory, name: str, *args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            return getattr(memory, name)(*args, **kwargs)
        return asyncio.run(getattr(memory, f"a{name}")(*args, **kwargs))

    return call


def test_image_blocks_reach_add_and_come_back_from_the_transcript(drive):
    reader = ImageReader()
    store = Memory(extractor=reader, embedder=HashEmbedder())
    memory = MemkitMemory.from_client(store, user_id="alex")
    said = ChatMessage(
        role=MessageRole.USER,
        blocks=[
            TextBlock(text="I love sushi"),
            ImageBlock(url=URL, detail="low"),
            ImageBlock(image=PNG, image_mimetype="image/png"),
        ],
    )
    answered = ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[ThinkingBlock(content="they like fish"), TextBlock(text="Noted!")],
    )
    drive(memory, "put_messages", [said, answered])
    user, assistant = reader.seen
    assert user.content == "I love sushi"
    data_url = "data:image/png;base64,iVBORw0KGgowMDAw"
    assert [(p.image_url.url, p.image_url.detail) for p in user.images] == [
        (URL, "low"),
        (data_url, None),
    ]
    assert assistant.content == "Noted!" and assistant.parts == ()
    first, second = drive(memory, "get_all")
    assert [type(b).__name__ for b in first.blocks] == ["TextBlock", "ImageBlock", "ImageBlock"]
    assert [str(b.url) for b in first.blocks[1:]] == [URL, data_url]
    assert first.blocks[1].detail == "low"
    assert second.content == "Noted!"
    store.close()


def test_audio_is_refused_not_dropped(drive):
    store = Memory(extractor=ImageReader(), embedder=HashEmbedder())
    memory = MemkitMemory.from_client(store, user_id="alex")
    message = ChatMessage(
        role=MessageRole.USER,
        blocks=[TextBlock(text="Listen"), AudioBlock(audio=b"RIFF0000", format="wav")],
    )
    with pytest.raises(UnsupportedContentError, match="audio is not read"):
        drive(memory, "put", message)
    store.close()
