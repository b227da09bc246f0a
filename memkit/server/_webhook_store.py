"""Webhooks and their deliveries, in the server's own database (SQLite or PostgreSQL).

Three tables on the key store's engine, with their own ``MetaData``:

- ``memkit_server_webhooks``: a project's registered URLs, their event filter and signing
  secret. The secret is stored as is because HMAC needs it; it is shown once, at creation.
- ``memkit_server_webhook_deliveries``: one row per (event, webhook), written when the event
  is published and updated after every attempt. Its ``status`` is ``pending`` until the
  receiver answers 2xx (``delivered``) or the attempts run out (``failed``).
- ``memkit_server_webhook_attempts``: one row per HTTP attempt, for the deliveries listing.

Several server processes may share the database, so a delivery is claimed before it is
sent: one UPDATE that only succeeds while the row is pending and unclaimed (or its claim
has lapsed, when the claiming process died mid-send). Whoever changes the row owns it;
the others see zero rows updated and move on. The claim is dropped with the attempt's
result, in the same transaction.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, ProgrammingError

from memkit.server._events import EventType

__all__ = [
    "Attempt",
    "Claimed",
    "Delivery",
    "DeliveryStatus",
    "Webhook",
    "WebhookStore",
    "new_secret",
]

DeliveryStatus = Literal["pending", "delivered", "failed"]

webhook_metadata = MetaData()

webhooks = Table(
    "memkit_server_webhooks",
    webhook_metadata,
    Column("id", String(40), primary_key=True),
    Column("project_id", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("url", Text, nullable=False),
    Column("event_types", Text, nullable=False),  # a JSON list of event names
    Column("secret", String(80), nullable=False),
    Column("is_active", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

deliveries = Table(
    "memkit_server_webhook_deliveries",
    webhook_metadata,
    Column("id", String(40), primary_key=True),
    Column("webhook_id", String(40), nullable=False, index=True),
    Column("project_id", String(40), nullable=False),
    Column("event", String(40), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent, the same on every attempt
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=True),
    Column("claimed_by", String(120), nullable=True),
    Column("claimed_until", Float, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
)

attempts = Table(
    "memkit_server_webhook_attempts",
    webhook_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", Float, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
)


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class Webhook(BaseModel):
    """A registered URL, as the platform lists it (``project`` is the project's id)."""

    model_config = ConfigDict(frozen=True)

    webhook_id: str
    name: str
    url: str
    event_types: list[EventType]
    project: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class Delivery(BaseModel):
    """One event for one webhook: its payload, where it stands, and every attempt."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    webhook_id: str
    event: EventType
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]
    attempt_log: list[Attempt]


@dataclass(frozen=True)
class Claimed:
    """A delivery this process now owns, with what is needed to send it."""

    delivery_id: str
    event: str
    body: str
    attempts: int
    url: str | None  # None: the webhook is gone or inactive
    secret: str | None


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _row_webhook(row: Row[Any]) -> Webhook:
    return Webhook(
        webhook_id=row.id,
        name=row.name,
        url=row.url,
        event_types=json.loads(row.event_types),
        project=row.project_id,
        is_active=bool(row.is_active),
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        updated_at=datetime.fromtimestamp(row.updated_at, UTC),
    )


class WebhookStore:
    """Queries over the three tables; every method is one short transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            webhook_metadata.create_all(engine)
        except (IntegrityError, ProgrammingError):
            # Worker processes starting together race to CREATE TABLE on PostgreSQL; the
            # loser finds the tables there on its second look.
            webhook_metadata.create_all(engine)

    # -- webhooks ---------------------------------------------------------------------

    def create(
        self, project_id: str, name: str, url: str, event_types: Sequence[EventType]
    ) -> tuple[Webhook, str]:
        """A new active webhook and its signing secret (returned here, and only here)."""
        webhook_id = "wh_" + uuid.uuid4().hex[:24]
        secret = new_secret()
        now = time.time()
        with self.engine.begin() as conn:
            conn.execute(
                insert(webhooks).values(
                    id=webhook_id,
                    project_id=project_id,
                    name=name,
                    url=url,
                    event_types=json.dumps(list(event_types)),
                    secret=secret,
                    is_active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        found = self.get(project_id, webhook_id)
        assert found is not None  # just written in this call
        return found, secret

    def get(self, project_id: str, webhook_id: str) -> Webhook | None:
        """The project's webhook, or None: another project's id is as absent as a wrong one."""
        query = select(webhooks).where(
            webhooks.c.id == webhook_id, webhooks.c.project_id == project_id
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _row_webhook(row)

    def for_project(self, project_id: str) -> list[Webhook]:
        query = (
            select(webhooks)
            .where(webhooks.c.project_id == project_id)
            .order_by(webhooks.c.created_at, webhooks.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_webhook(row) for row in conn.execute(query)]

    def update(self, project_id: str, webhook_id: str, changes: dict[str, Any]) -> Webhook | None:
        """Apply ``changes`` (name, url, event_types, is_active, secret) to the project's
        webhook; None when the project has no such webhook."""
        values = dict(changes)
        if "event_types" in values:
            values["event_types"] = json.dumps(list(values["event_types"]))
        values["updated_at"] = time.time()
        with self.engine.begin() as conn:
            done = conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id, webhooks.c.project_id == project_id)
                .values(**values)
            )
        return self.get(project_id, webhook_id) if done.rowcount else None

    def delete(self, project_id: str, webhook_id: str) -> bool:
        """Remove the webhook with its deliveries and their attempts; False if not there."""
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(webhooks).where(
                    webhooks.c.id == webhook_id, webhooks.c.project_id == project_id
                )
            )
            if not done.rowcount:
                return False
            ids = select(deliveries.c.id).where(deliveries.c.webhook_id == webhook_id)
            conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(ids)))
            conn.execute(delete(deliveries).where(deliveries.c.webhook_id == webhook_id))
        return True

    # -- deliveries -------------------------------------------------------------------

    def record_event(
        self, project_id: str, event: EventType, make_body: Callable[[str], str], now: float
    ) -> list[str]:
        """One pending delivery per active webhook of the project that wants ``event``.

        ``make_body(delivery_id)`` gives the JSON text to send, so the payload can name its
        own delivery. Returns the new deliveries' ids (none when nobody listens)."""
        query = select(webhooks.c.id, webhooks.c.event_types).where(
            webhooks.c.project_id == project_id, webhooks.c.is_active.is_(True)
        )
        with self.engine.begin() as conn:
            targets = [
                row.id for row in conn.execute(query) if event in json.loads(row.event_types)
            ]
            made: list[str] = []
            for webhook_id in targets:
                delivery_id = "dlv_" + uuid.uuid4().hex
                conn.execute(
                    insert(deliveries).values(
                        id=delivery_id,
                        webhook_id=webhook_id,
                        project_id=project_id,
                        event=event,
                        body=make_body(delivery_id),
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                made.append(delivery_id)
        return made

    def _claimable(self, now: float) -> Any:
        return (
            (deliveries.c.status == "pending")
            & (deliveries.c.next_attempt_at <= now)
            & or_(deliveries.c.claimed_by.is_(None), deliveries.c.claimed_until < now)
        )

    def claim_due(self, worker_id: str, limit: int, lease: float, now: float) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries for ``worker_id``; see the module's note."""
        candidates = (
            select(deliveries.c.id)
            .where(self._claimable(now))
            .order_by(deliveries.c.next_attempt_at)
            .limit(limit)
        )
        claimed: list[Claimed] = []
        with self.engine.connect() as conn:
            ids = [row.id for row in conn.execute(candidates)]
        for delivery_id in ids:
            with self.engine.begin() as conn:
                done = conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id == delivery_id, self._claimable(now))
                    .values(claimed_by=worker_id, claimed_until=now + lease)
                )
                if done.rowcount != 1:
                    continue  # another worker was faster
                row = conn.execute(
                    select(deliveries, webhooks.c.url, webhooks.c.secret, webhooks.c.is_active)
                    .select_from(
                        deliveries.outerjoin(webhooks, webhooks.c.id == deliveries.c.webhook_id)
                    )
                    .where(deliveries.c.id == delivery_id)
                ).first()
            if row is None:
                continue  # its webhook was deleted, and the delivery with it, just now
            live = row.url is not None and bool(row.is_active)
            claimed.append(
                Claimed(
                    delivery_id=delivery_id,
                    event=row.event,
                    body=row.body,
                    attempts=row.attempts,
                    url=row.url if live else None,
                    secret=row.secret if live else None,
                )
            )
        return claimed

    def record_attempt(
        self,
        worker_id: str,
        delivery_id: str,
        *,
        attempt: int,
        at: float,
        duration_ms: float,
        status_code: int | None,
        error: str | None,
        status: DeliveryStatus,
        next_attempt_at: float | None,
    ) -> None:
        """Write one attempt's outcome and drop the claim, in one transaction."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.claimed_by == worker_id)
                .values(
                    status=status,
                    attempts=attempt,
                    next_attempt_at=next_attempt_at,
                    claimed_by=None,
                    claimed_until=None,
                    last_status_code=status_code,
                    last_error=error,
                    delivered_at=at if status == "delivered" else None,
                )
            )
            if done.rowcount:  # zero: the webhook (and so the delivery) was deleted meanwhile
                conn.execute(
                    insert(attempts).values(
                        delivery_id=delivery_id,
                        attempt=attempt,
                        at=at,
                        status_code=status_code,
                        error=error,
                        duration_ms=duration_ms,
                    )
                )

    def release(self, worker_id: str, delivery_id: str) -> None:
        """Give a claimed delivery back untouched (the worker is stopping)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == delivery_id, deliveries.c.claimed_by == worker_id)
                .values(claimed_by=None, claimed_until=None)
            )

    def prune(self, before: float) -> int:
        """Forget finished deliveries (and their attempts) made before ``before``; pending
        ones stay whatever their age. Returns how many went."""
        old = select(deliveries.c.id).where(
            deliveries.c.status != "pending", deliveries.c.created_at < before
        )
        with self.engine.begin() as conn:
            conn.execute(delete(attempts).where(attempts.c.delivery_id.in_(old)))
            done = conn.execute(
                delete(deliveries).where(
                    deliveries.c.status != "pending", deliveries.c.created_at < before
                )
            )
        return int(done.rowcount or 0)

    def next_due(self, now: float) -> float | None:
        """When a pending delivery next becomes claimable: its due time, or for one
        claimed now, the end of the claim (in case its worker died). None: none pending."""
        open_rows = select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.status == "pending",
            or_(deliveries.c.claimed_by.is_(None), deliveries.c.claimed_until < now),
        )
        held_rows = select(func.min(deliveries.c.claimed_until)).where(
            deliveries.c.status == "pending", deliveries.c.claimed_until >= now
        )
        with self.engine.connect() as conn:
            times = [conn.execute(open_rows).scalar(), conn.execute(held_rows).scalar()]
        known = [float(t) for t in times if t is not None]
        return min(known) if known else None

    def deliveries(
        self,
        project_id: str,
        webhook_id: str,
        *,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The webhook's deliveries, newest first, each with its attempts in order."""
        query = select(deliveries).where(
            deliveries.c.webhook_id == webhook_id, deliveries.c.project_id == project_id
        )
        if status is not None:
            query = query.where(deliveries.c.status == status)
        query = query.order_by(deliveries.c.created_at.desc(), deliveries.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = list(conn.execute(query))
            ids = [row.id for row in rows]
            logs: dict[str, list[Attempt]] = {delivery_id: [] for delivery_id in ids}
            attempt_rows = conn.execute(
                select(attempts)
                .where(attempts.c.delivery_id.in_(ids))
                .order_by(attempts.c.delivery_id, attempts.c.attempt, attempts.c.id)
            )
            for a in attempt_rows:
                logs[a.delivery_id].append(
                    Attempt(
                        attempt=a.attempt,
                        at=datetime.fromtimestamp(a.at, UTC),
                        status_code=a.status_code,
                        error=a.error,
                        duration_ms=a.duration_ms,
                    )
                )
        return [
            Delivery(
                delivery_id=row.id,
                webhook_id=row.webhook_id,
                event=row.event,
                status=row.status,
                attempts=row.attempts,
                next_attempt_at=_when(row.next_attempt_at),
                last_status_code=row.last_status_code,
                last_error=row.last_error,
                created_at=datetime.fromtimestamp(row.created_at, UTC),
                delivered_at=_when(row.delivered_at),
                payload=json.loads(row.body),
                attempt_log=logs[row.id],
            )
            for row in rows
        ]
