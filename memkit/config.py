"""Configuration: the shape mem0 users already write, validated at construction.

Unknown keys, unknown providers and wrong types raise :class:`ConfigError` naming
the key, so a typo fails when ``Memory`` is built rather than at the first call.
mem0's extra keys (``openai_base_url``, ``history_db_path``, ``version``, ...) are
accepted as aliases so a mem0 config moves over unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from memkit.bounds import MAX_CATEGORY_LENGTH, json_problem
from memkit.errors import ConfigError, format_path

__all__ = [
    "ChromaConfig",
    "EmbedderConfig",
    "EmbedderSettings",
    "LlmConfig",
    "LlmSettings",
    "MemoryConfig",
    "RecordStoreConfig",
    "SearchConfig",
    "VectorStoreConfig",
    "default_home",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ChromaConfig(_Strict):
    """Embedded under ``path`` unless ``host`` is set, then a Chroma server."""

    path: str | None = None
    host: str | None = None
    port: int = 8000
    ssl: bool = False
    headers: dict[str, str] | None = None
    collection_name: str = Field(default="memkit", min_length=3, max_length=512)
    timeout: float = Field(default=30.0, gt=0, description="seconds per call to a Chroma server")


class VectorStoreConfig(_Strict):
    provider: Literal["chroma"] = "chroma"
    config: ChromaConfig = Field(default_factory=ChromaConfig)


class EmbedderSettings(_Strict):
    model: str | None = None
    api_key: str | None = None
    base_url: str | None = Field(default=None, alias="openai_base_url")
    embedding_dims: int | None = Field(default=None, gt=0)
    batch_size: int = Field(default=64, gt=0, le=2048)
    threads: int = Field(default=1, gt=0, description="onnxruntime intra-op threads")
    timeout: float = Field(default=30.0, gt=0)


class EmbedderConfig(_Strict):
    provider: Literal["onnx", "openai"] = "onnx"
    config: EmbedderSettings = Field(default_factory=EmbedderSettings)


class LlmSettings(_Strict):
    model: str = "gpt-4o-mini"
    api_key: str | None = None
    base_url: str | None = Field(default=None, alias="openai_base_url")
    temperature: float = Field(default=0.0, ge=0, le=2)
    timeout: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    max_tokens: int | None = Field(default=None, gt=0)
    # mem0's names. Whether the model reads images is the user's to say: no model list
    # could keep up with local servers (llava, qwen-vl) and new releases.
    enable_vision: bool = Field(
        default=False, description="the model reads images: image parts are sent to it"
    )
    vision_details: Literal["auto", "low", "high"] = Field(
        default="auto", description="OpenAI's image detail for parts that name none"
    )


class LlmConfig(_Strict):
    provider: Literal["openai"] = "openai"
    config: LlmSettings = Field(default_factory=LlmSettings)


# The databases memkit's record store is written and tested for (DESIGN.md).
RECORD_STORE_DATABASES = ("sqlite", "postgresql")


class RecordStoreConfig(_Strict):
    """``url`` is a SQLAlchemy URL; None means SQLite under the memkit home."""

    url: str | None = None

    @field_validator("url")
    @classmethod
    def _known_database(cls, url: str | None) -> str | None:
        if url is None:
            return url
        scheme, sep, _ = url.partition("://")
        database = scheme.split("+", 1)[0].lower()
        if not sep or database not in RECORD_STORE_DATABASES:
            raise ValueError(
                f"unknown database URL scheme {scheme if sep else url!r}: memkit keeps its "
                "records in SQLite (sqlite:///FILE) or PostgreSQL (postgresql://...)"
            )
        return url


class SearchConfig(_Strict):
    """How ``search`` ranks: ``hybrid`` (keywords + vectors + time and context cues, the
    default) or ``dense`` (vector similarity only). The weights are shares in [0, 1]."""

    mode: Literal["hybrid", "dense"] = "hybrid"
    keyword_weight: float = Field(default=0.5, ge=0, le=1)
    context_weight: float = Field(default=0.3, ge=0, le=1)
    time_weight: float = Field(default=0.1, ge=0, le=1)


class MemoryConfig(_Strict):
    """Everything ``Memory.from_config`` accepts."""

    path: str | None = Field(
        default=None, description="home of the embedded stores; default $MEMKIT_HOME"
    )
    vector_store: VectorStoreConfig = Field(default_factory=VectorStoreConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    llm: LlmConfig | None = None
    record_store: RecordStoreConfig = Field(default_factory=RecordStoreConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    categories: list[str] | dict[str, str] | None = None
    custom_instructions: str | None = Field(default=None, alias="custom_fact_extraction_prompt")
    # mem0 keys accepted so a mem0 config moves over unchanged.
    history_db_path: str | None = None
    version: str | None = None

    @model_validator(mode="after")
    def _storable_strings(self) -> MemoryConfig:
        """Category names become fields of stored memories and the instructions part of every
        prompt: each must meet the bounds a caller's input meets (``memkit.bounds``)."""
        problem = json_problem(self.model_dump())
        if problem is not None:
            raise ValueError(f"the configuration {problem}")
        names = self.categories or []
        for name in names:
            if isinstance(name, str) and len(name.strip()) > MAX_CATEGORY_LENGTH:
                raise ValueError(
                    f"category {name[:40]!r}... is longer than {MAX_CATEGORY_LENGTH} characters"
                )
        return self

    @model_validator(mode="after")
    def _history_db_path_is_record_store(self) -> MemoryConfig:
        if self.history_db_path and not self.record_store.url:
            self.record_store = RecordStoreConfig(url=f"sqlite:///{self.history_db_path}")
        return self

    def home(self) -> Path:
        """The directory of the embedded stores and the lock."""
        return Path(self.path).expanduser() if self.path else default_home()


def default_home() -> Path:
    return Path(os.environ.get("MEMKIT_HOME") or Path.home() / ".memkit").expanduser()


def load_config(config: MemoryConfig | dict[str, Any] | None) -> MemoryConfig:
    """Validate a config dict (or pass a model through), raising ConfigError naming the key."""
    if config is None:
        return MemoryConfig()
    if isinstance(config, MemoryConfig):
        return config
    if not isinstance(config, dict):
        raise ConfigError(f"config must be a dict or MemoryConfig, not {type(config).__name__}")
    try:
        return MemoryConfig.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = format_path([p for p in first["loc"] if isinstance(p, str | int)])
        raise ConfigError(f"config key {where!r}: {first['msg']}") from exc
