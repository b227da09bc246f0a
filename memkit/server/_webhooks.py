"""Placeholder: filled in by its owner."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import Engine

from memkit.server._events import EventType

router = APIRouter()


class WebhookDispatcher:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def publish(self, project_id: str, event: EventType, data: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None
