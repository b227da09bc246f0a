"""Tests never touch the user's home or the network."""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# The platform's client (mem0ai, a test dependency) reads these once, at import: its usage
# reports stay off whatever the environment says, and its config file stays out of ~.
os.environ["MEM0_TELEMETRY"] = "False"
os.environ["MEM0_DIR"] = os.path.join(
    os.environ.get("TMPDIR", "/tmp"), f"memkit-tests-mem0-{os.getpid()}"
)

from memkit import AsyncMemory, Memory
from memkit.testing import SyncView
from memkit.testing.openai_server import ScriptedOpenAI


@pytest.fixture(autouse=True)
def memkit_home(tmp_path, monkeypatch) -> Any:
    home = tmp_path / "memkit-home"
    monkeypatch.setenv("MEMKIT_HOME", str(home))
    return home


_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: Any) -> Any:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        host = address[0]
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    """A scripted OpenAI-compatible server on 127.0.0.1, for the LLM path."""
    with ScriptedOpenAI() as s:
        yield s


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory) -> Iterator[Any]:
    """A PostgreSQL server for the session (pgserver's wheel: PostgreSQL 16 binaries),
    listening on a unix socket in a temporary directory only."""
    import pgserver  # the dev extra's

    server = pgserver.get_server(tmp_path_factory.mktemp("postgres"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_server, request) -> str:
    """The SQLAlchemy URL of a fresh, empty database for this test."""
    name = f"t{abs(hash(request.node.nodeid)) % 10**12}_{os.getpid()}"
    postgres_server.psql(f"DROP DATABASE IF EXISTS {name};")
    postgres_server.psql(f"CREATE DATABASE {name};")
    uri = postgres_server.get_uri(name)
    return uri.replace("postgresql://", "postgresql+psycopg://", 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[tuple[subprocess.Popen, int]]:
    """A Chroma server (``chroma run``) on loopback for the session: the process, so a test
    can stall it (SIGSTOP; it must SIGCONT it again), and its port. Each test that uses it
    writes to a collection of its own."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI ships with chromadb"
    port = free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise
            time.sleep(0.2)
    yield server, port
    server.send_signal(signal.SIGCONT)
    server.terminate()
    server.wait(timeout=30)


_CLIENT_SERVER: list[Any] = []


def _client_server(request) -> Any:
    """One memkit server for the session's "client" stores (started on first use, stopped
    when the session ends): a server per test would cost a second each."""
    if not _CLIENT_SERVER:
        from memkit.server import ServerSettings
        from memkit.testing.live_server import LiveServer

        home = request.getfixturevalue("tmp_path_factory").mktemp("client-server")
        live = LiveServer(ServerSettings(home=home)).start()
        request.config.add_cleanup(live.stop)
        _CLIENT_SERVER.append(live)
    return _CLIENT_SERVER[0]


@pytest.fixture(params=["sync", "async", "postgres", "server", "client"])
def memory(request) -> Iterator[Any]:
    """A fresh store, driven through Memory or through AsyncMemory; "postgres" is Memory
    with PostgreSQL as the record store (Chroma embedded, as in the default); "server" is
    the deployment for many processes: Memory on a Chroma server (a collection of its own)
    and PostgreSQL (a database of its own); "client" is memkit's MemoryClient against a
    `memkit serve` on loopback (a project of its own, so an empty store)."""
    if request.param == "client":
        from memkit.client import MemoryClient

        class ServedClient(MemoryClient):
            """The client, with ``.sync``: the server's Memory behind it, which tests that
            look behind the API reach as they reach AsyncMemory's (``SyncView.sync``)."""

            @property
            def sync(self) -> Memory:
                return live.memory(project)

        live = _client_server(request)
        project = f"t{uuid.uuid4().hex[:20]}"
        client = ServedClient(api_key=live.new_key(project), host=live.url)
        yield client
        client.close()
        # The project's store is the test's alone: close it rather than keep it open.
        live.app.state.projects.close_project(project)
        return
    if request.param == "sync":
        mem = Memory()
        yield mem
        mem.close()
    elif request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
        mem = Memory(config={"record_store": {"url": url}})
        yield mem
        mem.close()
    elif request.param == "server":
        _, port = request.getfixturevalue("chroma_server")
        url = request.getfixturevalue("postgres_url")
        collection = f"parity-{uuid.uuid4().hex[:12]}"
        chroma = {"host": "127.0.0.1", "port": port, "collection_name": collection}
        mem = Memory(
            config={
                "vector_store": {"provider": "chroma", "config": chroma},
                "record_store": {"url": url},
            }
        )
        yield mem
        mem.close()
    else:
        amem = AsyncMemory()
        yield SyncView(amem)
        amem.sync.close()
