"""The platform's entity, batch, reset and export routes.

mem0ai 1.0.11's ``reset()`` and argument-less ``delete_users()`` list ``/v1/entities/`` and
delete each entity through ``/v2/entities/{type}/{name}/``; ``POST /v1/reset/`` is memkit's
one-call reset for plain HTTP callers (memkit's own client calls ``/v1/memkit/reset/``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from memkit.models import (
    ENTITY_FIELDS,
    BatchResult,
    EntityType,
    MemoryExportJob,
    MessageResult,
    UsersResult,
)
from memkit.server._auth import ProjectDep
from memkit.server._platform_bodies import (
    BatchBody,
    ExportBody,
    ExportGetBody,
    dump,
    options_of,
)
from memkit.server._platform_events import (
    publish_bulk_delete,
    publish_deleted,
    publish_updates,
)

__all__ = ["router"]

router = APIRouter()

EntityKind = Annotated[EntityType, Path(description="user, agent, app or run")]
EntityName = Annotated[str, Path(description="the entity's id (user_id, agent_id, ...)")]


@router.get(
    "/v1/entities/",
    tags=["entities"],
    summary="List users, agents, apps and runs",
    responses={200: {"model": UsersResult}},
)
def users(project: ProjectDep) -> Any:
    """Every user, agent, app and run that has memories, with how many."""
    return dump(project.memory.users())


@router.delete(
    "/v2/entities/{entity_type}/{entity_id}/",
    tags=["entities"],
    summary="Delete an entity and its memories",
    responses={200: {"model": MessageResult}},
)
@router.delete("/v1/entities/{entity_type}/{entity_id}/", tags=["entities"])
def delete_entity(entity_type: EntityKind, entity_id: EntityName, project: ProjectDep) -> Any:
    """Remove one user, agent, app or run with all its memories."""
    scope = {ENTITY_FIELDS[entity_type]: entity_id}
    result = project.memory.delete_users(**scope)
    publish_bulk_delete(project, scope, result.count)
    return dump(result)


@router.put(
    "/v1/batch/",
    tags=["batch"],
    summary="Update up to 1000 memories",
    responses={200: {"model": BatchResult}},
)
def batch_update(body: BatchBody, project: ProjectDep) -> Any:
    """``{"memories": [{"memory_id", "text"?, "metadata"?}, ...]}``, in one transaction:
    all are updated or none (an unknown id is a 404, an immutable one a 409)."""
    memories = options_of(project, body)["memories"]
    result = project.memory.batch_update(memories)
    publish_updates(project, memories)
    return dump(result)


@router.delete(
    "/v1/batch/",
    tags=["batch"],
    summary="Delete up to 1000 memories",
    responses={200: {"model": BatchResult}},
)
def batch_delete(body: BatchBody, project: ProjectDep) -> Any:
    """``{"memories": [{"memory_id"}, ...]}``, in one transaction: an unknown id deletes
    nothing (404)."""
    memories = options_of(project, body)["memories"]
    result = project.memory.batch_delete(memories)
    publish_deleted(project, [str(item["memory_id"]) for item in memories])
    return dump(result)


@router.post(
    "/v1/reset/",
    tags=["entities"],
    summary="Delete every memory of the project",
    responses={200: {"model": MessageResult}},
)
def reset(project: ProjectDep) -> Any:
    """Every memory, its history and the activity log of the key's project: gone."""
    count = project.memory.get_all(page_size=1).count
    result = project.memory.reset()
    publish_bulk_delete(project, {}, count)
    return dump(result)


@router.post(
    "/v1/exports/",
    tags=["exports"],
    summary="Create a structured export",
    responses={200: {"model": MemoryExportJob}},
)
def create_memory_export(body: ExportBody, project: ProjectDep) -> Any:
    """The configured LLM fills one object following ``schema`` from the selected
    memories (no LLM configured: 400). The reply's ``id`` is for ``/v1/exports/get/``."""
    options = options_of(project, body)
    schema = options.pop("schema_")
    return dump(project.memory.create_memory_export(schema, **options))


@router.post("/v1/exports/get/", tags=["exports"], summary="Get a structured export")
def get_memory_export(body: ExportGetBody, project: ProjectDep) -> Any:
    """The object an export filled: by ``memory_export_id``, or the latest made with the
    same filters and ids (404 when there is none)."""
    options = options_of(project, body)
    return dump(project.memory.get_memory_export(**options))
