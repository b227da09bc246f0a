"""Every route's first step: the ``Authorization: Token <key>`` header, checked.

A missing, malformed, unknown or revoked key is 401; a valid key asking for another
project (``project_id`` / ``org_id`` that are not its own, as the platform's client sends
them) is 403. What a route receives is the key's project and that project's store only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from memkit import Memory
from memkit.server._events import EventSink, EventType
from memkit.server._keys import ApiKey, KeyStore
from memkit.server._projects import ProjectMemories

__all__ = ["ORG_ID", "Project", "ProjectDep", "check_scope", "current_project"]

# memkit has no organisations: every project answers to this one.
ORG_ID = "local"

_header = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Token <key>`: a key made with `memkit keys create`",
)


@dataclass(frozen=True)
class Project:
    """The request's tenant: its id, the key that was sent, and its store."""

    id: str
    key: ApiKey
    memory: Memory
    events: EventSink

    def publish(self, event: EventType, data: dict[str, Any]) -> None:
        self.events.publish(self.id, event, data)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Token"})


def check_scope(project: Project, org_id: Any = None, project_id: Any = None) -> None:
    """Refuse (403) a request that names an organisation or project other than its key's."""
    if project_id not in (None, "", project.id):
        raise HTTPException(403, detail=f"this API key does not belong to project {project_id!r}")
    if org_id not in (None, "", ORG_ID):
        raise HTTPException(403, detail=f"this API key does not belong to organization {org_id!r}")


def key_from_header(keys: KeyStore, authorization: str | None) -> ApiKey:
    if not authorization:
        raise _unauthorized("missing API key: send the header 'Authorization: Token <key>'")
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() not in ("token", "bearer") or not secret:
        raise _unauthorized("malformed Authorization header: expected 'Token <key>'")
    checked = keys.check(secret)
    if checked.status == "revoked":
        raise _unauthorized("this API key has been revoked")
    if checked.key is None:
        raise _unauthorized("invalid API key")
    return checked.key


def current_project(
    request: Request, authorization: Annotated[str | None, Depends(_header)]
) -> Project:
    state = request.app.state
    key = key_from_header(state.keys, authorization)
    check_scope_query = request.query_params
    projects: ProjectMemories = state.projects
    project = Project(
        id=key.project_id, key=key, memory=projects.get(key.project_id), events=state.events
    )
    check_scope(project, check_scope_query.get("org_id"), check_scope_query.get("project_id"))
    return project


ProjectDep = Annotated[Project, Depends(current_project)]
