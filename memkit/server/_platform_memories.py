"""The platform's memory routes: add, search, list, get, update, delete, history.

Paths, query parameters and JSON bodies are those of mem0ai 1.0.11's ``MemoryClient``
(the client the reference document is written for); mem0ai 2.x's ``/v3/`` add, list and
search paths reach the same handlers. Every reply is the memkit result's
``model_dump(mode="json")``, which is the platform's shape. Routes are plain ``def``:
``Memory`` blocks, and FastAPI runs them on its thread pool.
"""

from __future__ import annotations

import ast
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from memkit.errors import InvalidInputError
from memkit.models import (
    ID_FIELDS,
    AddResult,
    HistoryEntry,
    MemoryRecord,
    MessageResult,
    Page,
    SearchResult,
)
from memkit.server._auth import ProjectDep
from memkit.server._platform_bodies import (
    AddBody,
    ListBody,
    SearchBody,
    UpdateBody,
    dump,
    lift_entity_filters,
    only_known,
    options_of,
)
from memkit.server._platform_events import (
    publish_add,
    publish_bulk_delete,
    publish_deleted,
    publish_update,
)

__all__ = ["router"]

router = APIRouter(tags=["memories"])

IdQuery = Annotated[str | None, Query(description="an entity id the memories must carry")]
PageQuery = Annotated[int | None, Query(ge=1, description="1-based page number")]
SizeQuery = Annotated[int | None, Query(ge=1, description="memories per page (default 100)")]


def _ids(**given: str | None) -> dict[str, str]:
    return {key: value for key, value in given.items() if value is not None}


@router.post("/v1/memories/", summary="Add memories", responses={200: {"model": AddResult}})
@router.post("/v3/memories/add/", summary="Add memories (mem0ai 2.x path)")
def add(body: AddBody, project: ProjectDep) -> Any:
    """Extract memories from the messages (or store them verbatim with ``infer: false``).

    Replies with the events caused: ADD, UPDATE (with ``previous_memory``), DELETE (a
    spoken delete) and NONE. The platform's clients send ``async_mode: true`` (the hosted
    platform queues the add); here the add has run when the reply comes, so the reply
    carries its events and the memories are readable at once."""
    options = options_of(project, body, drop=("async_mode",))
    lift_entity_filters(options)
    result = project.memory.add(options.pop("messages"), **options)
    publish_add(project, result)
    return dump(result)


@router.post(
    "/v2/memories/search/", summary="Search memories", responses={200: {"model": SearchResult}}
)
@router.post("/v1/memories/search/", summary="Search memories (v1 path)")
@router.post("/v3/memories/search/", summary="Search memories (mem0ai 2.x path)")
def search(body: SearchBody, project: ProjectDep) -> Any:
    """The memories most relevant to ``query``, best first, within the v2 ``filters``.

    ``fields`` narrows each result to those fields; ``output_format: "v1.0"`` replies
    with a bare list."""
    options = options_of(project, body, drop=("async_mode",))
    return dump(project.memory.search(options.pop("query"), **options))


@router.post(
    "/v2/memories/", summary="List memories (v2 filters)", responses={200: {"model": Page}}
)
@router.post("/v3/memories/", summary="List memories (mem0ai 2.x path)")
def get_all(
    body: ListBody, project: ProjectDep, page: PageQuery = None, page_size: SizeQuery = None
) -> Any:
    """One page of the memories matching the v2 ``filters``, most recently updated first.

    The reply is ``{count, page, page_size, next, previous, results}``; ``next`` and
    ``previous`` are page numbers (null at the ends). ``page`` / ``page_size`` may come
    as query parameters (as the platform's client sends them) or in the body."""
    options = options_of(project, body, drop=("async_mode",))
    if page is not None:
        options["page"] = page
    if page_size is not None:
        options["page_size"] = page_size
    return dump(project.memory.get_all(**options))


@router.get("/v1/memories/", summary="List memories (v1)", responses={200: {"model": Page}})
def list_memories(
    request: Request,
    project: ProjectDep,
    user_id: IdQuery = None,
    agent_id: IdQuery = None,
    app_id: IdQuery = None,
    run_id: IdQuery = None,
    keywords: Annotated[str | None, Query(description="words the memory must hold")] = None,
    page: PageQuery = None,
    page_size: SizeQuery = None,
    output_format: Annotated[
        str | None, Query(description='"v1.0": the bare list of the old clients')
    ] = None,
) -> Any:
    """The v1 listing: entity ids as query parameters; the same page as ``POST /v2/memories/``."""
    only_known(request.query_params, (*ID_FIELDS, "keywords", "page", "page_size", "output_format"))
    options: dict[str, Any] = _ids(
        user_id=user_id,
        agent_id=agent_id,
        app_id=app_id,
        run_id=run_id,
        keywords=keywords,
        output_format=output_format,
    )
    if page is not None:
        options["page"] = page
    if page_size is not None:
        options["page_size"] = page_size
    return dump(project.memory.get_all(**options))


@router.get(
    "/v1/memories/{memory_id}/", summary="Get a memory", responses={200: {"model": MemoryRecord}}
)
def get(memory_id: str, project: ProjectDep) -> Any:
    """One memory by id (404 when the project has none with that id)."""
    return dump(project.memory.get(memory_id))


@router.put(
    "/v1/memories/{memory_id}/",
    summary="Update a memory",
    responses={200: {"model": MemoryRecord}},
)
def update(memory_id: str, body: UpdateBody, project: ProjectDep) -> Any:
    """Change a memory's text, its metadata (replaced whole), or both; recorded in history.

    An immutable memory is a 409."""
    sent = options_of(project, body, keep_none=True)
    # Only expiration_date means something as null (clear it); other nulls are unset.
    options = {k: v for k, v in sent.items() if v is not None or k == "expiration_date"}
    record = project.memory.update(memory_id, **options)
    publish_update(project, record)
    return dump(record)


@router.delete(
    "/v1/memories/{memory_id}/",
    summary="Delete a memory",
    responses={200: {"model": MessageResult}},
)
def delete(
    memory_id: str,
    project: ProjectDep,
    delete_linked: Annotated[
        bool,
        Query(
            description="mem0ai 2.x: also delete the memories this one superseded. memkit "
            "updates a memory in place (its history keeps the old texts), so there are none"
        ),
    ] = False,
) -> Any:
    """Delete one memory; its history stays readable."""
    result = project.memory.delete(memory_id)
    publish_deleted(project, [memory_id])
    return dump(result)


@router.delete(
    "/v1/memories/",
    summary="Delete the memories of an entity",
    responses={200: {"model": MessageResult}},
)
def delete_all(
    request: Request,
    project: ProjectDep,
    user_id: IdQuery = None,
    agent_id: IdQuery = None,
    app_id: IdQuery = None,
    run_id: IdQuery = None,
    filters: Annotated[
        str | None, Query(description="v2 filters as JSON text, ANDed with the ids")
    ] = None,
) -> Any:
    """Delete every memory carrying all the given ids; at least one id is required (a
    filter must pin one too), so no call deletes every entity (``POST /v1/reset/`` does)."""
    only_known(request.query_params, (*ID_FIELDS, "filters"))
    options: dict[str, Any] = _ids(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    if filters is not None:
        options["filters"] = _json_object(filters, "filters")
    result = project.memory.delete_all(**options)
    publish_bulk_delete(project, options, result.count)
    return dump(result)


@router.get(
    "/v1/memories/{memory_id}/history/",
    summary="A memory's history",
    responses={200: {"model": list[HistoryEntry]}},
)
def history(memory_id: str, project: ProjectDep) -> Any:
    """Every change to the memory, oldest first; still there after it was deleted."""
    return dump(project.memory.history(memory_id))


def _json_object(text: str, name: str) -> dict[str, Any]:
    """A query parameter's object: JSON, or the Python literal that mem0ai 2.x's
    ``delete_all(filters={...})`` sends (httpx writes a dict parameter as its ``repr``)."""
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise InvalidInputError(f"{name} is nested too deeply") from exc
    except json.JSONDecodeError as exc:
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise InvalidInputError(f"{name} must be a JSON object: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise InvalidInputError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value
