"""The platform's structured memory export: a schema and filters in, one filled object out.

``create_memory_export(schema, filters=...)`` hands the configured LLM the memories the
filters select and a JSON schema (a pydantic model class, a JSON schema dict or its
JSON text) and asks for one object that follows it, filled only from what the memories
say. The platform runs this as a job (``create`` returns an id, ``get_memory_export``
returns the object); memkit runs it during ``create`` and keeps the object for ``get``
in the ``Memory`` object, not in the store: it is derived personal data that should not
outlive the process, nor a ``reset`` of the memories it was drawn from.

The answer is checked before it is kept: with a pydantic model it is validated by the
model, with a JSON schema it must be a JSON object holding the schema's top-level
``required`` keys (memkit does not depend on a JSON Schema validator). An invalid answer
gets one repair call that sends the error back, as extraction does; after that, or when
the model cannot be reached, ``ExtractionError``. Without an LLM it is a ``ConfigError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import openai
from openai.types.shared_params import ResponseFormatJSONObject, ResponseFormatJSONSchema
from pydantic import BaseModel, ValidationError

from memkit._domain import StoredMemory
from memkit._lookup import matching_ids
from memkit.errors import ConfigError, ExtractionError, InvalidInputError
from memkit.extract._chat_function import ChatFunctionError
from memkit.extract._interface import Extractor
from memkit.extract._llm import LlmExtractor
from memkit.filters._chroma import to_chroma
from memkit.filters._language import FilterNode
from memkit.store._backend import Backend
from memkit.tokens import count_tokens

__all__ = [
    "MAX_EXPORT_TOKENS",
    "ExportJobs",
    "fill_schema",
    "json_schema_of",
    "llm_of",
    "selected_memories",
]

# Memories handed to the model, newest first, until their text reaches this many tokens:
# small enough for any current chat model's context with room for the schema and answer.
MAX_EXPORT_TOKENS = 16_000
_SCHEMA_NAME = "memory_export"

_SYSTEM = """You build one JSON object that follows the JSON schema below, from the stored \
memories the user gives you. Fill a field only from what the memories state; where they \
say nothing, use null or leave the field out if the schema allows it. Never invent a \
value. Answer with the JSON object only.

JSON schema:
{schema}"""


def llm_of(extractor: Extractor) -> LlmExtractor:
    """The configured LLM (the extractor that an ``llm`` entry, or a framework model, set
    up), or a ConfigError that says what to configure."""
    if isinstance(extractor, LlmExtractor):
        return extractor
    raise ConfigError(
        "create_memory_export needs an LLM: add an 'llm' entry to the configuration "
        "(any OpenAI-compatible endpoint: model, base_url, api_key), or pass a framework "
        "chat model through the LangChain / LlamaIndex adapters"
    )


def json_schema_of(schema: Any) -> tuple[dict[str, Any], type[BaseModel] | None]:
    """The JSON schema, and the pydantic model when one was given."""
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema.model_json_schema(), schema
    if isinstance(schema, str):
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"schema is not valid JSON: {exc.msg}") from exc
    if not isinstance(schema, Mapping) or not schema:
        raise InvalidInputError(
            "schema must be a pydantic model class, a JSON schema dict or its JSON text"
        )
    if schema.get("type", "object") != "object" and "properties" not in schema:
        raise InvalidInputError("schema must describe a JSON object (type 'object')")
    return dict(schema), None


def selected_memories(backend: Backend, node: FilterNode | None) -> list[StoredMemory]:
    """The memories a filter selects (every memory when None)."""
    if node is None:
        return [m for batch in backend.records.iter_all() for m in batch]
    ids = sorted(matching_ids(backend, to_chroma(node)))
    return list(backend.records.get_many(ids).values())


def memories_prompt(memories: Sequence[StoredMemory]) -> str:
    """The memories as the model reads them, newest first, cut at MAX_EXPORT_TOKENS."""
    lines: list[str] = []
    budget = MAX_EXPORT_TOKENS
    for memory in sorted(memories, key=lambda m: (-m.updated_at, m.id)):
        date = memory.to_model().created_at.date().isoformat()
        line = f"- [{date}] {memory.memory}"
        budget -= count_tokens(line)
        if budget < 0:
            break
        lines.append(line)
    if not lines:
        return "There are no stored memories."
    return "Stored memories, newest first:\n" + "\n".join(lines)


def _check(answer: str | None, schema: Mapping[str, Any], model: type[BaseModel] | None) -> Any:
    """The answer as a JSON object, checked; ValueError says what is wrong with it."""
    if answer is None:
        raise ValueError("the answer had no content")
    data = json.loads(answer)  # JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise ValueError(f"the answer is a JSON {type(data).__name__}, not an object")
    if model is not None:
        return model.model_validate(data).model_dump(mode="json")
    missing = [key for key in schema.get("required", []) if key not in data]
    if missing:
        raise ValueError(f"the answer lacks the required keys {missing}")
    return data


def fill_schema(
    llm: LlmExtractor,
    schema: dict[str, Any],
    model: type[BaseModel] | None,
    memories: Sequence[StoredMemory],
    instructions: str | None,
) -> dict[str, Any]:
    """One object following ``schema``, filled by the model from ``memories``."""
    system = _SYSTEM.format(schema=json.dumps(schema, indent=1))
    if instructions:
        system += f"\n\nExport instructions: {instructions}"
    chat = [
        {"role": "system", "content": system},
        {"role": "user", "content": memories_prompt(memories)},
    ]
    answer = _complete(llm, chat, schema)
    try:
        result: dict[str, Any] = _check(answer, schema, model)
        return result
    except (ValueError, ValidationError) as first:
        repair = [
            *chat,
            {"role": "assistant", "content": answer or ""},
            {"role": "user", "content": f"That answer is invalid: {first}. Answer again."},
        ]
        answer = _complete(llm, repair, schema)
        try:
            result = _check(answer, schema, model)
            return result
        except (ValueError, ValidationError) as second:
            raise ExtractionError(
                f"the model's memory export was invalid twice (after one repair): {second}"
            ) from second


def _complete(llm: LlmExtractor, chat: list[dict[str, str]], schema: dict[str, Any]) -> str | None:
    settings = llm.settings
    options: dict[str, Any] = {
        "model": settings.model,
        "messages": chat,
        "temperature": settings.temperature,
    }
    if settings.max_tokens is not None:
        options["max_tokens"] = settings.max_tokens
    structured: ResponseFormatJSONSchema = {
        "type": "json_schema",
        "json_schema": {"name": _SCHEMA_NAME, "schema": schema, "strict": False},
    }
    fallback: ResponseFormatJSONObject = {"type": "json_object"}
    client = llm._client  # the extractor's own client: its retries, timeout and key
    try:
        try:
            completion = client.chat.completions.create(**options, response_format=structured)
        except openai.BadRequestError as exc:
            text = str(exc).lower()
            if "response_format" not in text and "json_schema" not in text:
                raise
            completion = client.chat.completions.create(**options, response_format=fallback)
    except (openai.APIError, ChatFunctionError) as exc:
        raise ExtractionError(f"the memory export's LLM call failed: {exc}") from exc
    except json.JSONDecodeError:
        return None  # a 200 whose body is not JSON: an invalid answer
    choices = getattr(completion, "choices", None)
    content = getattr(getattr(choices[0], "message", None), "content", None) if choices else None
    return content if isinstance(content, str) else None


class _ExportTable(Protocol):
    def keep(self, filters_key: str, result: dict[str, Any]) -> str: ...
    def get(self, export_id: str) -> dict[str, Any] | None: ...
    def latest(self, filters_key: str) -> str | None: ...


class ExportJobs:
    """The structured exports of a store, by id, and the latest per filter. Kept in the
    record store (``memory_exports``), so every process serving the store (a server's
    workers) finds each other's; ``reset`` deletes them with the memories they came from."""

    def __init__(self, table: _ExportTable) -> None:
        self._table = table

    @staticmethod
    def _key(filters: Any) -> str:
        return json.dumps(filters, sort_keys=True, default=str)

    def keep(self, filters: Any, result: dict[str, Any]) -> str:
        return self._table.keep(self._key(filters), result)

    def get(self, export_id: str | None, filters: Any) -> dict[str, Any]:
        if export_id is None:
            export_id = self._table.latest(self._key(filters))
            if export_id is None:
                raise InvalidInputError("no memory export was created with these filters")
        result = self._table.get(export_id)
        if result is None:
            raise InvalidInputError(f"no memory export with id {export_id!r}")
        return result  # read from the store: the caller's own copy
