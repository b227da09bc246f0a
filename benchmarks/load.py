"""Scale-out load test: memkit serve's uvicorn workers on a Chroma server and PostgreSQL.

    .venv/bin/python benchmarks/load.py     # 50 clients, 30 s a side, 4 workers, 3 rounds
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
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("MEM0_TELEMETRY", "False")

from load_support import (  # benchmarks/ is this script's directory
    WARM_UP,
    LoadRun,
    WorkerPool,
    chroma_server,
    merged,
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
    parser.add_argument("--seconds", type=float, default=30.0, help="per side and round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--rounds", type=int, default=3, help="server then embedded, this many times"
    )
    parser.add_argument(
        "--launcher",
        choices=("cli", "uvicorn"),
        default="cli",
        help="start the workers with `memkit serve --workers N` (cli) or uvicorn itself",
    )
    parser.add_argument("--no-write", action="store_true", help="leave RESULTS.md alone")
    parser.add_argument("--no-embedded", action="store_true", help="the server side only")
    args = parser.parse_args(argv)

    began = time.monotonic()
    rounds: list[tuple[LoadRun, LoadRun | None]] = []
    with tempfile.TemporaryDirectory(prefix="memkit-load-") as tmp, ExitStack() as stack:
        base = Path(tmp)
        os.environ["MEMKIT_HOME"] = str(base / "home")  # nothing lands in the user's home
        print("starting the Chroma server and PostgreSQL ...", file=sys.stderr)
        chroma_port = stack.enter_context(chroma_server(base / "chroma"))
        database = stack.enter_context(postgres(base / "postgres"))
        for number in range(1, args.rounds + 1):
            # each round on fresh stores: a collection and a database of its own per side
            served = server_side(args, base / f"round{number}", chroma_port, database, number)
            embedded = None
            if not args.no_embedded:
                embedded = embedded_side(
                    args, base / f"round{number}", chroma_port, database, number
                )
            rounds.append((served, embedded))

    section = report(args, rounds, time.monotonic() - began)
    print(section)
    if not args.no_write:
        from golden import with_section  # benchmarks/ is this script's directory

        RESULTS.write_text(with_section(RESULTS.read_text(), section, (START, END)))
        print(f"wrote the load section of {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    runs = [run for pair in rounds for run in pair if run is not None]
    return 1 if any(run.failed or run.missing for run in runs) else 0


def server_side(
    args: argparse.Namespace,
    base: Path,
    chroma_port: int,
    database: Callable[[str], str],
    number: int,
) -> LoadRun:
    """One round's server side: fresh workers on a fresh project store, loaded, read back."""
    from memkit.server import KeyStore

    base.mkdir(parents=True, exist_ok=True)

    settings = server_settings(
        base / "server", chroma_port, database(f"load_server_{number}"), f"load{number}"
    )
    keys = KeyStore(settings.keys_url())
    _, key = keys.create_key(PROJECT, "load test")
    keys.close()
    print(f"round {number}: starting {args.workers} uvicorn workers ...", file=sys.stderr)
    with WorkerPool(
        settings, args.workers, log=base / "uvicorn.log", launcher=args.launcher
    ) as pool:
        try:
            pool.start(key)
        except RuntimeError:
            print((base / "uvicorn.log").read_text()[-4000:], file=sys.stderr)
            raise
        print(
            f"{args.clients} clients for {args.seconds:g} s against {pool.url} ...", file=sys.stderr
        )
        served = run_server(pool.url, key, clients=args.clients, seconds=args.seconds)
        verify_server(pool.url, key, served)
    print(summary(served), file=sys.stderr)
    return served


def embedded_side(
    args: argparse.Namespace,
    base: Path,
    chroma_port: int,
    database: Callable[[str], str],
    number: int,
) -> LoadRun:
    """One round's embedded side: one ``Memory`` on the same kind of backends."""
    from memkit import Memory

    chroma = {"host": "127.0.0.1", "port": chroma_port, "collection_name": f"embedded{number}"}
    config = {
        "path": str(base / "embedded"),
        "vector_store": {"provider": "chroma", "config": chroma},
        "record_store": {"url": database(f"load_embedded_{number}")},
    }
    with Memory(config=config) as memory:
        # as each worker was: the embedder and the extractor's word lists loaded
        memory.add(WARM_UP["messages"], user_id=WARM_UP["user_id"])
        print(f"{args.clients} threads for {args.seconds:g} s through Memory ...", file=sys.stderr)
        embedded = run_embedded(memory, clients=args.clients, seconds=args.seconds)
        verify_embedded(memory, embedded)
    print(summary(embedded), file=sys.stderr)
    return embedded


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


def _row(run: LoadRun, setup: str, label: str | None = None) -> str:
    five = sum(1 for s in run.samples if s.status >= 500 or s.status == 0)
    return (
        f"| {label or run.label} | {setup} | {run.requests_per_second:.1f} | "
        f"{run.per_second('add'):.1f} | {run.percentile('add', 50):.0f} | "
        f"{run.percentile('add', 95):.0f} | {run.per_second('search'):.1f} | "
        f"{run.percentile('search', 50):.0f} | {run.percentile('search', 95):.0f} | "
        f"{len(run.failed)} ({five} 5xx/no answer) | {len(run.missing)} of "
        f"{len(run.writes_left)} | {run.load[0]:.1f} / {run.load[1]:.1f} |"
    )


def report(
    args: argparse.Namespace, rounds: list[tuple[LoadRun, LoadRun | None]], wall: float
) -> str:
    cpus = os.cpu_count()
    servers = [served for served, _ in rounds]
    embeddeds = [embedded for _, embedded in rounds if embedded is not None]
    served = merged(servers, "server, all rounds")
    embedded = merged(embeddeds, "embedded, all rounds") if embeddeds else None
    launched = (
        f"`memkit --config <template.json> serve --workers {args.workers}`, which runs "
        "uvicorn's `memkit.server:create_app_from_env` factory in each worker"
        if args.launcher == "cli"
        else f"`uvicorn memkit.server:create_app_from_env --factory --workers {args.workers}`, "
        "as `memkit serve --workers` runs it"
    )
    lines = [
        "## Scale-out load: `memkit serve` workers on a Chroma server + PostgreSQL",
        "",
        f"`benchmarks/load.py --clients {args.clients} --seconds {args.seconds:g} "
        f"--workers {args.workers} --rounds {args.rounds} --launcher {args.launcher}`; "
        f"memkit at {_commit()}; "
        f"{platform.machine()}, {cpus} cores (shared with other work), Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}; whole run {wall:.0f} s. "
        "Everything on 127.0.0.1: a Chroma server (`chroma run`), PostgreSQL 16 (pgserver, "
        f"unix socket), {args.workers} uvicorn workers ({launched}), and the load "
        "generator (one asyncio process, an `httpx.AsyncClient` per client).",
        "",
        f"Workload: {args.clients} clients, one user id each, for {args.seconds:g} s; each "
        "client's requests one after the other, adds and searches taking turns. An add is "
        '`POST /v1/memories/` with one user message of two facts (`"I love <hobby> near lake '
        'number <client>x<n> and my <pet> is called Bo<client>n<n>."`) and `infer` left at '
        "its default (True: the offline extractor, so each add ADDs the new fact and UPDATEs "
        "the pet's name); a search is `POST /v2/memories/search/` with a query and "
        '`filters={"user_id": ...}` (default top_k). Embedding: the default all-MiniLM-L6-v2 '
        "int8 ONNX in every worker process. The embedded side runs the same workload through "
        "one `Memory` shared by as many threads, on the same kind of backends (the same "
        "Chroma server, a collection of its own; a PostgreSQL database of its own), after "
        f"the workers are stopped. Rounds: {args.rounds}, each the server side then the "
        "embedded side, each side on fresh stores, so a busy moment of the shared machine "
        "is less likely to favour one side. Before each side's clock starts, each worker "
        "(and the embedded `Memory`) has answered one add of a user outside the workload, "
        "so the embedder and the extractor's word lists are loaded (see below).",
        "",
        "| side | setup | req/s | add/s | add p50 ms | add p95 ms | search/s | "
        "search p50 ms | search p95 ms | failed | acknowledged memories missing | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    server_setup = f"{args.workers} uvicorn workers, HTTP"
    embedded_setup = f"one Memory, {args.clients} threads"
    lines.append(_row(served, server_setup))
    if embedded is not None:
        lines.append(_row(embedded, embedded_setup))
    for number, (one_served, one_embedded) in enumerate(rounds, 1):
        lines.append(_row(one_served, server_setup, f"server, round {number}"))
        if one_embedded is not None:
            lines.append(_row(one_embedded, embedded_setup, f"embedded, round {number}"))
    counts = Counter(s.worker for s in served.samples if s.worker)
    answered = [len({s.worker for s in run.samples if s.worker}) for run in servers]
    lines.append("")
    lines.append(
        "Sustained requests/s count the 2xx answers over the side's wall time (all rounds: "
        "over the rounds' summed time); percentiles are over 2xx answers, as the client saw "
        "them (queueing included); load avg is the machine's 1-minute load average at the "
        "start / end of the side. Workers that answered, per round: "
        + ", ".join(f"{n} of {args.workers}" for n in answered)
        + " (`X-Memkit-Worker`; requests per worker process over all rounds: "
        + ", ".join(str(n) for _, n in counts.most_common())
        + "). Each client keeps one keep-alive connection, and a new connection goes to "
        "whichever worker accepts it first, so the workers need not share the clients "
        "evenly (all of them answered the warm-up). Read-backs answered by another worker "
        f"than the one that acknowledged the write: {served.cross_reads} of "
        f"{len(served.writes_left)}."
    )
    if embedded is not None and embedded.requests_per_second:
        ratio = served.requests_per_second / embedded.requests_per_second
        add_ratio = served.percentile("add", 95) / embedded.percentile("add", 95)
        search_ratio = served.percentile("search", 95) / embedded.percentile("search", 95)
        per_round = ", ".join(
            f"{a.requests_per_second / b.requests_per_second:.2f}x"
            for a, b in rounds
            if b is not None and b.requests_per_second
        )
        lines.append("")
        lines.append(
            f"Server / embedded, all rounds: throughput {ratio:.2f}x (per round: "
            f"{per_round}), add p95 {add_ratio:.2f}x, search p95 {search_ratio:.2f}x."
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
        "Cold start (measured while this benchmark was built): lemminflect, which the "
        "offline extractor uses, read its lemma tables (about 0.9 s of CPU) on first use "
        "without a lock, so 50 concurrent first adds in a fresh process each read them and "
        "took 12-25 s (server with 2 workers and embedded alike). Fixed (02217e8): the "
        "tables load once, under a lock, when the extractor is built."
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
