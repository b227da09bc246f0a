"""The files an embedded store writes, checked before anything is opened.

A store path that is a regular file, or a directory this process cannot write, is a
mistake in the configuration: it fails as ConfigError naming the key, at construction,
instead of a raw OSError from deep inside SQLite or Chroma.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from memkit.errors import ConfigError

__all__ = ["sqlite_file", "writable_directory"]


def writable_directory(path: Path, key: str) -> Path:
    """``path`` as a directory this process can write (created if missing)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}: {path} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot create the directory {path}: {exc}") from exc
    # os.access answers for the real uid and ignores read-only mounts: try a real file.
    try:
        fd, probe = tempfile.mkstemp(prefix=".memkit-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{key}: the directory {path} is not writable: {exc}") from exc
    return path


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for other databases and in-memory ones)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # the record store's own open names the bad URL
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().absolute()
