"""Scale-out load test: memkit serve's uvicorn workers on a Chroma server and PostgreSQL.

    .venv/bin/python benchmarks/load.py                       # 50 clients, 30 s a side, 4 workers
    .venv/bin/python benchmarks/load.py --seconds 5 --no-write  # a quick look, RESULTS.md untouched

Starts on 127.0.0.1 a Chroma server and PostgreSQL (pgserver), makes an API key, and runs
``--workers`` uvicorn workers over them (what ``memkit serve --workers N`` runs). Then
``--clients`` concurrent HTTP clients add and search for ``--seconds`` (the workload is in
``load_support``), and every memory an acknowledged add left is read back. Then the same
workload through the embedded library: one ``Memory`` on the same kind of backends (the
same Chroma server, a collection of its own; a PostgreSQL database of its own), shared by
``--clients`` threads, the server's workers stopped first. Writes its section of
benchmarks/RESULTS.md (between the load markers) unless ``--no-write``; stops every process
it started, also on Ctrl-C or an error.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MEM0_TELEMETRY", "False")

from load_support import (  # benchmarks/ is this script's directory
    WARM_UP,
    LoadRun,
    WorkerPool,
    chroma_server,
    postgres,
    run_embedded,
    run_server,
    server_settings,
    verify_embedded,
    verify_server,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- load:start -->", "<!-- load:end -->"
PROJECT = "load"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per side")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--no-embedded", action="store_true", help="the server side only")
    args = parser.parse_args(argv)

    from memkit import Memory
    from memkit.server import KeyStore

    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="memkit-load-") as tmp, ExitStack() as stack:
        base = Path(tmp)
        os.environ["MEMKIT_HOME"] = str(base / "home")  # nothing lands in the user's home
        print("starting the Chroma server and PostgreSQL ...", file=sys.stderr)
        chroma_port = stack.enter_context(chroma_server(base / "chroma"))
        database = stack.enter_context(postgres(base / "postgres"))
        settings = server_settings(base / "server", chroma_port, database("load_server"), "load")
        keys = KeyStore(settings.keys_url())
        _, key = keys.create_key(PROJECT, "load test")
        keys.close()

        print(f"starting {args.workers} uvicorn workers ...", file=sys.stderr)
        pool = stack.enter_context(WorkerPool(settings, args.workers, log=base / "uvicorn.log"))
        try:
            pool.start(key)
        except RuntimeError:
            print((base / "uvicorn.log").read_text()[-4000:], file=sys.stderr)
            raise
        print(
            f"{args.clients} clients for {args.seconds:.0f} s against {pool.url} ...",
            file=sys.stderr,
        )
        served = run_server(pool.url, key, clients=args.clients, seconds=args.seconds)
        verify_server(pool.url, key, served)
        pool.close()
        print(summary(served), file=sys.stderr)

        embedded: LoadRun | None = None
        if not args.no_embedded:
            chroma = {"host": "127.0.0.1", "port": chroma_port, "collection_name": "embedded"}
            config = {
                "path": str(base / "embedded"),
                "vector_store": {"provider": "chroma", "config": chroma},
                "record_store": {"url": database("load_embedded")},
            }
            memory = stack.enter_context(Memory(config=config))
            # as each worker was: the embedder and the extractor's word lists loaded
            memory.add(WARM_UP["messages"], user_id=WARM_UP["user_id"])
            print(
                f"{args.clients} threads for {args.seconds:.0f} s through Memory ...",
                file=sys.stderr,
            )
            embedded = run_embedded(memory, clients=args.clients, seconds=args.seconds)
            verify_embedded(memory, embedded)
            print(summary(embedded), file=sys.stderr)

    section = report(args, served, embedded, time.monotonic() - began)
    print(section)
    if not args.no_write:
        from golden import with_section  # benchmarks/ is this script's directory

        RESULTS.write_text(with_section(RESULTS.read_text(), section, (START, END)))
        print(f"wrote the load section of {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    failed = served.failed or served.missing or (embedded and (embedded.failed or embedded.missing))
    return 1 if failed else 0


def summary(run: LoadRun) -> str:
    return (
        f"{run.label}: {len(run.samples)} requests in {run.seconds:.1f} s, "
        f"{run.requests_per_second:.1f} req/s; add p95 {run.percentile('add', 95):.0f} ms, "
        f"search p95 {run.percentile('search', 95):.0f} ms; {len(run.failed)} failed, "
        f"{len(run.missing)} of {len(run.writes_left)} acknowledged memories missing"
    )


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "memkit"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def _row(run: LoadRun, setup: str) -> str:
    five = sum(1 for s in run.samples if s.status >= 500 or s.status == 0)
    return (
        f"| {run.label} | {setup} | {run.requests_per_second:.1f} | "
        f"{run.per_second('add'):.1f} | {run.percentile('add', 50):.0f} | "
        f"{run.percentile('add', 95):.0f} | {run.per_second('search'):.1f} | "
        f"{run.percentile('search', 50):.0f} | {run.percentile('search', 95):.0f} | "
        f"{len(run.failed)} ({five} 5xx/no answer) | {len(run.missing)} of "
        f"{len(run.writes_left)} |"
    )


def report(args: argparse.Namespace, served: LoadRun, embedded: LoadRun | None, wall: float) -> str:
    cpus = os.cpu_count()
    sides = [run for run in (served, embedded) if run is not None]
    counts = Counter(s.worker for s in served.samples if s.worker)
    per_worker = ", ".join(str(n) for _, n in counts.most_common()) or "none"
    lines = [
        "## Scale-out load: `memkit serve` workers on a Chroma server + PostgreSQL",
        "",
        f"`benchmarks/load.py --clients {args.clients} --seconds {args.seconds:g} "
        f"--workers {args.workers}`; memkit at {_commit()}; {platform.machine()}, {cpus} cores "
        f"(shared with other work), Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}; whole run {wall:.0f} s. Everything on 127.0.0.1: a "
        "Chroma server (`chroma run`), PostgreSQL 16 (pgserver, unix socket), "
        f"{args.workers} uvicorn workers (`uvicorn memkit.server:create_app_from_env --factory "
        f"--workers {args.workers}`, as `memkit serve --workers` runs it), and the load "
        "generator (one asyncio process, an `httpx.AsyncClient` per client).",
        "",
        f"Workload: {args.clients} clients, one user id each, for {args.seconds:g} s; each "
        "client's requests one after the other, adds and searches taking turns. An add is "
        '`POST /v1/memories/` with one user message of two facts (`"I love <hobby> near lake '
        'number <client>x<n> and my <pet> is called Bo<client>n<n>."`) and `infer` left at '
        "its default (True: the offline extractor, so each add ADDs the new fact and UPDATEs "
        "the pet's name); a search is `POST /v2/memories/search/` with a query and "
        '`filters={"user_id": ...}` (default top_k). Embedding: the default all-MiniLM-L6-v2 '
        "int8 ONNX in every worker process. The embedded row runs the same workload through "
        "one `Memory` shared by as many threads, on the same kind of backends (the same "
        "Chroma server, a collection of its own; a PostgreSQL database of its own), after "
        "the workers are stopped. Before each side's clock starts, each worker (and the "
        "embedded `Memory`) has answered one add of a user outside the workload, so the "
        "embedder and the extractor's word lists are loaded (see below).",
        "",
        "| side | setup | req/s | add/s | add p50 ms | add p95 ms | search/s | "
        "search p50 ms | search p95 ms | failed | acknowledged memories missing |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        _row(served, f"{args.workers} uvicorn workers, HTTP"),
    ]
    if embedded is not None:
        lines.append(_row(embedded, f"one Memory, {args.clients} threads"))
    lines.append("")
    lines.append(
        f"Sustained requests/s count the 2xx answers over the run's wall time; percentiles "
        f"are over 2xx answers, as the client saw them (queueing included). Workers that "
        f"answered: {len(served.workers)} of {args.workers} (`X-Memkit-Worker`; requests per "
        f"worker: {per_worker}). Each client keeps one keep-alive connection, and a new "
        "connection goes to whichever worker accepts it first, so the workers need not "
        "share the clients evenly (all of them answered the warm-up). Read-backs answered by "
        f"another worker than the one that acknowledged the write: {served.cross_reads} of "
        f"{len(served.writes_left)}."
    )
    lines.append(
        "Load average of the machine (1 min) at the start and end of each side: "
        + "; ".join(f"{run.label} {run.load[0]:.1f} / {run.load[1]:.1f}" for run in sides)
        + ". Other work shared the 2 cores, so compare the two rows of one run."
    )
    if embedded is not None and embedded.requests_per_second:
        ratio = served.requests_per_second / embedded.requests_per_second
        add_ratio = served.percentile("add", 95) / embedded.percentile("add", 95)
        search_ratio = served.percentile("search", 95) / embedded.percentile("search", 95)
        lines.append(
            f"Server / embedded: throughput {ratio:.2f}x, add p95 {add_ratio:.2f}x, "
            f"search p95 {search_ratio:.2f}x."
        )
    lines.append("")
    lines.append(
        "Reading it: both sides are CPU-bound on 2 shared cores. An add extracts, embeds "
        "and writes (mostly Python, so one process runs one add's Python at a time); the "
        "workers are separate processes, but they share the same 2 cores with the Chroma "
        "server, PostgreSQL and the load generator. A search through the server waits "
        "behind the adds its worker is running and pays for HTTP and JSON, hence its "
        "higher latency. How the workers scale on a machine with more cores than workers "
        "is not measured here."
    )
    lines.append("")
    lines.append(
        "Cold start (measured while this benchmark was built, not in the numbers above): "
        "lemminflect, "
        "which the offline extractor uses, reads its lemma tables (about 0.9 s of CPU) on "
        "first use without a lock, so concurrent first adds in a fresh process can each "
        "read them: 50 concurrent adds on cold stores took 12-25 s each (server with 2 "
        "workers and embedded alike); warm, the table's add p50."
    )
    lines.append("")
    lines.append(
        "Acknowledged writes: every event of every 2xx add, the last per memory id; each "
        "memory whose last acknowledged event is ADD or UPDATE is read back afterwards "
        "(`GET /v1/memories/{id}/`, or `Memory.get` for the embedded side) and must carry "
        "that event's text and user id."
    )
    for run in (served, embedded):
        if run is not None and (run.missing or run.errors):
            lines.append("")
            lines.append(f"{run.label}: first problems:")
            for problem in (run.missing + run.errors)[:5]:
                lines.append(f"- `{problem[:200]}`")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
