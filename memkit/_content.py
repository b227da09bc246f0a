"""A message's content parts: the OpenAI shape that LangChain and LlamaIndex messages
convert to, read at the boundary into text for every extractor and parts for the LLM.

``content`` may be a string, one part, or a list of parts::

    [{"type": "text", "text": "I love sushi"},
     {"type": "image_url", "image_url": {"url": "https://...", "detail": "low"}}]

The text parts, joined by newlines, become ``Message.content``: what the offline
extractor reads, what the text bounds (``MAX_TEXT_LENGTH``, no NUL...) apply to, and
what an ``infer=False`` add would store. The parts themselves, in order, stay on
``Message.parts`` for the LLM and for transcripts.

An image is only ever read by a model, so an add that carries one needs an extractor that
says it reads images (``accepts_images``: the LLM extractor with
``llm.config.enable_vision: true``, mem0's name for it). Without one the add is refused
with :class:`UnsupportedContentError` naming the part and what to configure, never run
on the text alone: a memory silently made from half of what was said is worse than none.
``infer=False`` stores messages verbatim as text memories, so an image is refused there
too, whatever the LLM.

Anything else (audio, files, mem0's ``mdx_url`` documents, an unknown ``type``) is a
typed error naming the part. Pure functions, no I/O: a URL is checked for its shape,
never fetched.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from memkit.bounds import (
    MAX_CONTENT_PARTS,
    MAX_DATA_URL_BYTES,
    MAX_IMAGE_BYTES,
    MAX_IMAGE_URL_LENGTH,
    text_problem,
)
from memkit.errors import InvalidInputError, UnsupportedContentError

__all__ = [
    "ContentPart",
    "ImagePart",
    "ImageUrl",
    "TextPart",
    "check_image_total",
    "check_readable",
    "image_bytes",
    "openai_content",
    "read_content",
]

Detail = Literal["auto", "low", "high"]


class TextPart(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["text"] = "text"
    text: str


class ImageUrl(BaseModel):
    model_config = ConfigDict(frozen=True)

    url: str  # http(s) or a data:image/...;base64 URL
    detail: Detail | None = None  # None: the configured llm.config.vision_details


class ImagePart(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["image_url"] = "image_url"
    image_url: ImageUrl


ContentPart = Annotated[TextPart | ImagePart, Field(discriminator="type")]

# Part types other tools send, refused with a reason rather than as unknown.
_NOT_READ = {
    "input_audio": "audio is not read",
    "audio": "audio is not read",
    "file": "files are not read",
    "mdx_url": "documents are not read (mem0's mdx_url)",
    "pdf_url": "documents are not read",
    "document": "documents are not read",
    "video": "video is not read",
}
_DATA_URL = re.compile(r"data:(image/[\w.+-]+);base64,", re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def read_content(value: Any, field: str) -> tuple[str, tuple[TextPart | ImagePart, ...]]:
    """``content`` as given -> (its text, its parts). A string has no parts; one part
    (mem0's ``{"type": "image_url", ...}`` as the whole content) counts as a list of one."""
    if isinstance(value, str):
        return value, ()
    if isinstance(value, Mapping):
        value = [value]
    elif not isinstance(value, Sequence) or isinstance(value, bytes):
        raise InvalidInputError(
            f"{field} must be a string or a list of content parts, not {type(value).__name__}"
        )
    if len(value) > MAX_CONTENT_PARTS:
        raise InvalidInputError(
            f"{field}: at most {MAX_CONTENT_PARTS} content parts, got {len(value)}"
        )
    parts = tuple(_part(item, f"{field}[{i}]") for i, item in enumerate(value))
    text = "\n".join(p.text for p in parts if isinstance(p, TextPart))
    return text, parts


def _part(item: Any, field: str) -> TextPart | ImagePart:
    if not isinstance(item, Mapping):
        raise InvalidInputError(f"{field} must be a content part dict with a 'type'")
    kind = item.get("type")
    if kind == "text":
        text = item.get("text")
        if not isinstance(text, str):
            raise InvalidInputError(f"{field}.text must be a string")
        problem = text_problem(text)
        if problem is not None:
            raise InvalidInputError(f"{field}.text {problem}")
        return TextPart(text=text)
    if kind == "image_url":
        image = item.get("image_url")
        if isinstance(image, str):  # LangChain's shorthand for {"url": ...}
            image = {"url": image}
        if not isinstance(image, Mapping) or not isinstance(image.get("url"), str):
            raise InvalidInputError(f"{field}.image_url must be {{'url': <http(s) or data URL>}}")
        detail = image.get("detail")
        if detail is not None and detail not in ("auto", "low", "high"):
            raise InvalidInputError(
                f"{field}.image_url.detail must be 'auto', 'low' or 'high', got {detail!r}"
            )
        url = image["url"].strip()
        _check_url(url, f"{field}.image_url.url")
        return ImagePart(image_url=ImageUrl(url=url, detail=detail))
    if isinstance(kind, str) and kind in _NOT_READ:
        raise UnsupportedContentError(
            f"{_NOT_READ[kind]}; memkit reads 'text' and 'image_url' parts", field
        )
    raise InvalidInputError(f"{field}.type must be 'text' or 'image_url', got {f'{kind!r}'[:80]}")


def _check_url(url: str, field: str) -> None:
    if url[:5].lower() == "data:":
        _data_url_size(url, field)
        return
    if len(url) > MAX_IMAGE_URL_LENGTH:
        raise InvalidInputError(f"{field} is longer than {MAX_IMAGE_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidInputError(f"{field} is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(
            f"{field} must be an http(s) URL or a data:image/...;base64 URL, got {url[:80]!r}"
        )
    if text_problem(url) is not None or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidInputError(f"{field} contains whitespace or control characters")


def _data_url_size(url: str, field: str) -> int:
    """The decoded bytes of a ``data:image/<type>;base64,...`` URL, checked."""
    head = _DATA_URL.match(url)
    if head is None:
        raise InvalidInputError(
            f"{field}: a data URL must be data:image/<type>;base64,<data>, got {url[:40]!r}"
        )
    payload = url[head.end() :]
    size = len(payload) * 3 // 4 - payload[-2:].count("=")
    if size > MAX_DATA_URL_BYTES:
        raise InvalidInputError(
            f"{field}: the image is {size} bytes; at most {MAX_DATA_URL_BYTES} in a data URL"
        )
    if not payload or len(payload) % 4 or not _BASE64.fullmatch(payload):
        raise InvalidInputError(f"{field}: the data URL's payload is not valid base64")
    return size


def image_bytes(parts: Sequence[TextPart | ImagePart]) -> int:
    """The decoded bytes of the data URLs among ``parts`` (http URLs count nothing)."""
    total = 0
    for part in parts:
        if isinstance(part, ImagePart) and part.image_url.url[:5].lower() == "data:":
            payload = part.image_url.url.partition(",")[2]
            total += len(payload) * 3 // 4 - payload[-2:].count("=")
    return total


def check_image_total(total: int, field: str = "messages") -> None:
    if total > MAX_IMAGE_BYTES:
        raise InvalidInputError(
            f"{field} carry {total} bytes of data-URL images; at most {MAX_IMAGE_BYTES} in one call"
        )


def openai_content(content: str, parts: Sequence[TextPart | ImagePart]) -> Any:
    """The content as it was given: the string, or the parts as OpenAI part dicts."""
    if not parts:
        return content
    return [part.model_dump(exclude_none=True) for part in parts]


def check_readable(messages: Sequence[Any], extractor: object | None) -> None:
    """Refuse an image nothing will read: with ``extractor`` None (``infer=False``), or
    one that does not declare ``accepts_images``. Names the first such part."""
    for i, message in enumerate(messages):
        for j, part in enumerate(message.parts):
            if not isinstance(part, ImagePart):
                continue
            if extractor is not None and getattr(extractor, "accepts_images", False) is True:
                return
            raise UnsupportedContentError(_why_unread(extractor), f"messages[{i}].content[{j}]")


_VISION_CONFIG = (
    '{"llm": {"provider": "openai", "config": {"model": "gpt-4o-mini", "enable_vision": true}}}'
)


def _why_unread(extractor: object | None) -> str:
    if extractor is None:
        return (
            "infer=False stores each message verbatim as a text memory and cannot store an "
            "image; leave the image out, or add with infer=True and a vision-capable LLM "
            "(llm.config.enable_vision: true)"
        )
    settings = getattr(extractor, "settings", None)
    model = getattr(settings, "model", None)
    if isinstance(model, str):
        return (
            f"an image needs a vision-capable LLM and the configured one ({model!r}) is not "
            "marked as one: set llm.config.enable_vision: true (enable_vision=True for a "
            "framework's model) if it reads images, or leave the image out"
        )
    if type(extractor).__name__ == "RuleExtractor":
        return (
            "an image needs a vision-capable LLM and this Memory has none (the offline "
            f"extractor reads text only): configure one, e.g. {_VISION_CONFIG}, or leave "
            "the image out"
        )
    return (
        f"an image needs an extractor that reads images and {type(extractor).__name__} "
        "does not declare accepts_images = True; configure a vision-capable LLM "
        "(llm.config.enable_vision: true), or leave the image out"
    )
