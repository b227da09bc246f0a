"""Scale-out: several uvicorn workers over one Chroma server and one PostgreSQL.

A short bounded run of the load benchmark's own harness (benchmarks/load_support.py):
``memkit serve --workers 2``, 50 concurrent clients adding and searching for a few
seconds, all on loopback. Every request must be answered without a 5xx, more than one
worker must have answered (each response names its worker in ``X-Memkit-Worker``), and
every memory an acknowledged add left must be readable afterwards with the acknowledged
text, also through another worker than the one that acknowledged it.
"""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

from memkit.server import KeyStore

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 2
CLIENTS = 50
SECONDS = 4.0


def _load_support() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "memkit_load_support", ROOT / "benchmarks" / "load_support.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


load = _load_support()


def test_workers_share_one_store_under_load(chroma_server, postgres_url, tmp_path) -> None:
    _, chroma_port = chroma_server
    # the session's Chroma server is shared: a collection name of this test's own
    collection = f"scale{uuid.uuid4().hex[:8]}"
    settings = load.server_settings(tmp_path / "server", chroma_port, postgres_url, collection)
    keys = KeyStore(settings.keys_url())
    _, key = keys.create_key("scale", "scale-out test")
    keys.close()

    # started as an operator would: `memkit --config <template> serve --workers 2`
    with load.WorkerPool(settings, WORKERS, log=tmp_path / "serve.log", launcher="cli") as pool:
        pool.start(key, timeout=90)
        assert len(pool.pids) == WORKERS  # every worker answered before the load
        # A new connection per request: the kernel hands each to whichever worker accepts
        # first, so kept-alive connections could all land on one worker by chance.
        run = load.run_server(
            pool.url, key, clients=CLIENTS, seconds=SECONDS, timeout=30, keepalive=False
        )
        missing = load.verify_server(pool.url, key, run, keepalive=False)

    answered = [s for s in run.samples if s.status != 0]
    server_errors = [s for s in run.samples if s.status >= 500]
    assert run.errors == [], run.errors[:5]
    assert len(answered) == len(run.samples)  # every request got an answer
    assert server_errors == []
    assert {s.kind for s in run.samples} == {"add", "search"}
    assert all(s.worker for s in run.samples)  # every response names its worker
    assert len(run.workers) > 1, run.workers
    assert run.workers <= pool.pids
    # 50 clients, each a user of its own, so every client's adds were acknowledged
    assert {a.user_id for a in run.writes_left} == {load.user_of(c) for c in range(CLIENTS)}
    assert missing == []
    # the workers share one store: memories written through one were read through another
    assert run.cross_reads > 0
    assert pool.proc is not None and pool.proc.poll() is not None  # the workers were stopped


def test_the_last_acknowledged_event_of_a_memory_is_what_must_be_found() -> None:
    run = load.LoadRun(label="server", clients=1)
    run.record_events("u1", [{"id": "a", "memory": "Cat is called Bo0", "event": "ADD"}], "w1")
    run.record_events(
        "u1",
        [
            {"id": "a", "memory": "Cat is called Bo1", "event": "UPDATE"},
            {"id": "b", "memory": "Loves chess", "event": "ADD"},
            {"id": "c", "memory": "Loves jazz", "event": "ADD"},
            {"id": "d", "memory": "nothing new", "event": "NONE"},
        ],
        "w2",
    )
    run.record_events("u1", [{"id": "c", "memory": "Loves jazz", "event": "DELETE"}], "w1")
    left = {a.memory_id: (a.text, a.worker) for a in run.writes_left}
    assert left == {"a": ("Cat is called Bo1", "w2"), "b": ("Loves chess", "w2")}
    run.read_by.update({"a": "w2", "b": "w1"})
    assert run.cross_reads == 1
