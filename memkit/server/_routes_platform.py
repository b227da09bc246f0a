"""The hosted platform's REST routes (the mem0ai clients' paths and JSON shapes).

Split by group: ``_platform_memories`` (add, search, list, get, update, delete,
history), ``_platform_entities`` (entities, batches, reset, exports); request bodies in
``_platform_bodies``, the events each write publishes in ``_platform_events``.
"""

from __future__ import annotations

from fastapi import APIRouter

from memkit.server import _platform_entities, _platform_memories

__all__ = ["router"]

router = APIRouter()
router.include_router(_platform_memories.router)
router.include_router(_platform_entities.router)
