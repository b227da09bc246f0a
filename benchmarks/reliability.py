"""The trust campaign's inputs against Chroma alone and against memkit, side by side.

Each case runs in a child process of its own (a case may kill its process: Chroma
segfaults on some filters), against a fresh store: bare chromadb (PersistentClient, one
collection, what an application writing Chroma directly gets) and memkit (Memory on the
same chromadb, with the test HashEmbedder). A case's outcome is one of

- ``refused``: a typed error before anything was written (memkit: a MemkitError);
- ``stored``: acknowledged, and the store still reads, and reopens with it;
- ``bricked``: acknowledged, then a read or the reopen failed;
- ``error``: an untyped exception escaped (Chroma's own errors count as typed for Chroma);
- ``crash``: the process died (signal) or hung past the timeout.

(A scope of ``"*"`` is not compared: Chroma has no wildcard to misread.)

Then SIGKILLs at random moments of a stream of acknowledged single writes: how many
acknowledged writes each loses, and how many reopens fail.

Writes benchmarks/CHROMA_ALONE.md (the Chroma-alone column of RELIABILITY.md).

    .venv/bin/python benchmarks/reliability.py [--kills N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

HERE = Path(__file__).resolve().parent
OUT = HERE / "CHROMA_ALONE.md"
TIMEOUT = 60

# name -> (what the caller sends, in words)
CASES = {
    "lone_surrogate_text": "a document / message holding a lone surrogate",
    "nul_text": "a document / message holding a NUL character",
    "lone_surrogate_metadata": "a metadata value holding a lone surrogate",
    "huge_timestamp": "a date of 1e12 epoch seconds (year 33658)",
    "many_categories": "10,000 categories (Chroma: 10,000 metadata keys)",
    "deep_filter": "a filter nested 1,000 levels deep",
    "wide_filter": "a filter ORing 10,000 conditions",
}


def chroma_case(name: str, path: str) -> str:
    """Run one case on bare Chroma; returns the outcome word (or the process dies)."""
    import chromadb
    from chromadb.config import Settings
    from chromadb.errors import ChromaError

    settings = Settings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=path, settings=settings)
    col = client.get_or_create_collection("cases", embedding_function=None)
    col.add(ids=["alex-1"], embeddings=[[0.1, 0.2]], documents=["tea"], metadatas=[{"u": "alex"}])
    write = None
    where = None
    if name == "lone_surrogate_text":
        write = {"documents": ["I like \ud800"], "metadatas": [{"u": "bob"}]}
    elif name == "nul_text":
        write = {"documents": ["I like \x00 tea"], "metadatas": [{"u": "bob"}]}
    elif name == "lone_surrogate_metadata":
        write = {"documents": ["x"], "metadatas": [{"u": "\ud800"}]}
    elif name == "huge_timestamp":
        write = {"documents": ["x"], "metadatas": [{"u": "bob", "created_at": 1e12}]}
    elif name == "many_categories":
        write = {"documents": ["x"], "metadatas": [{f"cat:{i}": True for i in range(10_000)}]}
    elif name == "deep_filter":
        where = {"u": {"$eq": "alex"}}
        for i in range(1000):
            where = {"$and": [where, {"u": {"$ne": f"z{i}"}}]}
    elif name == "wide_filter":
        where = {"$or": [{"u": {"$eq": f"u{i}"}} for i in range(10_000)]}
    try:
        if write is not None:
            col.add(ids=["new"], embeddings=[[0.3, 0.4]], **write)
        if where is not None:
            col.get(where=where)
            return "stored"
    except UnicodeError as exc:  # a built-in error from deep inside, not Chroma's own check
        return f"error ({type(exc).__name__})"
    except (ChromaError, ValueError, TypeError) as exc:
        return f"refused ({type(exc).__name__})"
    except Exception as exc:
        return f"error ({type(exc).__name__})"
    try:
        col.get(include=["documents", "metadatas"])
        col.query(query_embeddings=[[0.1, 0.2]], n_results=2)
        del client
        again = chromadb.PersistentClient(path=path, settings=settings)
        again.get_collection("cases").get(include=["documents", "metadatas"])
    except Exception as exc:
        return f"bricked ({type(exc).__name__})"
    return "stored"


def memkit_case(name: str, path: str) -> str:
    from memkit import Memory
    from memkit.errors import MemkitError
    from memkit.testing import HashEmbedder

    memory = Memory(path, embedder=HashEmbedder())
    memory.add("tea", user_id="alex", infer=False)
    try:
        if name == "lone_surrogate_text":
            memory.add("I like \ud800", user_id="bob", infer=False)
        elif name == "nul_text":
            memory.add("I like \x00 tea", user_id="bob", infer=False)
        elif name == "lone_surrogate_metadata":
            memory.add("x", user_id="bob", infer=False, metadata={"u": "\ud800"})
        elif name == "huge_timestamp":
            memory.add("x", user_id="bob", infer=False, timestamp=1e12)
        elif name == "many_categories":
            cats = [f"c{i}" for i in range(10_000)]
            memory.add("x", user_id="bob", infer=False, categories=cats)
        elif name == "deep_filter":
            where: dict = {"user_id": "alex"}
            for _ in range(1000):
                where = {"AND": [where]}
            memory.get_all(filters=where)
        elif name == "wide_filter":
            memory.get_all(filters={"OR": [{"user_id": f"u{i}"} for i in range(10_000)]})
    except MemkitError as exc:
        return f"refused ({type(exc).__name__})"
    except Exception as exc:
        return f"error ({type(exc).__name__})"
    try:
        memory.get_all(user_id="bob")
        memory.search("tea", user_id="bob")
        memory.close()
        again = Memory(path, embedder=HashEmbedder())
        again.get_all(user_id="bob")
        again.close()
    except Exception as exc:
        return f"bricked ({type(exc).__name__})"
    return "stored"


def run_case(system: str, name: str) -> str:
    path = tempfile.mkdtemp(prefix=f"reliability-{system}-")
    code = (
        f"import sys, json; sys.path.insert(0, {str(HERE)!r}); import reliability as r; "
        f"print(json.dumps(r.{system}_case({name!r}, {path!r})))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return "crash (hung)"
    if done.returncode < 0:
        return f"crash ({signal.Signals(-done.returncode).name})"
    if done.returncode != 0:
        return f"error (exit {done.returncode})"
    return str(json.loads(done.stdout.strip().splitlines()[-1]))


# ---- kills --------------------------------------------------------------------------------

WRITER = """
import os, sys
os.environ["ANONYMIZED_TELEMETRY"] = "False"
system, path = sys.argv[1], sys.argv[2]
start = int(sys.argv[3])
if system == "chroma":
    import chromadb
    from chromadb.config import Settings
    client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
    col = client.get_or_create_collection("kills", embedding_function=None)
    def write(i):
        col.add(ids=[f"m{i}"], embeddings=[[float(i % 7), 1.0]], documents=[f"fact {i}"])
else:
    from memkit import Memory
    from memkit.testing import HashEmbedder
    memory = Memory(path, embedder=HashEmbedder())
    def write(i):
        memory.add(f"fact number {i}", user_id="u", infer=False)
print("ready", flush=True)
i = start
while True:
    write(i)
    print(i, flush=True)
    i += 1
"""

READER = """
import os, sys, json
os.environ["ANONYMIZED_TELEMETRY"] = "False"
system, path = sys.argv[1], sys.argv[2]
if system == "chroma":
    import chromadb
    from chromadb.config import Settings
    client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
    col = client.get_or_create_collection("kills", embedding_function=None)
    found = col.get()["ids"]
    col.query(query_embeddings=[[1.0, 1.0]], n_results=1)
    print(json.dumps(sorted(int(x[1:]) for x in found)))
else:
    from memkit import Memory
    from memkit.testing import HashEmbedder
    memory = Memory(path, embedder=HashEmbedder())
    texts, page = [], 1
    while page:
        listed = memory.get_all(user_id="u", page=page, page_size=1000)
        texts += [r.memory for r in listed.results]
        page = listed.next
    indexed = memory.backend.index.stamps()
    assert set(indexed) == set(memory.backend.records.stamps()), "index and records differ"
    memory.search("fact", user_id="u")
    memory.close()
    print(json.dumps(sorted(int(t.rsplit(" ", 1)[1]) for t in texts)))
"""


def kills(system: str, n: int, rng: random.Random) -> dict[str, int]:
    path = tempfile.mkdtemp(prefix=f"reliability-kill-{system}-")
    acknowledged: set[int] = set()
    lost = failed_opens = 0
    next_id = 0
    for _ in range(n):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, system, path, str(next_id)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + rng.uniform(0.05, 0.6)
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            acknowledged.add(int(line))
        child.send_signal(signal.SIGKILL)
        for line in child.stdout:  # acknowledged before the kill landed
            if line.strip():
                acknowledged.add(int(line))
        child.wait()
        next_id = max(acknowledged, default=-1) + 1
        read = subprocess.run(
            [sys.executable, "-c", READER, system, path], capture_output=True, text=True
        )
        if read.returncode != 0:
            failed_opens += 1
            continue
        present = set(json.loads(read.stdout.strip().splitlines()[-1]))
        lost = max(lost, len(acknowledged - present))
    return {
        "kills": n,
        "acknowledged": len(acknowledged),
        "lost": lost,
        "failed_opens": failed_opens,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the table")
    args = parser.parse_args()
    rng = random.Random(12)
    rows = []
    for name, words in CASES.items():
        chroma, memkit = run_case("chroma", name), run_case("memkit", name)
        rows.append((words, chroma, memkit))
        print(f"{name}: chroma={chroma} memkit={memkit}", flush=True)
    killed = {system: kills(system, args.kills, rng) for system in ("chroma", "memkit")}
    print(killed, flush=True)
    lines = [
        "# Chroma alone vs memkit under the trust campaign's inputs",
        "",
        f"Written by `benchmarks/reliability.py` on {time.strftime('%Y-%m-%d')}, "
        f"Python {platform.python_version()}, {platform.machine()}, chromadb 1.5.9.",
        "Each case runs in a fresh store in a child process of its own. `refused`: a typed "
        "error, nothing written; `stored`: acknowledged, read back and reopened; `bricked`: "
        "acknowledged, then a read or the reopen failed; `error`: an untyped built-in "
        "exception escaped; `crash`: the process died.",
        "",
        "| input | Chroma alone | memkit |",
        "|---|---|---|",
        *(f"| {words} | {chroma} | {memkit} |" for words, chroma, memkit in rows),
        "",
        "## SIGKILL during a stream of single acknowledged writes",
        "",
        "A writer process adds one record at a time and prints each id once the call "
        "returned; it is killed at a random moment (50-600 ms in), the store is reopened by "
        "another process and read back, and the writer restarts on the same store.",
        "",
        "| | kills | acknowledged writes | most acknowledged writes missing after a kill | "
        "reopens that failed (memkit: or whose index and records disagreed) |",
        "|---|---|---|---|---|",
        *(
            f"| {system} | {k['kills']} | {k['acknowledged']} | {k['lost']} | {k['failed_opens']} |"
            for system, k in killed.items()
        ),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
