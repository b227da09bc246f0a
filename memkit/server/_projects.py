"""One memkit store per project, opened on first use and kept for the server's lifetime.

The store's place comes from the project id alone, so tenancy needs no cooperation from
the request: embedded projects live in ``home/projects/<id>``; on servers a project has
the Chroma collection ``<collection>_<id>`` and the PostgreSQL schema ``memkit_<id>``
(its own tables, reached through the connection's ``search_path``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError

from memkit import Memory
from memkit.config import MemoryConfig
from memkit.errors import ConfigError
from memkit.server._settings import ServerSettings, check_project_id

__all__ = ["ProjectMemories", "project_config"]


def _schema_url(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` on every connection."""
    parsed = make_url(url)
    options = parsed.query.get("options")
    option = f"-csearch_path={schema}"
    if isinstance(options, str) and options:
        option = f"{options} {option}"
    return parsed.update_query_dict({"options": option}).render_as_string(hide_password=False)


def _create_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    except (IntegrityError, ProgrammingError):
        pass  # another worker made it at the same moment
    finally:
        engine.dispose()


def project_config(settings: ServerSettings, project_id: str) -> MemoryConfig:
    """The template, placed for ``project_id``."""
    check_project_id(project_id)
    template = settings.template
    data: dict[str, Any] = template.model_dump(by_alias=False, exclude_none=True)
    data["path"] = str(settings.home / "projects" / project_id)
    chroma = data["vector_store"]["config"]
    if template.vector_store.config.host is not None:
        chroma["collection_name"] = f"{template.vector_store.config.collection_name}_{project_id}"
    else:
        chroma.pop("path", None)  # under the project's own home
    url = template.record_store.url
    if url is not None:
        if not url.startswith("postgresql"):
            raise ConfigError(
                "record_store.url: a server keeps each project in PostgreSQL (a schema per "
                "project) or, with no URL, in SQLite under the project's directory"
            )
        data["record_store"] = {"url": _schema_url(url, f"memkit_{project_id}")}
    return MemoryConfig.model_validate(data)


class ProjectMemories:
    """The open stores, one per project. Thread-safe: requests run on a thread pool."""

    def __init__(
        self,
        settings: ServerSettings,
        memory_factory: Callable[[MemoryConfig], Memory] | None = None,
    ) -> None:
        # ``memory_factory`` lets tests and embedders pass their own embedder or clock.
        self.settings = settings
        self._factory = memory_factory or (lambda config: Memory(config=config))
        self._open: dict[str, Memory] = {}
        self._lock = threading.Lock()

    def get(self, project_id: str) -> Memory:
        memory = self._open.get(project_id)
        if memory is not None:
            return memory
        with self._lock:
            memory = self._open.get(project_id)
            if memory is None:
                config = project_config(self.settings, project_id)
                url = self.settings.template.record_store.url
                if url is not None:
                    _create_schema(url, f"memkit_{project_id}")
                memory = self._factory(config)
                self._open[project_id] = memory
            return memory

    def close_project(self, project_id: str) -> None:
        """Close one project's store; it reopens on its next request."""
        with self._lock:
            memory = self._open.pop(project_id, None)
        if memory is not None:
            memory.close()

    def close(self) -> None:
        with self._lock:
            for memory in self._open.values():
                memory.close()
            self._open.clear()
