"""Message content parts through the public API: text parts read by both extractors,
images sent to a vision-capable LLM as OpenAI ``image_url`` parts and refused (typed,
saying what to configure) everywhere else, the bounds at the boundary, transcripts.

Each behaviour runs through Memory and AsyncMemory (the ``mem`` / ``llm_mem`` fixtures).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from memkit import AsyncMemory, ExtractionError, InvalidInputError, Memory
from memkit.bounds import MAX_CONTENT_PARTS, MAX_DATA_URL_BYTES, MAX_TEXT_LENGTH
from memkit.errors import UnsupportedContentError
from memkit.extract import Plan
from memkit.testing import HashEmbedder, SyncView
from memkit.testing.openai_server import ScriptedOpenAI, ScriptedReply

URL = "https://example.com/sushi.png"
DATA_URL = (  # a 1x1 PNG
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHg"
    "gJ/PchI7wAAAABJRU5ErkJggg=="
)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image(url: str = URL, **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url, **extra}}


SUSHI = [{"role": "user", "content": [text("I love sushi"), image()]}]


@pytest.fixture(params=["sync", "async"])
def make(request) -> Iterator[Any]:
    opened: list[Memory] = []

    def build(config: dict[str, Any] | None = None, **options: Any) -> Any:
        if request.param == "sync":
            mem = Memory(config=config, embedder=HashEmbedder(), **options)
            opened.append(mem)
            return mem
        amem = AsyncMemory(config=config, embedder=HashEmbedder(), **options)
        opened.append(amem.sync)
        return SyncView(amem)

    yield build
    for mem in opened:
        mem.close()


@pytest.fixture
def mem(make) -> Any:
    return make()


def llm_config(server: ScriptedOpenAI, **settings: Any) -> dict[str, Any]:
    config = {
        "model": "gpt-4o-mini",
        "base_url": server.url,
        "api_key": "test-key",
        "timeout": 2.0,
        "max_retries": 0,
        **settings,
    }
    return {"llm": {"provider": "openai", "config": config}}


def fact(text_: str, source: int = 1) -> dict[str, Any]:
    return {"event": "ADD", "source": source, "text": text_, "target": None, "categories": []}


def plan(*facts: dict[str, Any]) -> dict[str, Any]:
    return {"memories": list(facts), "forget": [], "erase_all": []}


def memories(mem: Any, **scope: str) -> list[str]:
    return sorted(m.memory for m in mem.get_all(**scope).results)


# ---- text parts ---------------------------------------------------------------------------


def test_text_parts_are_read_as_text_by_the_offline_extractor(mem):
    parts = [text("I love sushi"), text("I live in Berlin")]
    mem.add([{"role": "user", "content": parts}], user_id="u")
    assert memories(mem, user_id="u") == ["Lives in Berlin", "Loves sushi"]


def test_one_part_as_the_whole_content_is_a_list_of_one(mem):
    mem.add({"role": "user", "content": text("I am allergic to peanuts")}, user_id="u")
    assert memories(mem, user_id="u") == ["Is allergic to peanuts"]


def test_infer_false_stores_the_text_parts_joined(mem):
    mem.add(
        [{"role": "user", "content": [text("Likes tea"), text("Hates coffee")]}],
        user_id="u",
        infer=False,
    )
    assert memories(mem, user_id="u") == ["Likes tea\nHates coffee"]


# ---- images without a reader: refused, naming what to configure ----------------------------


def test_an_image_without_an_llm_is_refused_and_nothing_is_written(mem):
    with pytest.raises(UnsupportedContentError) as caught:
        mem.add(SUSHI, user_id="u")
    error = caught.value
    assert error.field == "messages[0].content[1]"
    assert str(error).startswith("messages[0].content[1]: ")
    assert '"enable_vision": true' in str(error) and "offline extractor" in str(error)
    assert isinstance(error, InvalidInputError) and isinstance(error, ValueError)
    assert memories(mem, user_id="u") == []


def test_mem0s_image_message_shape_is_read_and_refused_the_same_way(mem):
    messages = [
        {"role": "user", "content": "Hi, my name is Alice."},
        {"role": "user", "content": image()},  # content as one part, mem0's documented form
    ]
    with pytest.raises(UnsupportedContentError, match=r"^messages\[1\]\.content\[0\]: "):
        mem.add(messages, user_id="alice")


def test_infer_false_refuses_images_whatever_the_llm(make, server):
    mem = make(llm_config(server, enable_vision=True))
    with pytest.raises(UnsupportedContentError, match="infer=False stores each message verbatim"):
        mem.add(SUSHI, user_id="u", infer=False)
    assert server.requests == [] and memories(mem, user_id="u") == []


def test_an_llm_not_marked_vision_capable_is_never_sent_the_image(make, server):
    mem = make(llm_config(server))
    with pytest.raises(UnsupportedContentError) as caught:
        mem.add(SUSHI, user_id="u")
    assert "'gpt-4o-mini'" in str(caught.value)
    assert "llm.config.enable_vision: true" in str(caught.value)
    assert server.requests == []


class ImageReader:
    """A custom extractor that declares it reads images; records what it was given."""

    accepts_images = True

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def plan(self, messages, sides, context) -> Plan:
        self.seen.extend(messages)
        return Plan()


def test_a_custom_extractor_gets_the_parts_when_it_declares_accepts_images(make):
    reader = ImageReader()
    mem = make(extractor=reader)
    mem.add(SUSHI, user_id="u")
    (message,) = reader.seen
    assert message.content == "I love sushi"
    assert [p.type for p in message.parts] == ["text", "image_url"]
    assert message.images[0].image_url.url == URL


def test_a_custom_extractor_that_does_not_declare_it_is_named(make):
    reader = ImageReader()
    reader.accepts_images = False  # type: ignore[misc]
    with pytest.raises(UnsupportedContentError, match="ImageReader does not declare"):
        make(extractor=reader).add(SUSHI, user_id="u")
    assert reader.seen == []


# ---- images to a vision-capable LLM --------------------------------------------------------


def test_images_reach_a_vision_llm_as_openai_image_url_parts(make, server):
    mem = make(llm_config(server, enable_vision=True))
    server.reply(plan(fact("Loves sushi")))
    result = mem.add(SUSHI, user_id="u")
    assert [(e.event, e.memory) for e in result.results] == [("ADD", "Loves sushi")]
    (request,) = server.chat_requests
    system, user = request.messages
    assert isinstance(system["content"], str)
    block, label, part = user["content"]
    assert block["type"] == "text"
    assert "[1 user] I love sushi\n  (image 1 attached)" in block["text"]
    assert label == {"type": "text", "text": "Image 1 (attached to message 1):"}
    assert part == {"type": "image_url", "image_url": {"url": URL, "detail": "auto"}}


def test_data_urls_and_detail_reach_the_model_in_message_order(make, server):
    mem = make(llm_config(server, enable_vision=True, vision_details="low"))
    server.reply(plan(fact("Has a cat", 2)))
    messages = [
        {"role": "user", "content": [text("Look at my lunch"), image(URL, detail="high")]},
        {"role": "user", "content": [image(DATA_URL)]},  # an image alone is a source too
    ]
    mem.add(messages, user_id="u")
    content = server.chat_requests[0].messages[1]["content"]
    assert "Source messages: 1, 2 (facts about the user)" in content[0]["text"]
    assert "[2 user] (image 2 attached)" in content[0]["text"]
    sent = [
        (p["image_url"]["url"], p["image_url"]["detail"])
        for p in content
        if p["type"] == "image_url"
    ]
    assert sent == [(URL, "high"), (DATA_URL, "low")]  # a part's own detail wins
    assert memories(mem, user_id="u") == ["Has a cat"]


def test_text_only_adds_keep_the_plain_string_request(make, server):
    mem = make(llm_config(server, enable_vision=True))
    server.reply(plan(fact("Loves sushi")))
    mem.add([{"role": "user", "content": [text("I love sushi")]}], user_id="u")
    assert isinstance(server.chat_requests[0].messages[1]["content"], str)


def test_a_failed_extraction_keeps_the_images_for_replay(make, server):
    mem = make(llm_config(server, enable_vision=True))
    server.reply(ScriptedReply.error(400, "bad request"))
    with pytest.raises(ExtractionError) as caught:
        mem.add(SUSHI, user_id="u")
    (row,) = mem.pending()
    assert row["messages"] == [{"role": "user", "content": [text("I love sushi"), image()]}]
    server.reply(plan(fact("Loves sushi")))
    mem.replay(caught.value.pending_id)
    assert server.chat_requests[-1].messages[1]["content"][2]["image_url"]["url"] == URL
    assert memories(mem, user_id="u") == ["Loves sushi"] and mem.pending() == []


# ---- validation at the boundary ------------------------------------------------------------


def too_big_data_url() -> str:
    return "data:image/png;base64," + "A" * ((MAX_DATA_URL_BYTES // 3 + 1) * 4)


@pytest.mark.parametrize(
    ("content", "error", "complaint"),
    [
        (
            [{"type": "video_url"}],
            InvalidInputError,
            r"content\[0\]\.type must be 'text' or 'image_url'",
        ),
        ([{"text": "no type"}], InvalidInputError, r"content\[0\]\.type must be"),
        (
            [{"type": "input_audio", "input_audio": {}}],
            UnsupportedContentError,
            r"content\[0\]: audio is not read",
        ),
        (
            [{"type": "mdx_url", "mdx_url": {"url": URL}}],
            UnsupportedContentError,
            r"content\[0\]: documents",
        ),
        (["just a string"], InvalidInputError, r"content\[0\] must be a content part dict"),
        (42, InvalidInputError, r"content must be a string or a list of content parts"),
        ([{"type": "text", "text": 7}], InvalidInputError, r"content\[0\]\.text must be a string"),
        ([text("a\x00b")], InvalidInputError, r"content\[0\]\.text contains a NUL"),
        (
            [image("ftp://example.com/a.png")],
            InvalidInputError,
            r"content\[0\]\.image_url\.url must be an http\(s\) URL",
        ),
        (
            [image("https:///no-host.png")],
            InvalidInputError,
            r"image_url\.url must be an http\(s\) URL",
        ),
        (
            [image("https://example.com/a b.png")],
            InvalidInputError,
            r"image_url\.url contains whitespace",
        ),
        (
            [image("https://example.com/" + "a" * 9000)],
            InvalidInputError,
            r"image_url\.url is longer than 8192",
        ),
        (
            [image("data:text/plain;base64,aGk=")],
            InvalidInputError,
            r"a data URL must be data:image/<type>;base64",
        ),
        (
            [image("data:image/png;base64,not base64!")],
            InvalidInputError,
            r"payload is not valid base64",
        ),
        (
            [image(URL, detail="ultra")],
            InvalidInputError,
            r"image_url\.detail must be 'auto', 'low' or 'high'",
        ),
        (
            [{"type": "image_url", "image_url": {}}],
            InvalidInputError,
            r"content\[0\]\.image_url must be",
        ),
        (
            [text("x")] * (MAX_CONTENT_PARTS + 1),
            InvalidInputError,
            rf"at most {MAX_CONTENT_PARTS} content parts",
        ),
        (
            [text("a" * 30_000), text("b" * 30_000)],
            InvalidInputError,
            rf"content is longer than {MAX_TEXT_LENGTH}",
        ),
    ],
    ids=lambda value: None if not isinstance(value, str) else value[:30],
)
def test_malformed_parts_are_typed_errors_naming_the_field(mem, content, error, complaint):
    with pytest.raises(error, match=r"messages\[0\]\.") as caught:
        mem.add([{"role": "user", "content": content}], user_id="u")
    assert caught.type is error
    assert caught.match(complaint)
    assert memories(mem, user_id="u") == []


def test_an_oversize_data_url_is_refused_before_anything_is_read(mem):
    with pytest.raises(InvalidInputError, match=rf"at most {MAX_DATA_URL_BYTES} in a data URL"):
        mem.add([{"role": "user", "content": [image(too_big_data_url())]}], user_id="u")


def test_the_images_of_one_call_are_bounded_together(mem, monkeypatch):
    monkeypatch.setattr("memkit._content.MAX_IMAGE_BYTES", 100)
    messages = [{"role": "user", "content": [image(DATA_URL)]} for _ in range(2)]
    with pytest.raises(
        InvalidInputError, match="bytes of data-URL images; at most 100 in one call"
    ):
        mem.add(messages, user_id="u")


def test_an_empty_part_list_is_nothing_to_remember(mem):
    with pytest.raises(InvalidInputError, match="messages are empty"):
        mem.add([{"role": "user", "content": []}], user_id="u")


def test_parts_come_only_from_content_never_from_the_callers_dict(make):
    reader = ImageReader()
    make(extractor=reader).add(
        [{"role": "user", "content": "I love tea", "parts": [image("javascript:alert(1)")]}],
        user_id="u",
    )
    assert reader.seen[0].parts == ()


# ---- transcripts ---------------------------------------------------------------------------


def test_transcripts_keep_the_parts(memory):
    memory.append_messages(
        "s-1",
        [
            {"role": "user", "content": [text("This is my cat"), image(DATA_URL, detail="low")]},
            {"role": "assistant", "content": "What a cute cat!"},
        ],
    )
    first, second = memory.get_messages("s-1")
    assert first.content == "This is my cat"
    assert [p.model_dump(exclude_none=True) for p in first.parts] == [
        text("This is my cat"),
        image(DATA_URL, detail="low"),
    ]
    assert second.content == "What a cute cat!" and second.parts == []


def test_transcripts_refuse_malformed_parts(mem):
    with pytest.raises(InvalidInputError, match=r"messages\[0\]\.content\[0\]\.image_url\.url"):
        mem.append_messages("s-1", [{"role": "user", "content": [image("file:///etc/passwd")]}])
    assert mem.get_messages("s-1") == []
