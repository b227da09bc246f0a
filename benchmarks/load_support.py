"""The scale-out load harness: backends, uvicorn workers, 50 clients, and the write check.

``benchmarks/load.py`` (the full run, which writes RESULTS.md) and
``tests/server/test_scale_out.py`` (a short bounded run) share it, so the test checks the
very code the benchmark's numbers come from. Everything listens on 127.0.0.1 only; every
process started here runs in a process group of its own and is stopped by ``close``/the
context managers, also on Ctrl-C or an error.

The workload, per client (one user id each, its requests one after the other): adds and
searches taking turns. An add is the platform's ``POST /v1/memories/`` with one user
message of two facts, ``infer`` left at its default (True: memkit's offline extractor
turns the message into memories, so an add may ADD and UPDATE); a search is
``POST /v2/memories/search/`` with a query and ``filters={"user_id": ...}``. Every 2xx add's
events are the acknowledged writes; afterwards each memory they leave (its last
acknowledged event ADD or UPDATE) must be found with the text of that event.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

__all__ = [
    "WARM_UP",
    "Acked",
    "LoadRun",
    "Sample",
    "WorkerPool",
    "chroma_server",
    "free_port",
    "merged",
    "postgres",
    "run_embedded",
    "run_server",
    "server_settings",
    "verify_embedded",
    "verify_server",
]

HOST = "127.0.0.1"
HOBBIES = ("hiking", "chess", "baking", "cycling", "painting", "surfing", "climbing", "jazz")
PETS = ("cat", "dog", "parrot", "rabbit", "turtle", "hamster")


# Each client's first requests, made even past the deadline: one add and one search, so
# every client writes and reads however slow the machine (the hard timeout still holds).
MIN_PER_CLIENT = 2

# What warms a worker (or an embedded Memory) up: a user outside the workload's.
WARM_UP: dict[str, Any] = {
    "messages": [{"role": "user", "content": "I love green tea."}],
    "user_id": "warm_up",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# ---- the workload -------------------------------------------------------------------------


def user_of(client: int) -> str:
    return f"load_user_{client:03d}"


def message(client: int, seq: int) -> str:
    """One user message of two facts: a new one (an ADD) and the pet's name, which
    changes every time (an UPDATE of the client's earlier pet memory)."""
    hobby = HOBBIES[(client + seq) % len(HOBBIES)]
    pet = PETS[client % len(PETS)]
    return (
        f"I love {hobby} near lake number {client}x{seq} and my {pet} is called Bo{client}n{seq}."
    )


def query(client: int, seq: int) -> str:
    return f"what does the user love near lake number {client}x{max(seq - 1, 0)}?"


@dataclass(frozen=True)
class Sample:
    """One request: its kind, wall time, HTTP status (0: no answer) and answering worker."""

    kind: str
    ms: float
    status: int
    worker: str = ""


@dataclass(frozen=True)
class Acked:
    """An acknowledged write's last word on one memory."""

    memory_id: str
    event: str
    text: str
    user_id: str
    worker: str = ""  # the server worker that acknowledged it


@dataclass
class LoadRun:
    """Everything one side of the benchmark saw."""

    label: str
    clients: int
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    # memory id -> the last acknowledged event about it (one client owns each memory)
    acked: dict[str, Acked] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # the machine's 1-minute load average at the start and the end of the run
    load: tuple[float, float] = (0.0, 0.0)
    # memory id -> the server worker that answered its read-back
    read_by: dict[str, str] = field(default_factory=dict)

    def record_events(self, user_id: str, results: list[dict[str, Any]], worker: str = "") -> None:
        for item in results:
            event = str(item.get("event", ""))
            memory_id = item.get("id")
            if memory_id and event in ("ADD", "UPDATE", "DELETE"):
                text = str(item.get("memory") or "")
                self.acked[str(memory_id)] = Acked(str(memory_id), event, text, user_id, worker)

    def of(self, kind: str) -> list[Sample]:
        return [s for s in self.samples if s.kind == kind]

    def ok(self, kind: str) -> list[float]:
        return [s.ms for s in self.of(kind) if 200 <= s.status < 300]

    @property
    def cross_reads(self) -> int:
        """Memories read back by another worker than the one that acknowledged them."""
        return sum(
            1
            for acked in self.writes_left
            if acked.worker and self.read_by.get(acked.memory_id, acked.worker) != acked.worker
        )

    @property
    def failed(self) -> list[Sample]:
        return [s for s in self.samples if not 200 <= s.status < 300]

    @property
    def workers(self) -> set[str]:
        return {s.worker for s in self.samples if s.worker}

    @property
    def requests_per_second(self) -> float:
        done = sum(1 for s in self.samples if 200 <= s.status < 300)
        return done / self.seconds if self.seconds else 0.0

    def per_second(self, kind: str) -> float:
        return len(self.ok(kind)) / self.seconds if self.seconds else 0.0

    def percentile(self, kind: str, q: float) -> float:
        values = sorted(self.ok(kind))
        if not values:
            return float("nan")
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[round(q) - 1]

    @property
    def writes_left(self) -> list[Acked]:
        return [a for a in self.acked.values() if a.event != "DELETE"]


def merged(runs: list[LoadRun], label: str) -> LoadRun:
    """Several runs of one side as one: their samples and writes pooled, their times summed
    (rates over the pooled time, percentiles over the pooled samples)."""
    out = LoadRun(label=label, clients=runs[0].clients if runs else 0)
    for run in runs:
        out.seconds += run.seconds
        out.samples.extend(run.samples)
        out.acked.update(run.acked)
        out.errors.extend(run.errors)
        out.missing.extend(run.missing)
        out.read_by.update(run.read_by)
    if runs:
        out.load = (runs[0].load[0], runs[-1].load[1])
    return out


# ---- the server side ----------------------------------------------------------------------


def _limits(keepalive: bool, connections: int = 1) -> httpx.Limits:
    """One client's connections: kept alive (as the platform's clients do), or a new
    connection per request, which lets the kernel hand each one to any worker."""
    return httpx.Limits(
        max_connections=connections, max_keepalive_connections=connections if keepalive else 0
    )


async def _server_client(
    url: str,
    key: str,
    client: int,
    deadline: float,
    run: LoadRun,
    timeout: float,
    keepalive: bool,
) -> None:
    user = user_of(client)
    headers = {"Authorization": f"Token {key}"}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, timeout=timeout, limits=_limits(keepalive)
    ) as http:
        seq = 0
        while seq < MIN_PER_CLIENT or time.monotonic() < deadline:
            kind = "add" if seq % 2 == 0 else "search"
            if kind == "add":
                body: dict[str, Any] = {
                    "messages": [{"role": "user", "content": message(client, seq)}],
                    "user_id": user,
                }
                path = "/v1/memories/"
            else:
                body = {"query": query(client, seq), "filters": {"user_id": user}}
                path = "/v2/memories/search/"
            started = time.perf_counter()
            try:
                response = await http.post(path, json=body)
            except httpx.HTTPError as exc:
                ms = (time.perf_counter() - started) * 1000
                run.samples.append(Sample(kind, ms, 0))
                run.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                seq += 1
                continue
            ms = (time.perf_counter() - started) * 1000
            worker = response.headers.get("x-memkit-worker", "")
            run.samples.append(Sample(kind, ms, response.status_code, worker))
            if response.is_success:
                if kind == "add":
                    run.record_events(user, _results(response.json()), worker)
            else:
                run.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
            seq += 1


def _results(payload: Any) -> list[dict[str, Any]]:
    if isinstance(payload, dict):
        payload = payload.get("results", [])
    return [item for item in payload if isinstance(item, dict)] if isinstance(payload, list) else []


async def _run_server(
    url: str, key: str, clients: int, seconds: float, timeout: float, keepalive: bool
) -> LoadRun:
    run = LoadRun(label="server", clients=clients)
    before = os.getloadavg()[0]
    started = time.monotonic()
    deadline = started + seconds
    tasks = [
        asyncio.create_task(_server_client(url, key, c, deadline, run, timeout, keepalive))
        for c in range(clients)
    ]
    # The hard stop: a request may not outlive the deadline by more than its own timeout.
    done, pending = await asyncio.wait(tasks, timeout=seconds + timeout + 10)
    for task in pending:
        task.cancel()
        run.errors.append("a client was still running at the hard timeout")
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            run.errors.append(f"client crashed: {task.exception()!r}")
    run.seconds = time.monotonic() - started
    run.load = (before, os.getloadavg()[0])
    return run


def run_server(
    url: str,
    key: str,
    *,
    clients: int = 50,
    seconds: float = 30.0,
    timeout: float = 60.0,
    keepalive: bool = True,
) -> LoadRun:
    """``clients`` concurrent HTTP clients for ``seconds`` (then each finishes its request).
    ``keepalive=False``: a new connection per request (see ``_limits``)."""
    return asyncio.run(_run_server(url, key, clients, seconds, timeout, keepalive))


async def _verify_server(
    url: str, key: str, run: LoadRun, concurrency: int, keepalive: bool
) -> None:
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Token {key}"}
    limits = _limits(keepalive, concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits) as http:

        async def check(acked: Acked) -> None:
            async with gate:
                response = await http.get(f"/v1/memories/{acked.memory_id}/")
            run.read_by[acked.memory_id] = response.headers.get("x-memkit-worker", "")
            if response.status_code == 404:
                run.missing.append(f"{acked.memory_id}: not found ({acked.event} {acked.text!r})")
            elif not response.is_success:
                run.missing.append(f"{acked.memory_id}: {response.status_code} {response.text}")
            else:
                got = response.json()
                if got.get("memory") != acked.text or got.get("user_id") != acked.user_id:
                    run.missing.append(
                        f"{acked.memory_id}: {got.get('memory')!r} / {got.get('user_id')!r}, "
                        f"acknowledged {acked.text!r} / {acked.user_id!r}"
                    )

        await asyncio.gather(*(check(a) for a in run.writes_left))


def verify_server(
    url: str, key: str, run: LoadRun, *, concurrency: int = 8, keepalive: bool = True
) -> list[str]:
    """Every memory an acknowledged write left, read back through the API; the misses."""
    asyncio.run(_verify_server(url, key, run, concurrency, keepalive))
    return run.missing


# ---- the embedded side --------------------------------------------------------------------


def run_embedded(
    memory: Any, *, clients: int = 50, seconds: float = 30.0, timeout: float = 60.0
) -> LoadRun:
    """The same workload through one ``Memory`` shared by ``clients`` threads. A thread
    still in a call ``timeout`` seconds after the deadline is reported and left behind (a
    call cannot be cancelled), so the run itself ends."""
    run = LoadRun(label="embedded", clients=clients)
    before = os.getloadavg()[0]
    lock = threading.Lock()  # list.append is atomic; the lock keeps acked's order per client

    def client(c: int, deadline: float) -> None:
        user = user_of(c)
        seq = 0
        while seq < MIN_PER_CLIENT or time.monotonic() < deadline:
            kind = "add" if seq % 2 == 0 else "search"
            started = time.perf_counter()
            try:
                if kind == "add":
                    result = memory.add(
                        [{"role": "user", "content": message(c, seq)}], user_id=user
                    )
                    payload = result.model_dump(mode="json")
                else:
                    memory.search(query(c, seq), filters={"user_id": user})
                status = 200
            except Exception as exc:  # every failure is counted, none stops the run
                status = 500
                with lock:
                    run.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            ms = (time.perf_counter() - started) * 1000
            with lock:
                run.samples.append(Sample(kind, ms, status))
                if status == 200 and kind == "add":
                    run.record_events(user, _results(payload))
            seq += 1

    started = time.monotonic()
    deadline = started + seconds
    pool = ThreadPoolExecutor(max_workers=clients, thread_name_prefix="load")
    try:
        futures = [pool.submit(client, c, deadline) for c in range(clients)]
        done, pending = wait(futures, timeout=seconds + timeout + 10)
        for future in done:
            if future.exception() is not None:
                run.errors.append(f"client crashed: {future.exception()!r}")
        if pending:
            run.errors.append(f"{len(pending)} clients were still running at the hard timeout")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    run.seconds = time.monotonic() - started
    run.load = (before, os.getloadavg()[0])
    return run


def verify_embedded(memory: Any, run: LoadRun) -> list[str]:
    from memkit.errors import MemoryNotFoundError

    for acked in run.writes_left:
        try:
            got = memory.get(acked.memory_id)
        except MemoryNotFoundError:
            run.missing.append(f"{acked.memory_id}: not found ({acked.event} {acked.text!r})")
            continue
        if got.memory != acked.text or got.user_id != acked.user_id:
            run.missing.append(f"{acked.memory_id}: {got.memory!r}, acknowledged {acked.text!r}")
    return run.missing


# ---- processes: Chroma server, PostgreSQL, uvicorn workers ---------------------------------


def _stop_group(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _child_env() -> dict[str, str]:
    return {**os.environ, "ANONYMIZED_TELEMETRY": "False", "MEM0_TELEMETRY": "False"}


@contextmanager
def chroma_server(data: Path, *, timeout: float = 90.0) -> Iterator[int]:
    """``chroma run`` on 127.0.0.1 (a process group of its own); yields its port."""
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    if chroma is None:
        raise RuntimeError("the chroma CLI ships with chromadb; it is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [chroma, "run", "--path", str(data), "--host", HOST, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_child_env(),
        start_new_session=True,
    )
    try:
        _wait_for(
            lambda: httpx.get(f"http://{HOST}:{port}/api/v2/heartbeat", timeout=2).is_success,
            proc,
            timeout,
            "the Chroma server",
        )
        yield port
    finally:
        _stop_group(proc)


@contextmanager
def postgres(data: Path) -> Iterator[Callable[[str], str]]:
    """PostgreSQL (pgserver's binaries) on a unix socket under ``data``; yields a function
    that makes an empty database and returns its SQLAlchemy URL."""
    import pgserver

    server = pgserver.get_server(data, cleanup_mode="stop")

    def database(name: str) -> str:
        server.psql(f"DROP DATABASE IF EXISTS {name};")
        server.psql(f"CREATE DATABASE {name};")
        uri: str = server.get_uri(name)
        return uri.replace("postgresql://", "postgresql+psycopg://", 1)

    try:
        yield database
    finally:
        server.cleanup()


def server_settings(home: Path, chroma_port: int, pg_url: str, collection: str) -> Any:
    """The server's settings: every project on the Chroma server and in PostgreSQL."""
    from memkit.server import ServerSettings

    chroma = {"host": HOST, "port": chroma_port, "collection_name": collection}
    return ServerSettings(
        home=home,
        memory={
            "vector_store": {"provider": "chroma", "config": chroma},
            "record_store": {"url": pg_url},
        },
    )


def _wait_for(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float, what: str
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(0.2)


class WorkerPool:
    """N uvicorn workers on loopback, started one of two ways (``launcher``):

    - ``"uvicorn"``: ``python -m uvicorn memkit.server:create_app_from_env --factory
      --workers N``, the settings in the environment, as ``memkit serve`` passes them;
    - ``"cli"``: ``python -m memkit.cli --config <template.json> serve --workers N --home
      <home>``, the command an operator types (it checks the backends can be shared).

    ``start`` returns once every worker has answered with ``key`` (the responses'
    ``X-Memkit-Worker`` headers name them), so the load starts on a warm pool.
    """

    def __init__(
        self,
        settings: Any,
        workers: int,
        *,
        log: Path | None = None,
        launcher: Literal["uvicorn", "cli"] = "uvicorn",
    ) -> None:
        self.settings = settings
        self.workers = workers
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = log
        self.launcher = launcher
        self.proc: subprocess.Popen[bytes] | None = None
        self.pids: set[str] = set()

    def command(self) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of the server process."""
        from memkit.server import SETTINGS_ENV

        where = ["--host", HOST, "--port", str(self.port), "--log-level", "warning"]
        if self.launcher == "uvicorn":
            uvicorn = ["-m", "uvicorn", "memkit.server:create_app_from_env", "--factory"]
            argv = [sys.executable, *uvicorn, "--workers", str(self.workers), *where]
            return [*argv, "--no-access-log"], {
                **_child_env(),
                SETTINGS_ENV: self.settings.to_env(),
            }
        home = Path(self.settings.home)
        home.mkdir(parents=True, exist_ok=True)
        template = home / "template.json"
        template.write_text(json.dumps(self.settings.memory))
        argv = [sys.executable, "-m", "memkit.cli", "--config", str(template), "serve"]
        argv += ["--workers", str(self.workers), "--home", str(home), *where]
        if self.settings.database_url:
            argv += ["--database-url", self.settings.database_url]
        return argv, _child_env()

    def start(self, key: str, *, timeout: float = 120.0) -> WorkerPool:
        argv, env = self.command()
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        finally:
            if self.log:
                out.close()  # type: ignore[union-attr]
        proc = self.proc
        headers = {"Authorization": f"Token {key}"}
        _wait_for(
            lambda: httpx.get(f"{self.url}/v1/ping/", headers=headers, timeout=30).is_success,
            proc,
            timeout,
            "the uvicorn workers",
        )
        self._meet_workers(headers, proc, timeout)
        return self

    def _meet_workers(
        self, headers: dict[str, str], proc: subprocess.Popen[bytes], timeout: float
    ) -> None:
        """Add on fresh connections until every worker has answered one, or the timeout:
        each worker has then opened the project's store and loaded its embedder and the
        extractor's word lists (lemminflect reads its tables on first use, unlocked, so
        a cold worker's first concurrent adds each load them again: seconds apiece)."""
        deadline = time.monotonic() + timeout

        async def burst() -> None:
            async def one() -> None:
                async with httpx.AsyncClient(timeout=30) as http:
                    response = await http.post(
                        f"{self.url}/v1/memories/", headers=headers, json=WARM_UP
                    )
                    if response.is_success:
                        self.pids.add(response.headers.get("x-memkit-worker", ""))

            await asyncio.gather(*(one() for _ in range(2 * self.workers)))

        while len(self.pids - {""}) < self.workers:
            if proc.poll() is not None:
                raise RuntimeError(f"the uvicorn workers exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {len(self.pids)} of {self.workers} workers answered in {timeout:.0f} s"
                )
            asyncio.run(burst())

    def close(self) -> None:
        if self.proc is not None:
            _stop_group(self.proc)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
