"""Against a real Chroma server on loopback: same behaviour, and calls time out, never hang."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memkit import Memory
from memkit.errors import VectorStoreError
from memkit.testing import HashEmbedder


def server_memory(tmp_path: Path, port: int, collection: str) -> Memory:
    return Memory(
        config={
            "vector_store": {
                "provider": "chroma",
                "config": {
                    "host": "127.0.0.1",
                    "port": port,
                    "collection_name": collection,
                    "timeout": 2,
                },
            },
            "record_store": {"url": f"sqlite:///{tmp_path / 'records.db'}"},
            "path": str(tmp_path),
        },
        embedder=HashEmbedder(),
    )


def test_server_mode_behaves_like_embedded(chroma_server, tmp_path):
    _, port = chroma_server
    with server_memory(tmp_path, port, "behaviour") as memory:
        memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        memory.add("Likes jazz", user_id="v", infer=False)
        assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
        page = memory.get_all(filters={"NOT": [{"user_id": "u"}]})
        assert [m.memory for m in page.results] == ["Likes jazz"]
        assert not (tmp_path / "memkit.lock").exists()  # servers serve many processes


def test_a_stalled_server_times_out_instead_of_hanging(chroma_server, tmp_path):
    server, port = chroma_server
    with server_memory(tmp_path, port, "stalled") as memory:
        memory.add("Owns a cat", user_id="u", infer=False)
        server.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(VectorStoreError):
                memory.add("Owns a dog", user_id="u", infer=False)
            assert time.monotonic() - started < 30
        finally:
            server.send_signal(signal.SIGCONT)
        # The write was durable in the record store; the journal brings the index up to date.
        assert sorted(m.memory for m in memory.get_all(user_id="u").results) == [
            "Owns a cat",
            "Owns a dog",
        ]
        memory.add("Owns a fish", user_id="u", infer=False)
        assert memory.backend.index.count() == 3


_WRITER = """
import sys
from memkit import Memory
from memkit.testing import HashEmbedder

port, url, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
config = {
    "vector_store": {"provider": "chroma", "config": {"host": "127.0.0.1", "port": port,
                                                      "collection_name": "shared"}},
    "record_store": {"url": url},
}
with Memory(config=config, embedder=HashEmbedder()) as memory:
    for n in range(15):
        memory.add(f"{user} fact number {n}", user_id=user, infer=False)
    assert len(memory.search("fact", user_id=user, top_k=50).results) == 15
"""


def test_processes_share_one_store_on_postgres_and_a_chroma_server(
    chroma_server, postgres_url, tmp_path
):
    """The deployment for more than one process: each opens the same (fresh) PostgreSQL
    database and Chroma collection at the same moment and writes; all see everything."""
    _, port = chroma_server
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "MEMKIT_HOME": str(tmp_path / "home")}
    writers = [
        subprocess.Popen([sys.executable, str(script), str(port), postgres_url, user], env=env)
        for user in ("ann", "ben", "cat")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0]
    config = {
        "vector_store": {
            "provider": "chroma",
            "config": {"host": "127.0.0.1", "port": port, "collection_name": "shared"},
        },
        "record_store": {"url": postgres_url},
    }
    with Memory(config=config, embedder=HashEmbedder()) as memory:
        assert memory.backend.records._engine.dialect.name == "postgresql"
        for user in ("ann", "ben", "cat"):
            assert memory.get_all(user_id=user).count == 15
        everyone = memory.get_all(filters={"NOT": [{"user_id": "nobody"}]}, page_size=100)
        assert everyone.count == 45 == memory.backend.index.count()
        assert memory.search("ben fact number 3", user_id="ben").results[0].memory == (
            "ben fact number 3"
        )
