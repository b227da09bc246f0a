"""LangChain messages with content blocks: text and images reach memkit as OpenAI content
parts (the transcript gives them back as blocks), reasoning and tool blocks are left out,
and an image nothing reads is refused rather than dropped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langchain_memkit import LangChainExtractor, MemkitChatMessageHistory
from langchain_memkit.testing import ScriptedChatModel
from memkit import Memory
from memkit.errors import UnsupportedContentError
from memkit.extract import Plan
from memkit.testing import HashEmbedder

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy

URL = "https://example.com/sushi.png"
PNG = (  # a 1x1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


class ImageReader:
    """An extractor that reads images (``accepts_images``) and records what it got."""

    accepts_images = True

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def plan(self, messages: Any, sides: Any, context: Any) -> Plan:
        self.seen.extend(messages)
        return Plan()


def test_blocks_reach_add_and_the_transcript_as_openai_parts(memkit_home, both) -> None:
    reader = ImageReader()
    memory = Memory(extractor=reader, embedder=HashEmbedder())
    history = MemkitChatMessageHistory(memory, "s-1", user_id="alex")
    turn = [
        HumanMessage(
            content=[
                {"type": "text", "text": "I love sushi"},
                {"type": "image_url", "image_url": {"url": URL}},
                {"type": "image", "base64": PNG, "mime_type": "image/png"},  # standard block
            ]
        ),
        AIMessage(
            content=[
                {"type": "thinking", "thinking": "they like fish", "signature": "x"},
                {"type": "text", "text": "Noted!"},
            ]
        ),
    ]
    both(lambda: history.add_messages(turn), lambda: history.aadd_messages(turn))
    said, answered = reader.seen
    assert said.content == "I love sushi"
    assert [p.image_url.url for p in said.images] == [URL, f"data:image/png;base64,{PNG}"]
    assert answered.content == "Noted!" and answered.parts == ()  # the reasoning left out
    first, second = both(lambda: history.messages, history.aget_messages)
    assert isinstance(first, HumanMessage) and first.content == [
        {"type": "text", "text": "I love sushi"},
        {"type": "image_url", "image_url": {"url": URL}},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
    ]
    assert isinstance(second, AIMessage) and second.content == "Noted!"
    memory.close()


def test_an_image_the_memory_cannot_read_is_refused_not_dropped(mem: Memory) -> None:
    history = MemkitChatMessageHistory(mem, "s-1", user_id="alex")
    message = HumanMessage(
        content=[{"type": "text", "text": "I love sushi"}, {"type": "image_url", "image_url": URL}]
    )
    with pytest.raises(UnsupportedContentError, match="enable_vision"):
        history.add_messages([message])
    assert mem.get_all(user_id="alex").count == 0


def test_a_vision_chat_model_gets_the_image_as_an_openai_block(memkit_home) -> None:
    fact = {"event": "ADD", "source": 1, "text": "Loves sushi", "target": None, "categories": []}
    model = ScriptedChatModel(messages=iter([json.dumps({"memories": [fact], "forget": []})]))
    memory = Memory(extractor=LangChainExtractor(model, enable_vision=True))
    content = [{"type": "text", "text": "I love sushi"}, {"type": "image_url", "image_url": URL}]
    memory.add([{"role": "user", "content": content}], user_id="alex")
    (call,) = model.calls
    parts = call[1].content
    assert isinstance(call[1], HumanMessage) and isinstance(parts, list)
    assert {"type": "image_url", "image_url": {"url": URL, "detail": "auto"}} in parts
    assert [m.memory for m in memory.get_all(user_id="alex").results] == ["Loves sushi"]
    memory.close()


def test_a_chat_model_not_said_to_read_images_is_never_sent_one(memkit_home) -> None:
    model = ScriptedChatModel(messages=iter([]))
    memory = Memory(extractor=LangChainExtractor(model))
    content = [{"type": "text", "text": "I love sushi"}, {"type": "image_url", "image_url": URL}]
    with pytest.raises(UnsupportedContentError, match="enable_vision=True for a framework"):
        memory.add([{"role": "user", "content": content}], user_id="alex")
    assert model.calls == []
    memory.close()
