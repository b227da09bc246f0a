"""memkit and the open-source peer (mem0) side by side, in one run, on the same embedder.

    .venv/bin/python benchmarks/perf.py                      # N = 1k and 10k  (make bench)
    .venv/bin/python benchmarks/perf.py --sizes 100000       # the slow size   (make bench-100k)
    .venv/bin/python benchmarks/perf.py --sizes 100000 --systems memkit   # memkit's 100k RSS

Each (system, N) runs in a fresh subprocess on a fresh store in one temp directory, so peak
RSS and disk belong to that run alone: memkit in this interpreter's environment, mem0 in
``benchmarks/.venv-peer`` (built by ``peer_env.sh``) through ``peer_mem0.py``, which imports
this module for the workload and the harness. Both run fully offline behind a Python-level
network guard, with all-MiniLM-L6-v2 int8 ONNX on one onnxruntime thread.

The command prints the table and rewrites the perf section of ``benchmarks/RESULTS.md``
(between ``<!-- perf:start -->`` / ``<!-- perf:end -->``) and the PNG plots beside it.
Results of sizes not run this time are kept from the previous run, marked with their date.

This module imports only the standard library at module level: the peer's environment has
no memkit, and the driver only needs matplotlib when it draws.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- perf:start -->", "<!-- perf:end -->"
DATA_TAG = "<!-- perf:data "

USERS = 1000  # the base load spreads N memories over this many users
LOAD_CHUNK = 5  # base load: each add carries up to 5 of one user's messages
SINGLE_ADDS = 100  # timed single-message adds, into random users
LIST_ADDS = 15  # timed adds of LIST_LEN-message lists, one per probe user
LIST_LEN = 20
SEARCHES = 200
PROBES = 100  # searches / get_all / update / history / delete samples
BATCH = 1000
TOP_K = 10
WARMUP = 10
TOPICS = ("food", "travel", "work", "health", "family")
YEAR_START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0
SINCE_DAY = 182  # the date filter keeps memories created on or after 1 July 2024

# ---- the workload: the same texts, users and order for both systems -------------------------

_SUBJECTS = (
    "I",
    "My sister",
    "My brother",
    "My manager",
    "My partner",
    "Our team lead",
    "My daughter",
    "My son",
    "My friend Sam",
    "My neighbour",
    "My doctor",
    "My running coach",
    "My grandmother",
    "My flatmate",
    "My best friend Priya",
    "My colleague Tom",
)
_VERBS = (
    "really enjoys",
    "cannot stand",
    "is learning",
    "recently started",
    "wants to try",
    "gave up",
    "keeps recommending",
    "is allergic to",
    "collects anything about",
    "talks a lot about",
    "spent the weekend on",
    "is saving money for",
    "is worried about",
    "got really good at",
    "has strong opinions on",
    "dreams about",
)
_OBJECTS = (
    "Thai green curry",
    "rock climbing",
    "playing the piano",
    "vintage film cameras",
    "sourdough baking",
    "trail running",
    "Japanese woodblock prints",
    "the local football club",
    "vegan desserts",
    "sailing lessons",
    "board games with friends",
    "learning Portuguese",
    "growing tomatoes",
    "jazz records",
    "cold water swimming",
    "a trip to Patagonia",
    "electric bikes",
    "peanut butter",
    "crime novels",
    "yoga classes",
    "espresso machines",
    "birdwatching",
    "the new office in Berlin",
    "night shifts at the hospital",
    "a used camper van",
    "gluten free pasta",
    "chess openings",
    "Korean dramas",
    "mountain huts in the Alps",
    "pottery workshops",
    "the quarterly sales report",
    "a kitchen renovation",
    "marathon training plans",
    "shellfish",
    "salsa dancing",
    "homemade kombucha",
    "the school parents committee",
    "a golden retriever puppy",
    "street photography",
    "the budget spreadsheet",
    "Italian wine regions",
    "cycling to work",
    "a PhD application",
    "dark chocolate",
    "open source software",
    "a cabin by the lake",
    "the piano recital in May",
    "spicy Sichuan food",
)
_TAILS = (
    "since last spring",
    "every Sunday morning",
    "with colleagues from work",
    "after moving to Lisbon",
    "during the summer holidays",
    "when travelling abroad",
    "on weekday evenings",
    "to relax after work",
    "for the past two years",
    "together with the kids",
    "despite a knee injury",
    "on a very tight budget",
    "since the doctor suggested it",
    "whenever it rains",
    "before the wedding",
    "at the community centre",
    "with a group from the gym",
    "as a birthday present",
    "ever since university",
    "while working from home",
    "on long train journeys",
    "after a bad experience last year",
    "with much more enthusiasm lately",
    "because of the new job",
)
_QUESTIONS = (
    "What does {s} think about {o}?",
    "Does {s} like {o}?",
    "Anything I should know about {o}?",
    "What are {s}'s hobbies?",
    "Is {s} allergic to anything?",
    "What did {s} do last weekend?",
    "Tell me about {o}.",
    "What food does {s} enjoy?",
)


def _sentences(seed: int) -> Iterator[str]:
    """Distinct memory-like sentences (about 12 tokens), in a seeded order."""
    radix = (len(_SUBJECTS), len(_VERBS), len(_OBJECTS), len(_TAILS))
    total = radix[0] * radix[1] * radix[2] * radix[3]
    order = list(range(total))
    random.Random(seed).shuffle(order)
    for k in order:
        k, t = divmod(k, radix[3])
        k, o = divmod(k, radix[2])
        s, v = divmod(k, radix[1])
        yield f"{_SUBJECTS[s]} {_VERBS[v]} {_OBJECTS[o]} {_TAILS[t]}."


@dataclass(frozen=True)
class Call:
    """One ``add``: a user's messages, with the call's metadata and creation time."""

    user: str
    texts: tuple[str, ...]
    topic: str
    ts: float

    @property
    def metadata(self) -> dict[str, Any]:
        return {"topic": self.topic, "ts": self.ts}


@dataclass
class Workload:
    """Everything both systems do at one N, fixed by the seed."""

    n: int
    load: list[Call]
    single: list[Call]
    lists: list[Call]
    scratch: list[Call]
    searches: list[tuple[str, str]]  # (user, query) over users of the base load
    probe_searches: list[tuple[str, str]]  # over the probe users, 20 memories each
    filtered: list[tuple[str, str, str]]  # (user, query, topic) + created on/after SINCE
    probe_users: list[str]
    new_texts: list[str]  # replacement texts for update / batch_update

    @property
    def since(self) -> float:
        return YEAR_START + SINCE_DAY * DAY


def make_workload(n: int, seed: int = 7) -> Workload:
    rng = random.Random(seed * 1_000_003 + n)
    texts = _sentences(seed)
    base = n - SINGLE_ADDS - LIST_ADDS * LIST_LEN
    if base < 0:
        raise ValueError(f"N must be at least {SINGLE_ADDS + LIST_ADDS * LIST_LEN}")

    def call(user: str, count: int) -> Call:
        return Call(
            user,
            tuple(next(texts) for _ in range(count)),
            rng.choice(TOPICS),
            YEAR_START + rng.randrange(366) * DAY + rng.randrange(86_400),
        )

    per_user = [base // USERS + (1 if u < base % USERS else 0) for u in range(USERS)]
    chunks: list[list[int]] = [
        [min(LOAD_CHUNK, left - k) for k in range(0, left, LOAD_CHUNK)] for left in per_user
    ]
    load: list[Call] = []
    for round_ in range(max((len(c) for c in chunks), default=0)):
        load += [call(f"u{u:04d}", c[round_]) for u, c in enumerate(chunks) if round_ < len(c)]
    base_users = [f"u{u:04d}" for u in range(USERS) if per_user[u]]
    single = [call(f"u{rng.randrange(USERS):04d}", 1) for _ in range(SINGLE_ADDS)]
    probe_users = [f"p{i:03d}" for i in range(LIST_ADDS)]
    lists = [call(user, LIST_LEN) for user in probe_users]
    scratch = [call(f"s{i:03d}", LIST_LEN) for i in range(BATCH // LIST_LEN)]
    new_texts = [next(texts) for _ in range(BATCH + PROBES)]

    def question() -> str:
        subject = rng.choice(_SUBJECTS)
        subject = subject if subject == "I" else subject[0].lower() + subject[1:]
        return rng.choice(_QUESTIONS).format(s=subject, o=rng.choice(_OBJECTS))

    return Workload(
        n=n,
        load=load,
        single=single,
        lists=lists,
        scratch=scratch,
        searches=[(rng.choice(base_users), question()) for _ in range(SEARCHES)],
        probe_searches=[(rng.choice(probe_users), question()) for _ in range(PROBES)],
        filtered=[(rng.choice(base_users), question(), rng.choice(TOPICS)) for _ in range(PROBES)],
        probe_users=probe_users,
        new_texts=new_texts,
    )


# ---- the harness, shared by both worker processes --------------------------------------------


class System(Protocol):
    """What the harness drives; ``MemkitSystem`` here and ``Mem0System`` in peer_mem0.py."""

    name: str

    def add(self, call: Call) -> list[str]: ...
    def search(self, user: str, query: str) -> int: ...
    def search_filtered(self, user: str, query: str, topic: str, since: float) -> int: ...
    def get_all(self, user: str) -> int: ...
    def history(self, memory_id: str) -> int: ...
    def update(self, memory_id: str, text: str) -> None: ...
    def delete(self, memory_id: str) -> None: ...
    def batch_update(self, items: list[tuple[str, str]]) -> None: ...
    def batch_delete(self, ids: list[str]) -> None: ...
    def count(self) -> int: ...
    def close(self) -> None: ...


def install_network_guard() -> list[str]:
    """Refuse (and count) every non-loopback connect and DNS lookup made from Python."""
    attempts: list[str] = []
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def local(host: Any) -> bool:
        if host in (None, "localhost", ""):
            return True
        try:
            return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
        except ValueError:
            return False

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            attempts.append(f"connect {address!r}")
            raise OSError(f"benchmark network guard: refused connect to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not local(address[0]):
            attempts.append(f"connect {address!r}")
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not local(host):
            attempts.append(f"dns {host!r}")
            raise socket.gaierror(f"benchmark network guard: refused lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    return attempts


@dataclass
class Samples:
    """Wall-clock and CPU seconds of each timed call."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, fn: Callable[..., Any], *args: Any) -> Any:
        cpu, wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        self.wall.append(time.perf_counter() - wall)
        self.cpu.append(time.process_time() - cpu)
        return result

    def summary(self, items: int | None = None) -> dict[str, float]:
        """Latencies in ms; ``items`` (memories written) turns the total into a rate."""
        total = sum(self.wall)
        count = items if items is not None else len(self.wall)
        return {
            "p50": percentile(self.wall, 50) * 1000,
            "p95": percentile(self.wall, 95) * 1000,
            "mean": total / len(self.wall) * 1000,
            "cpu": sum(self.cpu) / len(self.cpu) * 1000,
            "calls": len(self.wall),
            "rate": count / total if total else 0.0,
        }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def disk_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


Gate = Callable[[str], None]


def _slices(items: Sequence[Any], parts: int) -> list[Sequence[Any]]:
    size = max(1, -(-len(items) // parts))
    return [items[i : i + size] for i in range(0, len(items), size)]


def run_workload(
    system: System,
    wl: Workload,
    data_dir: Path,
    extra: Callable[[], dict[str, Any]] | None = None,
    gate: Gate = lambda _phase: None,
) -> dict[str, Any]:
    """Every timed phase at one N; returns a JSON-able dict of summaries.

    ``gate(phase)`` is called before each slice of work: the driver uses it to run the two
    systems' workers in lockstep, slice by slice, so a busy neighbour on a shared machine
    slows both alike instead of whichever happened to run at that moment.
    """
    out: dict[str, Any] = {"n": wl.n, "system": system.name}
    rng = random.Random(wl.n)

    def timed(
        name: str,
        calls: Sequence[tuple[Any, ...]],
        fn: Callable[..., Any],
        parts: int = 2,
        items: int | None = None,
        warmup: int = WARMUP,
    ) -> list[Any]:
        samples, results = Samples(), []
        for k, part in enumerate(_slices(calls, parts)):
            gate(f"{name} {k + 1}")
            for args in part[:warmup] if k == 0 else ():
                fn(*args)
            results += [samples.time(fn, *args) for args in part]
        out[name] = samples.summary(items)
        return results

    loaded_texts = sum(len(c.texts) for c in wl.load)
    loaded = timed("load", [(c,) for c in wl.load], system.add, 10, loaded_texts, 0)
    base_ids = [i for ids in loaded for i in ids]
    base_ids += [
        i
        for ids in timed("add_single", [(c,) for c in wl.single], system.add, 4, len(wl.single), 0)
        for i in ids
    ]
    timed("add_list", [(c,) for c in wl.lists], system.add, 3, len(wl.lists) * LIST_LEN, 0)
    count = system.count()
    if count != wl.n:
        raise RuntimeError(f"{system.name}: {count} memories stored, expected {wl.n}")
    out["disk_loaded_mb"] = disk_bytes(data_dir) / 2**20
    out["rss_loaded_mb"] = rss_mb()

    hits = timed("search", wl.searches, system.search, parts=4)
    out["search"]["hits"] = sum(hits) / len(hits)
    hits = timed("search_probe", wl.probe_searches, system.search)
    out["search_probe"]["hits"] = sum(hits) / len(hits)
    filtered = [(u, q, t, wl.since) for u, q, t in wl.filtered]
    hits = timed("search_filtered", filtered, system.search_filtered)
    out["search_filtered"]["hits"] = sum(hits) / len(hits)
    owners = [(wl.probe_users[i % LIST_ADDS],) for i in range(PROBES)]
    sizes = timed("get_all", owners, system.get_all)
    if set(sizes) != {LIST_LEN}:
        raise RuntimeError(f"{system.name}: get_all returned {sorted(set(sizes))} memories")

    picked = rng.sample(base_ids, 2 * PROBES)
    updated, doomed = picked[:PROBES], picked[PROBES:]
    timed(
        "update", list(zip(updated, wl.new_texts[BATCH:], strict=True)), system.update, 2, None, 0
    )
    entries = timed("history", [(i,) for i in updated], system.history)
    if set(entries) != {2}:
        raise RuntimeError(f"{system.name}: history returned {sorted(set(entries))} entries")

    gate("batch setup")
    scratch = [i for call in wl.scratch for i in system.add(call)]
    pairs = list(zip(scratch, wl.new_texts[:BATCH], strict=True))
    timed("batch_update", [(pairs,)], system.batch_update, 1, BATCH, 0)
    timed("batch_delete", [(scratch,)], system.batch_delete, 1, BATCH, 0)
    timed("delete", [(i,) for i in doomed], system.delete, 2, None, 0)
    count = system.count()
    if count != wl.n - PROBES:
        raise RuntimeError(f"{system.name}: {count} memories left, expected {wl.n - PROBES}")
    gate("extra")
    if extra is not None:
        out.update(extra())
    gate("close")
    system.close()
    out["disk_mb"] = disk_bytes(data_dir) / 2**20
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


PROTOCOL = "@@perf "


def _stdin_gate(phase: str) -> None:
    """Tell the driver which slice comes next, and wait for its go."""
    print(f"{PROTOCOL}{phase}", flush=True)
    if not sys.stdin.readline():
        raise SystemExit("the driver went away")


def worker_main(make_system: Callable[[Path, Workload], tuple[System, Callable | None]]) -> None:
    """Entry point of a worker process: ``--n N --dir DIR --out FILE [--lockstep]``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--lockstep", action="store_true", help="wait for the driver's go")
    args = parser.parse_args(sys.argv[2:] if sys.argv[1:2] == ["--worker"] else sys.argv[1:])
    gate: Gate = _stdin_gate if args.lockstep else (lambda _phase: None)
    attempts = install_network_guard()
    workload = make_workload(args.n)
    gate("open")
    started = time.perf_counter()
    system, extra = make_system(args.dir, workload)
    opened = time.perf_counter() - started
    result = run_workload(system, workload, args.dir, extra, gate)
    result["open_s"] = opened
    result["network_attempts"] = len(attempts)
    result["network_detail"] = attempts[:5]
    args.out.write_text(json.dumps(result))
    print(f"{PROTOCOL}done", flush=True)


# ---- memkit's side ----------------------------------------------------------------------------


class MemkitSystem:
    """memkit's public API; also times the embed call and the Chroma calls inside a search."""

    name = "memkit"

    def __init__(self, directory: Path) -> None:
        from memkit import Memory

        self.memory = Memory(path=str(directory / "memkit"))

    def add(self, call: Call) -> list[str]:
        messages: Any = (
            call.texts[0]
            if len(call.texts) == 1
            else [{"role": "user", "content": t} for t in call.texts]
        )
        result = self.memory.add(
            messages, user_id=call.user, metadata=call.metadata, timestamp=call.ts, infer=False
        )
        return [e.id for e in result.results if e.event == "ADD"]

    def search(self, user: str, query: str) -> int:
        return len(self.memory.search(query, user_id=user, top_k=TOP_K).results)

    def search_filtered(self, user: str, query: str, topic: str, since: float) -> int:
        day = datetime.fromtimestamp(since, tz=UTC).date().isoformat()
        filters = {"AND": [{"metadata": {"topic": topic}}, {"created_at": {"gte": day}}]}
        return len(self.memory.search(query, user_id=user, filters=filters, top_k=TOP_K).results)

    def get_all(self, user: str) -> int:
        return len(self.memory.get_all(user_id=user, page_size=100).results)

    def history(self, memory_id: str) -> int:
        return len(self.memory.history(memory_id))

    def update(self, memory_id: str, text: str) -> None:
        self.memory.update(memory_id, text=text)

    def delete(self, memory_id: str) -> None:
        self.memory.delete(memory_id)

    def batch_update(self, items: list[tuple[str, str]]) -> None:
        self.memory.batch_update([{"memory_id": i, "text": t} for i, t in items])

    def batch_delete(self, ids: list[str]) -> None:
        self.memory.batch_delete([{"memory_id": i} for i in ids])

    def count(self) -> int:
        return self.memory.backend.records.count()

    def close(self) -> None:
        self.memory.close()

    def search_parts(self, wl: Workload) -> dict[str, Any]:
        """Split each search: the embed call, the vector index, the record store, the rest.

        "index" is every call on memkit's vector index (Chroma's query, or the exact scan of a
        small scope that replaces it); "store" the record-store reads of the search (candidates,
        keyword statistics, the result rows), which stand in for the payloads Chroma returns
        with a query; "own" everything else: filters, ranking, result models, the activity log.
        """
        memory, backend = self.memory, self.memory.backend
        spent = dict.fromkeys(("embed", "index", "chroma", "store"), 0.0)
        embedder, index, records = memory.embedder, backend.index, backend.records
        collection = index._collection
        memory.embedder = _Timed(embedder, spent, "embed", ("embed",))
        backend.index = _Timed(index, spent, "index", ("query", "query_many", "matching"))
        index._collection = _Timed(collection, spent, "chroma", ("query", "get"))
        keywords = _Timed(records.keywords, spent, "store", ("docs",))
        backend.records = _Timed(records, spent, "store", _STORE_READS, {"keywords": keywords})
        parts: dict[str, list[float]] = {k: [] for k in ("total", "own", "strict", *spent)}
        try:
            for user, query in wl.searches[:WARMUP]:
                self.search(user, query)
            for user, query in wl.searches:
                spent.update(dict.fromkeys(spent, 0.0))
                started = time.perf_counter()
                self.search(user, query)
                total = time.perf_counter() - started
                parts["total"].append(total)
                parts["own"].append(total - spent["embed"] - spent["index"] - spent["store"])
                parts["strict"].append(total - spent["embed"] - spent["chroma"])
                for key, value in spent.items():
                    parts[key].append(value)
        finally:
            memory.embedder, backend.index, backend.records = embedder, index, records
            index._collection = collection
        totals = {k: sum(v) for k, v in parts.items()}
        return {
            "search_parts": {
                **{f"{k}_p50": percentile(v, 50) * 1000 for k, v in parts.items()},
                **{f"{k}_mean": totals[k] / len(v) * 1000 for k, v in parts.items()},
                "own_share": totals["own"] / totals["total"],
                "strict_share": totals["strict"] / totals["total"],
            }
        }

    def hardware_floor(self, wl: Workload) -> dict[str, Any]:
        """The floor under a list add: one batched embed call, one batched Chroma add."""
        import chromadb
        import numpy as np
        from chromadb.config import Settings

        texts = [t for call in wl.scratch[:20] for t in call.texts][:400]
        embedder = self.memory.embedder
        embedder.embed(texts[:16])
        started = time.perf_counter()
        vectors = embedder.embed(texts)
        embed_s = (time.perf_counter() - started) / len(texts)
        directory = Path(tempfile.mkdtemp(prefix="floor-", dir=self.memory.config.home()))
        client = chromadb.PersistentClient(
            path=str(directory), settings=Settings(anonymized_telemetry=False)
        )
        collection = client.get_or_create_collection(
            "floor", metadata={"hnsw:space": "cosine"}, embedding_function=None
        )
        started = time.perf_counter()
        collection.add(
            ids=[str(i) for i in range(len(texts))],
            embeddings=np.asarray(vectors),
            metadatas=[{"user_id": "x", "n": i} for i in range(len(texts))],
            documents=texts,
        )
        chroma_s = (time.perf_counter() - started) / len(texts)
        with contextlib.suppress(AttributeError):
            client.close()
        shutil.rmtree(directory, ignore_errors=True)
        return {"floor": {"embed_ms": embed_s * 1000, "chroma_ms": chroma_s * 1000}}


_STORE_READS = ("get_many", "hashes_of_scope", "hashes", "embeddings", "scoped", "scoped_vectors")


class _Timed:
    """A proxy adding the time spent in some methods of ``inner`` to ``spent[key]``."""

    def __init__(
        self,
        inner: Any,
        spent: dict[str, float],
        key: str,
        methods: tuple[str, ...],
        children: dict[str, Any] | None = None,
    ) -> None:
        self._inner, self._spent, self._key = inner, spent, key
        self._methods, self._children = methods, children or {}

    def __getattr__(self, name: str) -> Any:
        if name in self._children:
            return self._children[name]
        value = getattr(self._inner, name)
        if name not in self._methods:
            return value

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                self._spent[self._key] += time.perf_counter() - started

        return timed


def _memkit_worker(directory: Path, wl: Workload) -> tuple[System, Callable[[], dict[str, Any]]]:
    os.environ["MEMKIT_HOME"] = str(directory / "home")
    system = MemkitSystem(directory)
    return system, lambda: {**system.search_parts(wl), **system.hardware_floor(wl)}


# ---- the driver: run, tabulate, write RESULTS.md and the plots --------------------------------


def _peer_python() -> str:
    reply = subprocess.run(
        ["bash", str(HERE / "peer_env.sh")], check=True, capture_output=True, text=True
    )
    return reply.stdout.strip().splitlines()[-1]


def _run_pair(n: int, systems: Sequence[str], peer_python: str | None) -> dict[str, Any]:
    """Run each system's worker at N, in lockstep slice by slice (see ``run_workload``)."""
    parent = Path(tempfile.mkdtemp(prefix=f"memkit-perf-{n}-"))
    env = {
        **os.environ,
        "ANONYMIZED_TELEMETRY": "False",
        "MEM0_TELEMETRY": "False",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONPATH": str(HERE),
    }
    workers: dict[str, subprocess.Popen[str]] = {}
    results: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for system in systems:
            if system == "memkit":
                command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
            else:
                command = [peer_python or _peer_python(), str(HERE / "peer_mem0.py")]
            home = parent / system
            (home / "data").mkdir(parents=True)
            command += ["--n", str(n), "--dir", str(home / "data"), "--out", str(home / "out.json")]
            workers[system] = subprocess.Popen(
                [*command, "--lockstep"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=home,
            )
        phase = {name: _next_phase(name, w) for name, w in workers.items()}
        spent = dict.fromkeys(workers, 0.0)
        while any(p != "done" for p in phase.values()):
            for name, worker in workers.items():
                if phase[name] == "done":
                    continue
                begun = time.perf_counter()
                assert worker.stdin is not None
                worker.stdin.write("go\n")
                worker.stdin.flush()
                phase[name] = _next_phase(name, worker)
                spent[name] += time.perf_counter() - begun
            current = " | ".join(f"{k} {v} ({spent[k]:.0f} s)" for k, v in phase.items())
            print(f"\r  N={n:,}: {current}".ljust(110), end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        for name, worker in workers.items():
            if worker.wait() != 0:
                raise RuntimeError(f"the {name} worker failed at N={n}")
            results[name] = json.loads((parent / name / "out.json").read_text())
            results[name]["run_s"] = spent[name]
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                worker.kill()
                worker.wait()
        shutil.rmtree(parent, ignore_errors=True)
    for result in results.values():
        result["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        result["load_avg"] = os.getloadavg()[0]
        result["wall_s"] = time.perf_counter() - started
    return results


def _next_phase(name: str, worker: subprocess.Popen[str]) -> str:
    """The worker's next slice (or "done"); its other output goes to stderr."""
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.startswith(PROTOCOL):
            return line[len(PROTOCOL) :].strip()
        sys.stderr.write(f"[{name}] {line}")
    raise RuntimeError(f"the {name} worker exited early (code {worker.wait()})")


# (label, key, field, unit, higher is better, format)
ROWS: list[tuple[str, str, str, str, bool, str]] = [
    ("add, single message", "add_single", "rate", "adds/s", True, "{:.1f}"),
    ("add, single message p50", "add_single", "p50", "ms", False, "{:.1f}"),
    ("add, single message p95", "add_single", "p95", "ms", False, "{:.1f}"),
    ("add, 20-message list", "add_list", "rate", "memories/s", True, "{:.1f}"),
    ("add, 20-message list p50", "add_list", "p50", "ms/call", False, "{:.0f}"),
    ("base load (lists of up to 5)", "load", "rate", "memories/s", True, "{:.1f}"),
    ("search, one user, p50", "search", "p50", "ms", False, "{:.2f}"),
    ("search, one user, p95", "search", "p95", "ms", False, "{:.2f}"),
    ("search, one user, CPU", "search", "cpu", "ms/call", False, "{:.2f}"),
    ("search, user with 20 memories, p50", "search_probe", "p50", "ms", False, "{:.2f}"),
    ("search, metadata + date filter, p50", "search_filtered", "p50", "ms", False, "{:.2f}"),
    ("search, metadata + date filter, p95", "search_filtered", "p95", "ms", False, "{:.2f}"),
    ("get_all, one user (20), p50", "get_all", "p50", "ms", False, "{:.2f}"),
    ("update (new text), p50", "update", "p50", "ms", False, "{:.1f}"),
    ("history, p50", "history", "p50", "ms", False, "{:.2f}"),
    ("delete, p50", "delete", "p50", "ms", False, "{:.1f}"),
    ("batch_update of 1000 (new texts)", "batch_update", "mean", "ms", False, "{:.0f}"),
    ("batch_delete of 1000", "batch_delete", "mean", "ms", False, "{:.0f}"),
    ("peak RSS", "peak_rss_mb", "", "MB", False, "{:.0f}"),
    ("disk after load (N memories)", "disk_loaded_mb", "", "MB", False, "{:.1f}"),
    ("network attempts", "network_attempts", "", "", False, "{:.0f}"),
]


def _value(result: dict[str, Any] | None, key: str, sub: str) -> float | None:
    if result is None or key not in result:
        return None
    value = result[key][sub] if sub else result[key]
    return float(value)


def _table(n: int, runs: dict[str, dict[str, Any]]) -> list[str]:
    mk, m0 = runs.get("memkit"), runs.get("mem0")
    lines = [
        "| metric | unit | memkit | mem0 | memkit/mem0 | better |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, key, sub, unit, higher, fmt in ROWS:
        a, b = _value(mk, key, sub), _value(m0, key, sub)
        ratio = f"{a / b:.2f}×" if a is not None and b else "—"
        lines.append(
            f"| {label} | {unit} | {'—' if a is None else fmt.format(a)} | "
            f"{'—' if b is None else fmt.format(b)} | {ratio} | "
            f"{'higher' if higher else 'lower'} |"
        )
    return lines


def _targets(data: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[bool | None, str]]:
    """(passed, line) per target; None when this run lacks the figures."""
    sizes = sorted(int(n) for n in data)
    lines: list[tuple[bool | None, str]] = []

    def both(n: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
        runs = data[str(n)]
        return (runs["memkit"], runs["mem0"]) if "memkit" in runs and "mem0" in runs else None

    paired = [n for n in sizes if both(n)]
    for n in paired:
        mk, m0 = both(n)  # type: ignore[misc]
        ratio = mk["add_list"]["rate"] / m0["add_list"]["rate"]
        lines.append(
            (
                ratio >= 5,
                f"N={n:,}: 20-message list adds ≥ 5× mem0's memories/s: "
                f"{mk['add_list']['rate']:.0f} vs {m0['add_list']['rate']:.0f} /s = {ratio:.1f}×",
            )
        )
        ratio = mk["add_single"]["rate"] / m0["add_single"]["rate"]
        lines.append(
            (
                ratio >= 1,
                f"N={n:,}: single adds no slower than mem0: {mk['add_single']['rate']:.1f} vs "
                f"{m0['add_single']['rate']:.1f} adds/s = {ratio:.2f}× (p50 "
                f"{mk['add_single']['p50']:.1f} vs {m0['add_single']['p50']:.1f} ms)",
            )
        )
    big = [n for n in paired if n >= 10_000]
    for n in big:
        mk, m0 = both(n)  # type: ignore[misc]
        ratio = mk["search"]["p50"] / m0["search"]["p50"]
        lines.append(
            (
                ratio <= 0.5,
                f"N={n:,}: search p50 ≤ half of mem0's: {mk['search']['p50']:.2f} vs "
                f"{m0['search']['p50']:.2f} ms = {ratio:.2f}×",
            )
        )
    if not big:
        lines.append((None, "search p50 ≤ half of mem0's at 10k: no paired run at N ≥ 10,000"))
    with_mk = [n for n in sizes if "memkit" in data[str(n)]]
    if len(with_mk) >= 2:
        lo, hi = with_mk[0], with_mk[-1]
        a = data[str(lo)]["memkit"]["search_probe"]["p50"]
        b = data[str(hi)]["memkit"]["search_probe"]["p50"]
        peer = ""
        if "mem0" in data[str(lo)] and "mem0" in data[str(hi)]:
            c = data[str(lo)]["mem0"]["search_probe"]["p50"]
            d = data[str(hi)]["mem0"]["search_probe"]["p50"]
            peer = f"; mem0 {c:.2f} → {d:.2f} ms ({d / c:.2f}×)"
        lines.append(
            (
                b / a <= 1.25,
                f"search grows with the user's memories, not the collection (≤ 1.25× for a user "
                f"with 20 memories, N {lo:,} → {hi:,}): memkit {a:.2f} → {b:.2f} ms "
                f"({b / a:.2f}×){peer}",
            )
        )
    for n in with_mk:
        parts = data[str(n)]["memkit"]["search_parts"]
        lines.append(
            (
                parts["own_share"] <= 0.10,
                f"N={n:,}: memkit's own share of a search ≤ 10%: {parts['own_share']:.1%} "
                f"(means: whole {parts['total_mean']:.2f} ms = embed {parts['embed_mean']:.2f} "
                f"+ vector index {parts['index_mean']:.2f} (Chroma {parts['chroma_mean']:.2f}) "
                f"+ record-store reads {parts['store_mean']:.2f} + memkit "
                f"{parts['own_mean']:.2f}); counting the index scan and the store reads as "
                f"memkit's too: {parts['strict_share']:.1%}",
            )
        )
        ms = data[str(n)]["memkit"]["batch_delete"]["mean"]
        lines.append((ms < 1000, f"N={n:,}: batch_delete of 1000 < 1 s: {ms:.0f} ms"))
    big_rss = [n for n in with_mk if n >= 100_000]
    for n in big_rss:
        mb = data[str(n)]["memkit"]["peak_rss_mb"]
        lines.append((mb <= 1024, f"N={n:,}: memkit's peak RSS ≤ 1 GiB: {mb:.0f} MB"))
    if not big_rss:
        lines.append((None, "memkit's peak RSS at 100k ≤ 1 GiB: run `make bench-100k`"))
    return lines


def _plots(data: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted(int(n) for n in data)
    style = {"memkit": ("tab:blue", "o"), "mem0": ("tab:orange", "s")}

    def series(system: str, key: str, sub: str) -> tuple[list[int], list[float]]:
        xs = [n for n in sizes if system in data[str(n)]]
        return xs, [data[str(n)][system][key][sub] for n in xs]

    files = []
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for system, (color, marker) in style.items():
        for key, sub, dash, label in (
            ("search", "p50", "-", "p50, one user"),
            ("search", "p95", ":", "p95, one user"),
            ("search_filtered", "p50", "--", "p50, metadata + date filter"),
        ):
            xs, ys = series(system, key, sub)
            if xs:
                ax.plot(xs, ys, dash, color=color, marker=marker, label=f"{system} {label}")
    ax.set(xscale="log", xlabel="memories in the store (N, 1000 users)", ylabel="ms per search")
    ax.set_ylim(bottom=0)
    ax.set_title("Search latency vs N (top_k=10)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(HERE / "perf_search.png", dpi=110)
    plt.close(fig)
    files.append("perf_search.png")

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for system, (color, marker) in style.items():
        for key, dash, label in (
            ("add_list", "-", "20-message lists (memories/s)"),
            ("add_single", "--", "single messages (adds/s)"),
        ):
            xs, ys = series(system, key, "rate")
            if xs:
                ax.plot(xs, ys, dash, color=color, marker=marker, label=f"{system} {label}")
    ax.set(xscale="log", yscale="log", xlabel="memories in the store (N, 1000 users)")
    ax.set(ylabel="memories written per second")
    ax.set_title("Add throughput vs N (infer=False)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(HERE / "perf_add.png", dpi=110)
    plt.close(fig)
    files.append("perf_add.png")
    return files


def _load_previous() -> dict[str, dict[str, dict[str, Any]]]:
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text()
    start = text.find(DATA_TAG)
    if start < 0:
        return {}
    end = text.find(" -->", start)
    try:
        return json.loads(text[start + len(DATA_TAG) : end])
    except json.JSONDecodeError:
        return {}


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = f"Linux {platform.release()}, Python {platform.python_version()}"
    return f"{cpu}, {os.cpu_count()} cores, {system}"


def render(data: dict[str, dict[str, dict[str, Any]]], command: str) -> str:
    sizes = sorted(int(n) for n in data)
    out = [
        "## Performance: memkit and mem0 side by side",
        "",
        f"Generated by `{command}` (`make bench`; `make bench-100k` adds N = 100,000). "
        "Do not edit by hand: the command rewrites this section and the plots.",
        "",
        f"Machine: {_machine()}. Both systems: all-MiniLM-L6-v2 int8 ONNX, one onnxruntime "
        "thread, chromadb 1.5.9 embedded on the same disk, fully offline (network guard in both "
        "processes); mem0ai 2.2.1 in `benchmarks/.venv-peer`. Each system and N runs in a fresh "
        "process on a fresh store; the machine is shared, so compare ratios within a run.",
        "",
        "![search latency vs N](perf_search.png) ![add throughput vs N](perf_add.png)",
        "",
        "### Targets",
        "",
    ]
    for passed, line in _targets(data):
        mark = "n/a " if passed is None else ("PASS" if passed else "FAIL")
        out.append(f"- **{mark}** {line}")
    for n in sizes:
        runs = data[str(n)]
        any_run = next(iter(runs.values()))
        out += [
            "",
            f"### N = {n:,} memories over {USERS:,} users",
            "",
            f"Measured {any_run['date']}, 1-minute load average {any_run['load_avg']:.2f}.",
            "",
            *_table(n, runs),
        ]
        mk = runs.get("memkit")
        if mk:
            floor = mk["floor"]
            per_memory = 1000 / mk["add_list"]["rate"]
            out += [
                "",
                f"memkit's list add costs {per_memory:.2f} ms per memory; the floor on this "
                f"machine is {floor['embed_ms']:.2f} ms to embed a text in a batch plus "
                f"{floor['chroma_ms']:.2f} ms per vector for one batched Chroma add "
                f"({floor['embed_ms'] + floor['chroma_ms']:.2f} ms).",
            ]
    out += ["", "### Workload", "", WORKLOAD_NOTES, "", PROFILE_PASS]
    blob = json.dumps(data, separators=(",", ":")).replace(">", "\\u003e")
    out += ["", f"{DATA_TAG}{blob} -->"]
    return "\n".join(out)


WORKLOAD_NOTES = f"""\
- Texts: distinct memory-like sentences of about 12 tokens ("My sister is learning sailing
  lessons since last spring."), the same texts, users, metadata and order for both systems.
  Each add carries metadata `{{"topic": one of {len(TOPICS)}, "ts": epoch}}`; memkit also gets
  `timestamp=ts` (mem0's open-source `add` has no timestamp).
- N memories: N − {SINGLE_ADDS + LIST_ADDS * LIST_LEN} loaded first, spread evenly over
  {USERS:,} users (adds of up to {LOAD_CHUNK} messages, `infer=False`), then {SINGLE_ADDS}
  timed single-message adds to random users and {LIST_ADDS} timed adds of {LIST_LEN}-message
  lists, one per probe user (so each probe user has exactly {LIST_LEN} memories at every N).
- search: top_k={TOP_K}, {SEARCHES} queries scoped to a random loaded user (after
  {WARMUP} warm-up calls); "user with 20 memories" queries the probe users. The filtered
  search adds `topic == t` and "created on or after 1 July 2024": memkit
  `{{"AND": [{{"metadata": {{"topic": t}}}}, {{"created_at": {{"gte": "2024-07-01"}}}}]}}`, mem0
  `{{"user_id": u, "topic": t, "ts": {{"gte": epoch}}}}` (mem0 keeps `created_at` as an ISO
  string, which Chroma cannot range-filter).
- get_all: all {LIST_LEN} memories of a probe user (memkit `page_size=100`, mem0 `top_k=100`).
- update: {PROBES} text changes (re-embedded); history of those memories (2 entries each);
  delete: {PROBES} single deletes. batch_update / batch_delete: {BATCH} memories loaded for the
  purpose, updated with new texts (re-embedded), then deleted, in one call each for memkit;
  mem0's open-source `Memory` has no batch calls, so its figure is {BATCH} `update` /
  `delete` calls in a loop.
- Peak RSS is the worker process's maximum resident set (model, Chroma, Python and all);
  disk is the store directory after the load (SQLite + Chroma, WAL included)."""


PROFILE_PASS = """### Profile-driven pass

(pending)"""


def write_results(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmarks\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        _old, tail = rest.split(END, 1)
        text = f"{head}{block}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    RESULTS.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated N values")
    parser.add_argument("--systems", default="memkit,mem0")
    parser.add_argument("--fresh", action="store_true", help="forget earlier sizes' results")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    systems = [s.strip() for s in args.systems.split(",")]
    peer = _peer_python() if "mem0" in systems else None
    data = {} if args.fresh else _load_previous()
    for n in sizes:
        data[str(n)] = _run_pair(n, systems, peer)
    data = dict(sorted(data.items(), key=lambda kv: int(kv[0])))
    command = "python benchmarks/perf.py" + (
        f" --sizes {args.sizes}" if args.sizes != "1000,10000" else ""
    )
    section = render(data, command)
    print(section.rsplit(DATA_TAG, 1)[0])
    if not args.no_write:
        _plots(data)
        write_results(section)
        print(f"wrote {RESULTS} and the plots beside it", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker_main(_memkit_worker)
    else:
        main()
