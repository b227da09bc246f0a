"""The lock covers the files it guards; calls to a Chroma server are bounded; a bad
configuration is a ConfigError naming what is wrong."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from memkit import Memory
from memkit.errors import ConfigError, VectorStoreError
from memkit.store._index import generation_dir
from memkit.testing import HashEmbedder

EVERYONE = {"NOT": [{"user_id": "nobody"}]}

# ---- locks: a second process sharing any file of an embedded store is refused ----------

_OPENER = """
import json, sys
from memkit import Memory
from memkit.errors import StoreLockedError
from memkit.testing import HashEmbedder
try:
    Memory(config=json.loads(sys.argv[1]), embedder=HashEmbedder()).close()
    print("OPENED")
except StoreLockedError as exc:
    print("LOCKED", exc)
"""


def open_elsewhere(config: dict[str, Any]) -> str:
    out = subprocess.run(
        [sys.executable, "-c", _OPENER, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def snapshot(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``directory`` with its size and modification time."""
    return {
        str(p.relative_to(directory)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_two_homes_sharing_one_index_path_are_refused(tmp_path):
    index = tmp_path / "shared-index"
    first = {"path": str(tmp_path / "home-a"), "vector_store": {"config": {"path": str(index)}}}
    memory = Memory(config=first, embedder=HashEmbedder())
    memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
    memory.backend.sync_index()
    before = snapshot(index)

    second = {"path": str(tmp_path / "home-b"), "vector_store": {"config": {"path": str(index)}}}
    out = open_elsewhere(second)
    assert out.startswith("LOCKED"), out
    assert str(index) in out and str(os.getpid()) in out
    assert not (tmp_path / "home-b" / "memkit.db").exists()  # nothing opened, nothing written
    assert snapshot(index) == before
    assert memory.search("chess", filters=EVERYONE).results[0].memory == "Plays chess"
    assert memory.check(repair=False).healthy
    memory.close()
    assert open_elsewhere(second).startswith("OPENED")  # once the first is closed


def test_two_homes_sharing_one_sqlite_file_are_refused(tmp_path):
    database = tmp_path / "records.db"
    url = f"sqlite:///{database}"
    memory = Memory(
        config={"path": str(tmp_path / "home-a"), "record_store": {"url": url}},
        embedder=HashEmbedder(),
    )
    memory.add("Owns a cat", user_id="u", infer=False)
    memory.backend.sync_index()

    out = open_elsewhere({"path": str(tmp_path / "home-b"), "record_store": {"url": url}})
    assert out.startswith("LOCKED"), out
    assert str(database) in out
    assert not generation_dir(tmp_path / "home-b" / "index").exists()  # no index opened
    assert memory.get_all(filters=EVERYONE).count == 1
    assert memory.check(repair=False).healthy
    memory.close()


# ---- timeouts: a Chroma server that never answers fails as VectorStoreError -------------


class Stall:
    """A loopback TCP server that accepts connections and never answers; as a proxy to
    ``upstream`` it relays bytes until ``stall()`` is called, then holds them."""

    def __init__(self, upstream: int | None = None) -> None:
        self.upstream = upstream
        self.stalled = threading.Event()
        if upstream is None:
            self.stalled.set()
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = [self._server]
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self.stalled.set()

    def close(self) -> None:
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self.upstream is None:
                continue  # accepted; never read, never answered
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
            self._sockets.append(upstream)
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    return
                if not self.stalled.is_set():
                    target.sendall(data)
            except OSError:
                return


@pytest.fixture
def silent_server() -> Iterator[Stall]:
    server = Stall()
    yield server
    server.close()


def server_config(tmp_path: Path, port: int, timeout: float) -> dict[str, Any]:
    return {
        "path": str(tmp_path),
        "vector_store": {
            "config": {
                "host": "127.0.0.1",
                "port": port,
                "collection_name": f"guards-{uuid.uuid4().hex[:12]}",
                "timeout": timeout,
            }
        },
        "record_store": {"url": f"sqlite:///{tmp_path / 'records.db'}"},
    }


def test_opening_against_a_server_that_never_answers_times_out(tmp_path, silent_server):
    started = time.monotonic()
    with pytest.raises(VectorStoreError, match="timed out"):
        Memory(config=server_config(tmp_path, silent_server.port, 1), embedder=HashEmbedder())
    assert time.monotonic() - started < 5


def test_calls_to_a_server_that_stops_answering_time_out(tmp_path, chroma_server):
    _, port = chroma_server
    proxy = Stall(upstream=port)
    try:
        memory = Memory(config=server_config(tmp_path, proxy.port, 1), embedder=HashEmbedder())
        memory.add("Owns a cat", user_id="u", infer=False)
        assert memory.search("cat", filters=EVERYONE).results[0].memory == "Owns a cat"
        proxy.stall()
        for call in (
            lambda: memory.add("Owns a dog", user_id="u", infer=False),
            lambda: memory.search("cat", filters=EVERYONE),
            lambda: memory.get_all(filters=EVERYONE),
        ):
            started = time.monotonic()
            with pytest.raises(VectorStoreError):
                call()
            assert time.monotonic() - started < 5
        memory.close()
    finally:
        proxy.close()


# ---- configuration: what is wrong is named, as ConfigError -----------------------------


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("foo://somewhere/db", "unknown database URL scheme 'foo'"),
        ("not a url", "unknown database URL scheme"),
        ("postgresql+psycopg2://user@localhost/memkit", "psycopg2"),
    ],
)
def test_a_bad_record_store_url_is_a_config_error(url, named):
    with pytest.raises(ConfigError, match=r"record_store\.url") as caught:
        Memory(config={"record_store": {"url": url}}, embedder=HashEmbedder())
    assert named in str(caught.value)


def test_a_store_path_that_is_a_file_is_a_config_error(tmp_path):
    regular = tmp_path / "a-file"
    regular.write_text("not a directory")
    with pytest.raises(ConfigError, match=rf"^path: {re.escape(str(regular))} is a file"):
        Memory(path=str(regular), embedder=HashEmbedder())
    assert regular.read_text() == "not a directory"


def test_an_index_path_that_is_a_file_is_a_config_error(tmp_path):
    regular = tmp_path / "index-file"
    regular.write_text("not a directory")
    config = {"path": str(tmp_path / "home"), "vector_store": {"config": {"path": str(regular)}}}
    with pytest.raises(
        ConfigError, match=rf"^vector_store\.config\.path: {re.escape(str(regular))} is a file"
    ):
        Memory(config=config, embedder=HashEmbedder())
    # Nothing was left locked or half-open: the same home opens with a good index path.
    config["vector_store"]["config"]["path"] = str(tmp_path / "index")
    Memory(config=config, embedder=HashEmbedder()).close()


def test_a_sqlite_file_under_a_file_is_a_config_error(tmp_path):
    regular = tmp_path / "a-file"
    regular.write_text("")
    url = f"sqlite:///{regular / 'records.db'}"
    with pytest.raises(ConfigError, match=r"^record_store\.url: "):
        Memory(config={"path": str(tmp_path / "home"), "record_store": {"url": url}})


@pytest.fixture
def unwritable(tmp_path) -> Iterator[Path]:
    """A directory this process cannot write: read-only by mode, or, for root (whom modes
    do not stop), immutable (chattr +i)."""
    directory = tmp_path / "read-only"
    directory.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(directory)], check=True)
        yield directory
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    else:
        directory.chmod(0o555)
        yield directory
        directory.chmod(0o755)


def test_an_unwritable_store_directory_is_a_config_error(unwritable):
    with pytest.raises(
        ConfigError, match=rf"^path: the directory {re.escape(str(unwritable))} is not writable"
    ):
        Memory(path=str(unwritable), embedder=HashEmbedder())
    assert list(unwritable.iterdir()) == []


def test_an_unwritable_index_directory_is_a_config_error(tmp_path, unwritable):
    config = {"path": str(tmp_path / "home"), "vector_store": {"config": {"path": str(unwritable)}}}
    with pytest.raises(ConfigError, match=r"^vector_store\.config\.path: the directory"):
        Memory(config=config, embedder=HashEmbedder())
