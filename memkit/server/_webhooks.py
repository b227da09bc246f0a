"""Webhooks: a project registers URLs that hear its memory events (add, update, delete).

Routes, as the platform's client (``mem0ai``) calls them, plus one of memkit's own::

    GET    /api/v1/webhooks/projects/{project_id}/   the project's webhooks (no secrets)
    POST   /api/v1/webhooks/projects/{project_id}/   {url, name, event_types} -> + secret
    PUT    /api/v1/webhooks/{webhook_id}/            {name?, url?, event_types?, is_active?,
                                                      rotate_secret?}
    DELETE /api/v1/webhooks/{webhook_id}/
    GET    /api/v1/webhooks/{webhook_id}/deliveries/ recorded deliveries and their attempts

The signing secret is returned once, by the create call, as the platform does with API
keys: listings never show it. A lost or leaked secret is replaced with
``PUT {"rotate_secret": true}``, whose answer carries the new one. ``is_active: false``
pauses a webhook: no deliveries are recorded for it, and ones still pending fail when
their turn comes. Finished deliveries are kept 30 days (``retention``), then pruned. A
webhook of another project answers 404, the same as one that does not exist, and is never
touched.

A project has at most ``MAX_WEBHOOKS_PER_PROJECT`` webhooks (each hears every event).
Deliveries go to loopback and private addresses too unless the server is started with
``allow_private_networks=False`` (see ``_webhook_delivery``: any key holder can otherwise
make the server POST inside its network).

Delivery (signing, retries, the worker) is in ``_webhook_delivery``; the tables in
``_webhook_store``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from memkit.errors import InvalidInputError
from memkit.server._auth import ProjectDep, check_scope
from memkit.server._events import EVENT_TYPES, EventType
from memkit.server._webhook_delivery import (
    DEFAULT_RETENTION_SECONDS,
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    DeliveryWorker,
    RetryPolicy,
    private_address,
    sign,
    verify_signature,
)
from memkit.server._webhook_store import (
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookStore,
    new_secret,
)

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "RetryPolicy",
    "WebhookDispatcher",
    "router",
    "sign",
    "verify_signature",
]

log = logging.getLogger("memkit.server.webhooks")

# Long enough for any real endpoint, short enough to keep the table's text column sane.
MAX_URL_CHARS = 2048


def event_body(
    project_id: str, event: EventType, data: dict[str, Any], delivery_id: str, when: float
) -> str:
    """The JSON a receiver gets; stored once so every attempt sends the same bytes."""
    payload = {
        "event": event,
        "project_id": project_id,
        "data": data,
        "delivery_id": delivery_id,
        "timestamp": datetime.fromtimestamp(when, UTC).isoformat(),
    }
    return json.dumps(payload, default=str, separators=(",", ":"))


class WebhookDispatcher:
    """The server's event sink: records a delivery per matching webhook, then sends it.

    ``publish`` only writes rows (quick, from any thread); a background worker, started
    by the first event or at once when pending deliveries are waiting from before a
    restart, does the HTTP. ``close()`` stops it; unsent rows wait for the next start.

        events = WebhookDispatcher(engine, max_attempts=3, base_delay=0.05)
        events.publish("myapp", "memory_add", {"id": "...", "memory": "..."})
    """

    def __init__(
        self,
        engine: Engine,
        *,
        max_attempts: int = 6,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        timeout: float = 5.0,
        concurrency: int = 4,
        poll_interval: float = 1.0,
        retention: float = DEFAULT_RETENTION_SECONDS,
        worker_id: str | None = None,
        allow_private_networks: bool = True,
    ) -> None:
        if max_attempts < 1 or base_delay < 0 or timeout <= 0 or concurrency < 1:
            raise InvalidInputError(
                "webhooks need max_attempts >= 1, base_delay >= 0, timeout > 0 and concurrency >= 1"
            )
        self.store = WebhookStore(engine)
        self.worker = DeliveryWorker(
            self.store,
            RetryPolicy(
                max_attempts=max_attempts,
                base_delay=base_delay,
                max_delay=max_delay,
                timeout=timeout,
            ),
            worker_id=worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
            concurrency=concurrency,
            poll_interval=poll_interval,
            retention=retention,
            allow_private_networks=allow_private_networks,
        )
        if self.store.next_due(time.time()) is not None:
            self.worker.start()  # deliveries left pending by an earlier run

    @property
    def policy(self) -> RetryPolicy:
        return self.worker.policy

    @policy.setter
    def policy(self, policy: RetryPolicy) -> None:
        self.worker.policy = policy

    def publish(self, project_id: str, event: EventType, data: dict[str, Any]) -> None:
        now = time.time()
        try:
            made = self.store.record_event(
                project_id,
                event,
                lambda delivery_id: event_body(project_id, event, data, delivery_id, now),
                now,
            )
        except SQLAlchemyError:
            # The memory write is committed; failing its request now would only mislead.
            log.exception("webhooks: could not record %s for project %s", event, project_id)
            return
        if made:
            self.worker.start()
            self.worker.wake()

    def close(self) -> None:
        self.worker.stop()


# -- routes ---------------------------------------------------------------------------

router = APIRouter(tags=["webhooks"])


def _sendable_host(host: str | None) -> bool:
    if not host:
        return False
    try:
        host.encode("idna")  # what the HTTP client will do: refuses over-long labels
    except UnicodeError:
        return False
    return True


def _check_url(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        scheme, host = "", None
    if (
        scheme not in ("http", "https")
        or not _sendable_host(host)
        or any(c.isspace() for c in url)
        or len(url) > MAX_URL_CHARS
    ):
        raise ValueError(
            f"url must be an absolute http:// or https:// URL of at most {MAX_URL_CHARS} "
            f"characters, got {url[:100]!r}"
        )
    return url


def _unique(event_types: Sequence[EventType]) -> list[EventType]:
    return list(dict.fromkeys(event_types))


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="where events are POSTed: http:// or https://")
    name: str = Field(min_length=1, max_length=200)
    event_types: list[EventType] = Field(
        default_factory=lambda: list(EVENT_TYPES), min_length=1, description="events to hear"
    )
    org_id: str | None = None
    project_id: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        return _check_url(url)

    @field_validator("event_types")
    @classmethod
    def _events(cls, event_types: list[EventType]) -> list[EventType]:
        return _unique(event_types)


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = None
    event_types: list[EventType] | None = Field(default=None, min_length=1)
    is_active: bool | None = Field(default=None, description="false pauses the webhook")
    rotate_secret: bool = Field(
        default=False, description="replace the signing secret; the answer shows the new one"
    )
    org_id: str | None = None
    project_id: str | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, url: str | None) -> str | None:
        return None if url is None else _check_url(url)

    @field_validator("event_types")
    @classmethod
    def _events(cls, event_types: list[EventType] | None) -> list[EventType] | None:
        return None if event_types is None else _unique(event_types)


class WebhookCreated(Webhook):
    secret: str = Field(description="the HMAC signing secret, shown only in this answer")


class WebhookUpdated(Webhook):
    message: str
    secret: str | None = Field(default=None, description="the new secret, when rotated")


def webhook_store(request: Request) -> WebhookStore:
    """The webhook tables on the server's own engine: the dispatcher's, when the app's
    event sink is one, so both share one store."""
    state = request.app.state
    events = getattr(state, "events", None)
    if isinstance(events, WebhookDispatcher):
        return events.store
    store: WebhookStore | None = getattr(state, "webhook_store", None)
    if store is None:
        store = WebhookStore(state.keys.engine)
        state.webhook_store = store
    return store


StoreDep = Annotated[WebhookStore, Depends(webhook_store)]


# A project's webhooks each get every event: a cap keeps one key from fanning a write out
# into thousands of POSTs.
MAX_WEBHOOKS_PER_PROJECT = 100


def check_destination(request: Request, url: str) -> None:
    """Refuse (400) a literal non-public address when the server delivers to public
    networks only (``allow_private_networks=False``); names are checked at each attempt."""
    events = getattr(request.app.state, "events", None)
    if not isinstance(events, WebhookDispatcher) or events.worker.allow_private_networks:
        return
    host = urlsplit(url).hostname or ""
    address = private_address(host, resolve=False)
    if address is not None:
        raise InvalidInputError(
            f"url: {host} is a non-public address; this server delivers webhooks to public "
            "networks only (webhooks.allow_private_networks is false)"
        )


def _not_found(webhook_id: str) -> HTTPException:
    return HTTPException(404, detail=f"no webhook {webhook_id!r} in this project")


@router.get("/api/v1/webhooks/projects/{project_id}/", response_model=list[Webhook])
def list_webhooks(project_id: str, project: ProjectDep, store: StoreDep) -> list[Webhook]:
    check_scope(project, project_id=project_id)
    return store.for_project(project.id)


@router.post(
    "/api/v1/webhooks/projects/{project_id}/", response_model=WebhookCreated, status_code=201
)
def create_webhook(
    project_id: str, body: WebhookCreate, project: ProjectDep, store: StoreDep, request: Request
) -> WebhookCreated:
    check_scope(project, body.org_id, project_id)
    check_scope(project, project_id=body.project_id)
    check_destination(request, body.url)
    if len(store.for_project(project.id)) >= MAX_WEBHOOKS_PER_PROJECT:
        raise InvalidInputError(
            f"a project has at most {MAX_WEBHOOKS_PER_PROJECT} webhooks: delete one first"
        )
    webhook, secret = store.create(project.id, body.name.strip(), body.url, body.event_types)
    return WebhookCreated(**webhook.model_dump(), secret=secret)


@router.put(
    "/api/v1/webhooks/{webhook_id}/",
    response_model=WebhookUpdated,
    response_model_exclude_none=True,
)
def update_webhook(
    webhook_id: str, body: WebhookUpdate, project: ProjectDep, store: StoreDep, request: Request
) -> WebhookUpdated:
    check_scope(project, body.org_id, body.project_id)
    if body.url is not None:
        check_destination(request, body.url)
    changes = body.model_dump(exclude_none=True, exclude={"org_id", "project_id", "rotate_secret"})
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    secret = new_secret() if body.rotate_secret else None
    if secret is not None:
        changes["secret"] = secret
    if not changes:
        raise InvalidInputError(
            "nothing to update: send name, url, event_types, is_active or rotate_secret"
        )
    webhook = store.update(project.id, webhook_id, changes)
    if webhook is None:
        raise _not_found(webhook_id)
    return WebhookUpdated(
        **webhook.model_dump(), message="Webhook updated successfully", secret=secret
    )


@router.delete("/api/v1/webhooks/{webhook_id}/")
def delete_webhook(webhook_id: str, project: ProjectDep, store: StoreDep) -> dict[str, str]:
    if not store.delete(project.id, webhook_id):
        raise _not_found(webhook_id)
    return {"message": "Webhook deleted successfully"}


@router.get("/api/v1/webhooks/{webhook_id}/deliveries/", response_model=list[Delivery])
def list_deliveries(
    webhook_id: str,
    project: ProjectDep,
    store: StoreDep,
    status: Annotated[DeliveryStatus | None, Query(description="only this status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Delivery]:
    """The webhook's recorded deliveries, newest first, each with every attempt."""
    if store.get(project.id, webhook_id) is None:
        raise _not_found(webhook_id)
    return store.deliveries(project.id, webhook_id, status=status, limit=limit)
