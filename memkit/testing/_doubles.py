"""Test doubles that ship with memkit, for its own tests and for users' tests.

``HashEmbedder`` gives deterministic vectors with no model: texts that share words
get similar vectors, identical texts identical ones. Use it where the meaning of
the vectors does not matter and speed does (bulk loads, crash tests).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["HashEmbedder", "corrupt_index"]

_WORD = re.compile(r"\w+")


class HashEmbedder:
    """A bag of hashed words, L2-normalised."""

    name = "test:hash"

    def __init__(self, dims: int = 64) -> None:
        self.dims = dims

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()) or [text]:
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                out[row, int.from_bytes(digest[:4], "little") % self.dims] += 1.0
            out[row, 0] += 1e-3  # no all-zero rows
        unit: np.ndarray = out / np.linalg.norm(out, axis=1, keepdims=True)
        return unit


def corrupt_index(directory: Path) -> None:
    """Garbage in Chroma's database file. Its WAL goes too: in WAL mode SQLite would read the
    newest pages, the header among them, from there and never see the garbage."""
    for suffix in ("-wal", "-shm"):
        (directory / f"chroma.sqlite3{suffix}").unlink(missing_ok=True)
    (directory / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
