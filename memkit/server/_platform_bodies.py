"""The platform's request bodies, and how a request's options reach ``Memory``.

A body names the options the platform documents, so the OpenAPI document shows them and a
wrongly typed one is a 400 before anything runs. Methods that take the platform's other
keywords (add, search, get_all, exports) allow extra keys and hand them to ``Memory``,
which accepts the platform's names and refuses anything else with ``InvalidInputError``
(a 400 naming the key); methods with a fixed signature (update, batches) forbid them here.
Models are strict: JSON has real types, so ``"5"`` is not a ``top_k``.

``org_id`` / ``project_id`` (which the platform's client sends once ``/v1/ping/`` told it
its project) are checked against the key and then dropped: a store is one project, and
memkit's core refuses them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from memkit.errors import InvalidInputError
from memkit.models import ID_FIELDS
from memkit.server._auth import Project, check_scope

__all__ = [
    "AddBody",
    "BatchBody",
    "ExportBody",
    "ExportGetBody",
    "ListBody",
    "SearchBody",
    "UpdateBody",
    "dump",
    "lift_entity_filters",
    "only_known",
    "options_of",
]

Json = dict[str, Any]


class _Open(BaseModel):
    """A body whose unknown keys go on to ``Memory`` (which refuses what it does not know)."""

    model_config = ConfigDict(extra="allow", strict=True)

    org_id: str | None = None
    project_id: str | None = None


class _Closed(_Open):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Ids(_Open):
    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None


class AddBody(_Ids):
    """``POST /v1/memories/``: the messages and how to remember them."""

    messages: list[dict[str, Any]] | dict[str, Any] | str
    filters: dict[str, Any] | None = Field(
        default=None,
        description='mem0ai 2.x sends the entity ids here ({"user_id": ...}); '
        "the same as giving them at the top level",
    )
    metadata: dict[str, Any] | None = None
    infer: bool | None = None
    categories: list[str] | None = None
    timestamp: float | str | None = None
    includes: str | None = None
    excludes: str | None = None
    custom_instructions: str | None = None
    custom_categories: list[dict[str, str] | str] | dict[str, str] | None = None
    expiration_date: str | None = None
    immutable: bool | None = None
    version: str | None = None
    output_format: str | None = None
    async_mode: bool | None = Field(
        default=None,
        description="accepted for the platform's clients (they send true): the add always "
        "runs before the reply, which carries its events",
    )


class SearchBody(_Ids):
    """``POST /v2/memories/search/``: a query, the v2 filters and the ranking options."""

    query: str
    filters: dict[str, Any] | None = None
    top_k: int | None = None
    limit: int | None = None
    threshold: float | None = None
    fields: list[str] | None = None
    keyword_search: bool | None = None
    rerank: bool | None = None
    version: str | None = None
    output_format: str | None = None


class ListBody(_Ids):
    """``POST /v2/memories/``: the v2 filters (page and page_size may be query parameters)."""

    filters: dict[str, Any] | None = None
    categories: list[str] | None = None
    keywords: str | None = None
    page: int | None = None
    page_size: int | None = None
    fields: list[str] | None = None
    version: str | None = None
    output_format: str | None = None


class UpdateBody(_Closed):
    """``PUT /v1/memories/{id}/``: a new text, new metadata (replacing the old), or both.

    ``expiration_date`` null clears the date; left out, it is kept."""

    text: str | None = None
    data: str | None = Field(default=None, description="mem0's name for text")
    metadata: dict[str, Any] | None = None
    expiration_date: str | None = None


class BatchBody(_Closed):
    """``PUT`` / ``DELETE /v1/batch/``: up to 1000 items, all or nothing."""

    memories: list[dict[str, Any]]


class ExportBody(_Ids):
    """``POST /v1/exports/``: the JSON schema the configured LLM fills from the memories."""

    schema_: dict[str, Any] | str = Field(alias="schema")
    filters: dict[str, Any] | None = None
    export_instructions: str | None = None


class ExportGetBody(_Ids):
    """``POST /v1/exports/get/``: an export by id, or the latest made with these filters."""

    memory_export_id: str | None = None
    filters: dict[str, Any] | None = None


def options_of(
    project: Project, body: BaseModel, *, drop: Iterable[str] = (), keep_none: bool = False
) -> Json:
    """The body as ``Memory`` keywords: scope checked and removed, ``drop`` left out.

    Null values are left out (the platform's clients leave unset options out too) unless
    ``keep_none``: then only the keys the request sent are kept, nulls included."""
    data = body.model_dump(exclude_unset=keep_none, exclude_none=not keep_none)
    check_scope(project, data.pop("org_id", None), data.pop("project_id", None))
    for key in drop:
        data.pop(key, None)
    return data


def lift_entity_filters(options: Json) -> None:
    """mem0ai 2.x's add names the memories' entity ids inside ``filters``: move them to the
    top level, where ``Memory.add`` takes them. Anything else in them is refused."""
    filters = options.pop("filters", None)
    if filters is None:
        return
    if set(filters) - set(ID_FIELDS) or not all(isinstance(v, str) for v in filters.values()):
        raise InvalidInputError(
            "add's filters may only name the memories' entity ids, as strings: "
            f"{{'user_id': ...}}; got {filters!r}"
        )
    for key, value in filters.items():
        if options.setdefault(key, value) != value:
            raise InvalidInputError(f"{key} is {options[key]!r}, but filters say {value!r}")


def only_known(params: Mapping[str, str], known: Iterable[str]) -> None:
    """Refuse query parameters a route does not take (scope ones are checked by the key)."""
    unknown = set(params) - set(known) - {"org_id", "project_id"}
    if unknown:
        raise InvalidInputError(f"unexpected query parameters: {sorted(unknown)}")


def dump(result: object) -> Any:
    """A result as the platform's JSON: models dumped, lists of them dumped one by one."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [dump(item) for item in result]
    return result
