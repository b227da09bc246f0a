"""Offline `add` latency before and after issue 14, on the golden corpora's messages.

Issue 14 asks that the new offline extractor's add p50 stay within 1.5x of the extractor it
replaced. LoCoMo's per-turn p50 cannot say that: before, 59% of its turns stored nothing
and returned without embedding, so that p50 was the cost of doing nothing (see the locomo
section). The golden corpora are what a user tells an assistant, and both extractors
write memories from most of their messages, so their adds compare like with like.

The baseline is memkit at BASELINE_COMMIT, exported from git into a temporary directory
and imported ahead of the working tree; each side runs in its own process, alternately,
ROUNDS times, so a busy moment of the shared machine slows both alike. Every add of every
script of both corpora (a fresh store per script, the script's config) is timed.

    .venv/bin/python benchmarks/add_latency.py   # writes its section of benchmarks/RESULTS.md
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPORA = (ROOT / "tests/golden/extraction.jsonl", ROOT / "tests/golden/holdout.jsonl")
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- add-latency:start -->", "<!-- add-latency:end -->"
BASELINE_COMMIT = "26ed552"  # the last commit before issue 14's extractor work
ROUNDS = 3
TARGET_RATIO = 1.5


def measure() -> list[float]:
    """Milliseconds of each timed add, with whichever memkit this process imports."""
    from memkit import Memory

    out: list[float] = []
    for corpus in CORPORA:
        for line in corpus.read_text().splitlines():
            script = json.loads(line)
            if "steps" not in script:
                continue  # the version header
            with tempfile.TemporaryDirectory() as home:
                config = {"path": home, **(script.get("config") or {})}
                with Memory.from_config(config) as memory:
                    for step in script["steps"]:
                        if "add" in step:
                            started = time.perf_counter()
                            memory.add(step["add"], user_id="golden")
                            out.append((time.perf_counter() - started) * 1000)
    return out


def _run(pythonpath: str | None) -> list[float]:
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    done = subprocess.run(
        [sys.executable, __file__, "--measure"],
        env=env,
        cwd=tempfile.gettempdir(),  # not the repo: its memkit/ would shadow the baseline
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def _export_baseline(into: Path) -> None:
    archive = subprocess.run(
        ["git", "archive", BASELINE_COMMIT, "memkit"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def main() -> None:
    before: list[float] = []
    after: list[float] = []
    with tempfile.TemporaryDirectory(prefix="memkit-baseline-") as baseline:
        _export_baseline(Path(baseline))
        for i in range(ROUNDS):
            before += _run(baseline)
            after += _run(str(ROOT))
            print(f"round {i + 1}/{ROUNDS} done", flush=True)
    b50, a50 = statistics.median(before), statistics.median(after)
    bmean, amean = statistics.fmean(before), statistics.fmean(after)
    verdict = "PASS" if a50 <= TARGET_RATIO * b50 else "FAIL"
    section = "\n".join(
        [
            START,
            "## Offline add latency before and after issue 14",
            "",
            f"`benchmarks/add_latency.py`: every add of both golden corpora "
            f"({len(after) // ROUNDS} adds), a fresh store per script, memkit at "
            f"{BASELINE_COMMIT} (before) and the working tree (after), each in its own process, "
            f"alternately, {ROUNDS} rounds; {time.strftime('%Y-%m-%d')}.",
            "",
            "| extractor | add p50 ms | add mean ms | add p95 ms |",
            "|---|---:|---:|---:|",
            f"| before ({BASELINE_COMMIT}) | {b50:.2f} | {bmean:.2f} | {_p95(before):.2f} |",
            f"| after | {a50:.2f} | {amean:.2f} | {_p95(after):.2f} |",
            "",
            f"- {verdict}: add p50 {a50:.2f} ms <= {TARGET_RATIO}x before's {b50:.2f} ms "
            f"({a50 / b50:.2f}x); mean {amean / bmean:.2f}x (more facts per message are "
            "embedded and looked up).",
            END,
        ]
    )
    print(section)
    from golden import with_section  # benchmarks/ is this script's directory

    body = section.removeprefix(START + "\n").removesuffix("\n" + END)
    RESULTS.write_text(with_section(RESULTS.read_text(), body, (START, END)))


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


if __name__ == "__main__":
    if "--measure" in sys.argv:
        print(json.dumps(measure()))
    else:
        main()
