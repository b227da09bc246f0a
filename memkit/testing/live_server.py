"""A memkit server on 127.0.0.1 in a background thread, for tests and benchmarks.

    with LiveServer(ServerSettings(home=tmp)) as live:
        key = live.new_key("proj_a")
        MemoryClient(api_key=key, host=live.url)

The app runs under a real uvicorn on a free loopback port, so clients speak real HTTP.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from memkit import Memory
from memkit.config import MemoryConfig
from memkit.server import KeyStore, ServerSettings, create_app

__all__ = ["LiveServer", "RecordingSink", "free_port", "serve_command"]


class RecordingSink:
    """An event sink that keeps what the routes published, in place of the webhooks:
    ``live.app.state.events = RecordingSink()``."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, project_id: str, event: str, data: dict[str, Any]) -> None:
        self.events.append((project_id, event, data))

    def close(self) -> None:
        return None

    def of(self, project_id: str) -> list[tuple[str, dict[str, Any]]]:
        """(event, data) published for one project, in order."""
        return [(e, d) for p, e, d in self.events if p == project_id]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    def __init__(
        self,
        settings: ServerSettings,
        *,
        memory_factory: Callable[[MemoryConfig], Memory] | None = None,
        port: int | None = None,
    ) -> None:
        self.settings = settings
        self.app = create_app(settings, memory_factory=memory_factory)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="memkit-live-server")

    @property
    def keys(self) -> KeyStore:
        keys: KeyStore = self.app.state.keys
        return keys

    def new_key(self, project_id: str, name: str = "test") -> str:
        return self.keys.create_key(project_id, name)[1]

    def memory(self, project_id: str) -> Memory:
        """The project's store itself, to look behind the API in a test."""
        memory: Memory = self.app.state.projects.get(project_id)
        return memory

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the memkit server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        *_: Any,
    ) -> None:
        self.stop()


@contextmanager
def serve_command(
    argv: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 60.0,
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run a server command (``memkit serve --port PORT ...``) as a subprocess until it
    answers on 127.0.0.1:PORT; yields (url, process); stops it with SIGINT (then SIGKILL),
    as an operator's Ctrl-C would."""
    process = subprocess.Popen(
        list(argv),
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                _, err = process.communicate()
                raise RuntimeError(f"the server command exited ({process.returncode}): {err}")
            try:
                httpx.get(f"{url}/v1/ping/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server command did not start") from None
                time.sleep(0.1)
        yield url, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
