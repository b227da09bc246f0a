"""The dashboard's key check: the ``Authorization`` header, or the login cookie.

A browser cannot send a header when it navigates, so ``/dashboard/login`` checks a key
once and keeps it in an HttpOnly, SameSite=Strict cookie whose path is ``/dashboard``:
only the dashboard's own routes ever see it, and the JSON API under ``/v1`` stays
header-only. The cookie holds the key itself, so revoking the key logs the browser out.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, APIKeyHeader

from memkit.server._auth import Project, check_scope, key_from_header
from memkit.server._keys import ApiKey, KeyStore
from memkit.server._projects import ProjectMemories

__all__ = [
    "COOKIE_NAME",
    "COOKIE_PATH",
    "MISSING_KEY",
    "DashboardProjectDep",
    "PageAccessDep",
    "dashboard_project",
    "key_from_form",
]

COOKIE_NAME = "memkit_dashboard_key"
COOKIE_PATH = "/dashboard"
MISSING_KEY = "missing API key: log in at /dashboard or send 'Authorization: Token <key>'"

_header = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="`Token <key>`: a key made with `memkit keys create`",
)
_cookie = APIKeyCookie(
    name=COOKIE_NAME,
    auto_error=False,
    description="the key, as set by POST /dashboard/login (path /dashboard only)",
)


def _project(request: Request, key: ApiKey) -> Project:
    state = request.app.state
    projects: ProjectMemories = state.projects
    project = Project(
        id=key.project_id, key=key, memory=projects.get(key.project_id), events=state.events
    )
    query = request.query_params
    check_scope(project, query.get("org_id"), query.get("project_id"))
    return project


def dashboard_project(
    request: Request,
    authorization: Annotated[str | None, Depends(_header)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Project:
    """The key's project; a header, when sent, is the only credential looked at."""
    keys: KeyStore = request.app.state.keys
    if authorization:
        key = key_from_header(keys, authorization)
    elif cookie:
        key = key_from_header(keys, f"Token {cookie}")
    else:
        raise HTTPException(
            status_code=401, detail=MISSING_KEY, headers={"WWW-Authenticate": "Token"}
        )
    return _project(request, key)


def page_access(
    request: Request,
    authorization: Annotated[str | None, Depends(_header)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Project | HTTPException:
    """For the HTML page: the refusal itself instead of raising, so the page can answer
    it with the login form (a browser shows HTML, not a JSON error)."""
    try:
        return dashboard_project(request, authorization, cookie)
    except HTTPException as refusal:
        return refusal


def key_from_form(request: Request, submitted: str | None) -> ApiKey:
    """The key typed into the login form, checked like a header's (401 when it fails)."""
    keys: KeyStore = request.app.state.keys
    secret = (submitted or "").strip()
    key = key_from_header(keys, f"Token {secret}" if secret else None)
    _project(request, key)  # a login naming another project is refused like any request
    return key


DashboardProjectDep = Annotated[Project, Depends(dashboard_project)]
PageAccessDep = Annotated[Project | HTTPException, Depends(page_access)]
