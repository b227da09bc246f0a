"""The activity dashboard at ``/dashboard``: one project's operations, memories and history.

Every route here needs the project's key (header or the login cookie, see
``_dashboard_auth``) and reads only that key's store. The page is static HTML and a
hand-written script (``memkit/server/dashboard``) that polls the JSON under
``/dashboard/api``; nothing is fetched from outside the server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from memkit.errors import MemoryNotFoundError
from memkit.server._dashboard_auth import (
    COOKIE_NAME,
    COOKIE_PATH,
    MISSING_KEY,
    DashboardProjectDep,
    PageAccessDep,
    check_same_origin,
    key_from_form,
)
from memkit.server._dashboard_data import (
    listing_filters,
    operation_rows,
    parse_filters,
    per_minute,
)
from memkit.server._dashboard_pages import dashboard_page, login_page

__all__ = ["router"]

router = APIRouter(tags=["dashboard"])

# How much of the activity log the charts look at: enough for a busy hour on a small store.
SERIES_ROWS = 5000
_LOGIN_BODY_LIMIT = 4096


@router.get("/dashboard", response_class=HTMLResponse)
def page(access: PageAccessDep) -> HTMLResponse:
    """The dashboard, or (401/403) the login form saying why."""
    if isinstance(access, HTTPException):
        if access.detail == MISSING_KEY:  # a first visit: nothing was refused yet
            return login_page(401, "Log in with one of this project's API keys.", refused=False)
        return login_page(access.status_code, str(access.detail))
    return dashboard_page(access.id)


async def _limited_body(request: Request, limit: int) -> bytes | None:
    """The body, read no further than ``limit`` bytes (None when it is longer): the
    login form is reachable without a key, so it must not buffer whatever is sent."""
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


@router.post("/dashboard/login", response_model=None)
async def login(request: Request) -> Response:
    """Check the form's key and keep it in the dashboard's cookie (303 to the dashboard)."""
    raw = await _limited_body(request, _LOGIN_BODY_LIMIT)
    if raw is None:
        return login_page(413, "the login form is too large")
    submitted = parse_qs(raw.decode("utf-8", "replace")).get("key", [None])[0]
    try:
        check_same_origin(request)
        key_from_form(request, submitted)
    except HTTPException as refusal:
        return login_page(refusal.status_code, str(refusal.detail))
    answer = RedirectResponse("/dashboard", status_code=303)
    answer.set_cookie(
        COOKIE_NAME,
        (submitted or "").strip(),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post("/dashboard/logout")
def logout(request: Request, project: DashboardProjectDep) -> RedirectResponse:
    check_same_origin(request)
    answer = RedirectResponse("/dashboard", status_code=303)
    answer.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="strict")
    return answer


@router.get("/dashboard/api/activity")
def activity(
    project: DashboardProjectDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: str | None = None,
) -> dict[str, Any]:
    """The most recent operations, newest first, with the time they were read."""
    rows = operation_rows(project.memory.activity(limit=limit, kind=kind or None))
    return {
        "project_id": project.id,
        "updated_at": datetime.now(UTC).isoformat(),
        "results": [row.model_dump(mode="json") for row in rows],
    }


@router.get("/dashboard/api/series")
def series(
    project: DashboardProjectDep,
    minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 30,
) -> dict[str, Any]:
    """Operations and latency per minute over the last ``minutes`` minutes."""
    rows = project.memory.activity(limit=SERIES_ROWS)
    # Read the clock after the log: reading writes its buffer, stamped with the time now.
    buckets = per_minute(rows, datetime.now(UTC), minutes)
    return {"minutes": minutes, "buckets": [b.model_dump(mode="json") for b in buckets]}


@router.get("/dashboard/api/entities")
def entities(project: DashboardProjectDep) -> dict[str, Any]:
    """Every user, agent, app and run with memories, and how many each has."""
    return project.memory.users().model_dump(mode="json")


@router.get("/dashboard/api/memories")
def memories(
    project: DashboardProjectDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    filters: Annotated[str | None, Query(description="a v2 filter, as JSON")] = None,
    q: Annotated[str | None, Query(description="a search query: ranks instead of lists")] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """One entity's (or every) memory, narrowed by a v2 filter; a query searches instead."""
    where = listing_filters(entity_type, entity_id, parse_filters(filters))
    memory = project.memory
    if q and q.strip():
        found = memory.search(q.strip(), version="v2", filters=where, top_k=page_size)
        rows = [hit.model_dump(mode="json") for hit in found.results]
        return {"mode": "search", "count": len(rows), "page": 1, "pages": 1, "results": rows}
    listed = memory.get_all(version="v2", filters=where, page=page, page_size=page_size)
    return {
        "mode": "list",
        "count": listed.count,
        "page": page,
        "pages": max(1, -(-listed.count // page_size)),
        "results": [row.model_dump(mode="json") for row in listed.results],
    }


@router.get("/dashboard/api/memories/{memory_id}/history")
def history(project: DashboardProjectDep, memory_id: str) -> dict[str, Any]:
    """A memory's changes, oldest first, and the memory as it is now (None once deleted)."""
    events = project.memory.history(memory_id)
    try:
        current: dict[str, Any] | None = project.memory.get(memory_id).model_dump(mode="json")
    except MemoryNotFoundError:
        current = None
    return {
        "memory_id": memory_id,
        "memory": current,
        "history": [event.model_dump(mode="json") for event in events],
    }
