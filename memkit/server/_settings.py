"""What a server is started with: where it keeps its own data and the store template.

One server holds many projects. Each project gets a memkit store of its own, made from
one ``Memory`` configuration (the template): embedded under ``home/projects/<id>``, or on
the template's Chroma server and PostgreSQL with a collection and a schema per project.
Isolation is structural: no request, whatever ids or filters it sends, can name another
project's store. The server's own tables (API keys, webhooks) live in ``database_url``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from memkit.config import MemoryConfig, default_home, load_config
from memkit.errors import ConfigError

__all__ = [
    "PROJECT_ID_PATTERN",
    "SETTINGS_ENV",
    "ServerSettings",
    "WebhookSettings",
    "check_project_id",
]

# Environment variable that carries the settings (JSON) to each uvicorn worker process.
SETTINGS_ENV = "MEMKIT_SERVER_SETTINGS"
# A project id is part of a directory, a Chroma collection and a PostgreSQL schema name.
PROJECT_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


def check_project_id(project_id: str) -> str:
    if not isinstance(project_id, str) or not PROJECT_ID_PATTERN.fullmatch(project_id):
        raise ConfigError(
            f"project id {project_id!r} must be 2-40 characters of a-z, 0-9 and _, "
            "starting with a letter"
        )
    return project_id


class WebhookSettings(BaseModel):
    """How webhook deliveries are retried (seconds); see ``_webhook_delivery``."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=6, ge=1, le=50)
    base_delay: float = Field(default=2.0, ge=0)
    max_delay: float = Field(default=600.0, ge=0)
    timeout: float = Field(default=5.0, gt=0)
    concurrency: int = Field(default=4, ge=1, le=64)
    poll_interval: float = Field(default=1.0, gt=0)
    allow_private_networks: bool = Field(
        default=True,
        description="deliver to loopback and private addresses too (a self-hosted "
        "receiver beside the server); false when not every key holder is trusted",
    )


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    home: Path = Field(
        default_factory=lambda: Path(default_home()) / "server",
        description="the server's directory: its SQLite tables and embedded project stores",
    )
    memory: dict[str, Any] = Field(
        default_factory=dict, description="Memory.from_config's configuration, per project"
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the server's tables (keys, webhooks); default: the "
        "template's PostgreSQL if it has one, else SQLite under home",
    )

    webhooks: WebhookSettings = Field(default_factory=lambda: WebhookSettings())
    max_body_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="the largest request body (413 beyond it); an import_ sends a whole "
        "export file as one body",
    )

    @field_validator("memory")
    @classmethod
    def _valid_template(cls, memory: dict[str, Any]) -> dict[str, Any]:
        load_config(memory)
        return memory

    @property
    def template(self) -> MemoryConfig:
        return load_config(self.memory)

    @property
    def shared_backends(self) -> bool:
        """True when every project lives on servers (Chroma server + PostgreSQL), so many
        worker processes can serve it at once; embedded stores are one process's alone."""
        template = self.template
        url = template.record_store.url or ""
        return template.vector_store.config.host is not None and url.startswith("postgresql")

    def keys_url(self) -> str:
        if self.database_url:
            return self.database_url
        url = self.template.record_store.url
        if url and url.startswith("postgresql"):
            return url
        return f"sqlite:///{self.home / 'server.db'}"

    def to_env(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServerSettings:
        raw = os.environ.get(SETTINGS_ENV)
        if not raw:
            raise ConfigError(f"{SETTINGS_ENV} is not set: start workers with `memkit serve`")
        return cls.load(json.loads(raw))

    @classmethod
    def load(cls, data: dict[str, Any]) -> ServerSettings:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            raise ConfigError(f"server settings: {where}: {first['msg']}") from exc
