"""API keys: created, listed and revoked by the CLI, stored only as SHA-256 digests.

A key is 32 random bytes (``mk_`` + URL-safe base64), so a plain SHA-256 digest is as
strong as a slow password hash here and lets a request find its key with one indexed
lookup. The key itself is shown once, when it is created, and never stored. Each key
belongs to one project; a project is made by its first key.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Column,
    Engine,
    Float,
    MetaData,
    Row,
    String,
    Table,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from memkit.errors import InvalidInputError, MemoryNotFoundError
from memkit.server._settings import check_project_id

__all__ = ["ApiKey", "KeyCheck", "KeyStore", "hash_key"]

KEY_PREFIX = "mk_"
# How much of a key is kept in the clear, so a listing can tell keys apart.
SHOWN_PREFIX = 10

server_metadata = MetaData()

projects = Table(
    "memkit_server_projects",
    server_metadata,
    Column("id", String(40), primary_key=True),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "memkit_server_api_keys",
    server_metadata,
    Column("id", String(36), primary_key=True),
    Column("project_id", String(40), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(SHOWN_PREFIX), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKey(BaseModel):
    """A key as listed: never the key itself, only its first characters."""

    model_config = ConfigDict(frozen=True)

    id: str
    project_id: str
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class KeyCheck(BaseModel):
    """What a presented key turned out to be."""

    model_config = ConfigDict(frozen=True)

    status: Literal["valid", "unknown", "revoked"]
    key: ApiKey | None = None


def _when(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _row_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        prefix=row.prefix,
        created_at=datetime.fromtimestamp(row.created_at, UTC),
        revoked_at=_when(row.revoked_at),
    )


class KeyStore:
    """The server's key table, in SQLite or PostgreSQL (one URL, shared by all workers)."""

    def __init__(self, url: str) -> None:
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        self.engine: Engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
        server_metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def create_key(self, project_id: str, name: str = "default") -> tuple[ApiKey, str]:
        """A new key for ``project_id`` (made if new). Returns the key's listing and the
        key itself, which exists only in this return value."""
        check_project_id(project_id)
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise InvalidInputError("a key's name must be 1-200 characters")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        now = time.time()
        key_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            exists = conn.execute(select(projects.c.id).where(projects.c.id == project_id))
            if exists.first() is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(projects).values(id=project_id, created_at=now))
                except IntegrityError:
                    pass  # another process made the project a moment ago
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    project_id=project_id,
                    name=name.strip(),
                    prefix=secret[:SHOWN_PREFIX],
                    digest=hash_key(secret),
                    created_at=now,
                )
            )
        return self.get_key(key_id), secret

    def get_key(self, key_id: str) -> ApiKey:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).first()
        if row is None:
            raise MemoryNotFoundError(f"no API key has id {key_id!r}")
        return _row_key(row)

    def list_keys(self, project_id: str | None = None) -> list[ApiKey]:
        query = select(api_keys).order_by(api_keys.c.created_at, api_keys.c.id)
        if project_id is not None:
            query = query.where(api_keys.c.project_id == project_id)
        with self.engine.connect() as conn:
            return [_row_key(row) for row in conn.execute(query)]

    def list_projects(self) -> list[str]:
        with self.engine.connect() as conn:
            return [row.id for row in conn.execute(select(projects.c.id).order_by(projects.c.id))]

    def revoke_key(self, key_id: str) -> ApiKey:
        """Revoke a key: every request sending it is refused from now on. Idempotent."""
        with self.engine.begin() as conn:
            conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=time.time())
            )
        return self.get_key(key_id)

    def check(self, presented: str) -> KeyCheck:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_keys).where(api_keys.c.digest == hash_key(presented))
            ).first()
        if row is None:
            return KeyCheck(status="unknown")
        key = _row_key(row)
        return KeyCheck(status="revoked" if key.revoked else "valid", key=key)
