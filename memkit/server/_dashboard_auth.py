"""The dashboard's key check: the ``Authorization`` header, or the login cookie.

A browser cannot send a header when it navigates, so ``/dashboard/login`` checks a key
once and keeps it in an HttpOnly, SameSite=Strict cookie whose path is ``/dashboard``:
only the dashboard's own routes ever see it, and the JSON API under ``/v1`` stays
header-only. The cookie holds the key itself, so revoking the key logs the browser out.

The two forms (login, logout) are the only requests that change anything with a cookie.
SameSite=Strict keeps the cookie off other sites' requests, but a login needs no cookie:
another site could post its own key and log the browser into its project (login CSRF).
So both refuse a browser request whose ``Origin`` (or ``Sec-Fetch-Site``) says it came
from another origin; clients that send neither (curl, tests) are not browsers and pass.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, APIKeyHeader

from memkit.server._auth import Project, check_scope, key_from_header
from memkit.server._keys import ApiKey, KeyStore
from memkit.server._projects import ProjectMemories

__all__ = [
    "COOKIE_NAME",
    "COOKIE_PATH",
    "CROSS_ORIGIN",
    "MISSING_KEY",
    "DashboardProjectDep",
    "PageAccessDep",
    "check_same_origin",
    "dashboard_project",
    "key_from_form",
]

COOKIE_NAME = "memkit_dashboard_key"
COOKIE_PATH = "/dashboard"
MISSING_KEY = "missing API key: log in at /dashboard or send 'Authorization: Token <key>'"
CROSS_ORIGIN = "refused: this form was posted from another site"

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


def check_same_origin(request: Request) -> None:
    """Refuse (403) a form posted from a page of another origin (see the module's note)."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        # Every current browser sends it, and it cannot be set by a page's script.
        if fetch_site.strip().lower() not in ("same-origin", "none"):
            raise HTTPException(status_code=403, detail=CROSS_ORIGIN)
        return
    origin = request.headers.get("Origin")
    if origin is None:
        return
    host = (request.headers.get("Host") or "").strip().lower()
    try:
        origin_host = urlsplit(origin.strip()).netloc.lower()
    except ValueError:
        origin_host = ""
    # Host only, not the scheme: behind a TLS proxy the page is https, the request http.
    if not host or origin_host != host:
        raise HTTPException(status_code=403, detail=CROSS_ORIGIN)


def key_from_form(request: Request, submitted: str | None) -> ApiKey:
    """The key typed into the login form, checked like a header's (401 when it fails)."""
    keys: KeyStore = request.app.state.keys
    secret = (submitted or "").strip()
    key = key_from_header(keys, f"Token {secret}" if secret else None)
    _project(request, key)  # a login naming another project is refused like any request
    return key


DashboardProjectDep = Annotated[Project, Depends(dashboard_project)]
PageAccessDep = Annotated[Project | HTTPException, Depends(page_access)]
