"""Ping and health: the first call of the platform's client, and a probe for operators.
Both need a key, like every route (a load balancer's probe sends one too)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from memkit import __version__
from memkit.server._auth import ORG_ID, ProjectDep

router = APIRouter(tags=["system"])


@router.get("/v1/ping/")
def ping(project: ProjectDep) -> dict[str, Any]:
    """The platform client's first call: it reads the key's org and project from here."""
    return {
        "status": "ok",
        "message": "pong",
        "org_id": ORG_ID,
        "project_id": project.id,
        "user_email": None,
    }


@router.get("/v1/health/")
def health(project: ProjectDep) -> dict[str, Any]:
    """The project's store, checked without repairing anything."""
    report = project.memory.check(repair=False)
    return {
        "status": "ok" if report.healthy else "degraded",
        "version": __version__,
        "project_id": project.id,
        "store": report.model_dump(mode="json"),
    }
