"""SIGKILL at random moments (issue 12): an acknowledged write survives, a batch is whole.

A child process (``reliability_kill_child.py``) writes to an embedded store and prints each
write once ``Memory`` returned from it. The parent kills it at a random moment (mostly while
it writes, sometimes while it is still opening and repairing the store), reopens the store
and checks:

- every acknowledged write is there; at most the one call in flight also landed, wholly;
- a ``batch_update`` of 1,000 memories is all or nothing (every text and every history);
- an add of 50 memories and a ``delete_all`` are all or nothing; other users are untouched;
- the index agrees with the record store, every page and id reads, search finds only
  stored memories.

Each store is killed again and again (the damage accumulates), two stores per kind of
write at a time.
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from reliability_support import assert_healthy, open_memory, record_figures

CHILD = Path(__file__).with_name("reliability_kill_child.py")
KILLS = {"add": 36, "batch": 34, "delete_all": 34}  # per mode, over LANES stores
LANES = 2
WINDOW = {"add": 0.3, "batch": 1.0, "delete_all": 0.4}  # seconds of writing before the kill
EARLY = 0.15  # share of kills aimed at start-up (import, open, repair) instead
BATCH, CHUNK, KEEP = 1000, 50, 20


@dataclass
class Lane:
    """What one store must hold, given every acknowledged write so far."""

    mode: str
    path: Path
    rng: random.Random
    added: dict[str, str] = field(default_factory=dict)  # add: id -> text
    batch_text: str | None = None  # batch: the stamp every text carries
    leftover: set[str] = field(default_factory=set)  # delete_all: stamps of user d
    kept: bool = False
    figures: Counter[str] = field(default_factory=Counter)


def run_child(lane: Lane, token: str) -> list[str]:
    """Start the writer, kill it at a random moment, return its complete output lines."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(lane.path), lane.mode, token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if lane.rng.random() < EARLY:
        time.sleep(lane.rng.uniform(0.0, 1.2))
        lane.figures["early"] += 1
    else:
        deadline = time.monotonic() + 60
        while True:
            try:
                if lines.get(timeout=max(0.0, deadline - time.monotonic())) == "READY\n":
                    break
            except queue.Empty:
                child.kill()
                pytest.fail(f"the writer never opened the store: {child.stderr.read()[-3000:]}")
        time.sleep(lane.rng.uniform(0.0, WINDOW[lane.mode]))
    if child.poll() is not None:
        pytest.fail(f"the writer died before its kill: {child.stderr.read()[-3000:]}")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=60)
    reader.join(timeout=60)
    lane.figures["kills"] += 1
    out = []
    while not lines.empty():
        out.append(lines.get())
    # The last line may have been cut by the kill: only whole lines were acknowledged.
    return [line.rstrip("\n") for line in out if line.endswith("\n") and line != "READY\n"]


def stamp_of(text: str) -> str:
    """``fact <stamp> <n>`` -> ``<stamp>``."""
    return text.split(" ")[1]


def check_add(lane: Lane, token: str, lines: list[str], texts: dict[str, str]) -> None:
    acked = {}
    for line in lines:
        kind, memory_id, text = line.split(" ", 2)
        assert kind == "ADD", line
        acked[memory_id] = text
    lane.added.update(acked)
    lost = {i: t for i, t in lane.added.items() if texts.get(i) != t}
    assert not lost, f"acknowledged adds lost or changed: {lost}"
    extra = {i: t for i, t in texts.items() if i not in lane.added}
    assert len(extra) <= 1, f"more than the one add in flight landed: {extra}"
    for memory_id, text in extra.items():
        assert text == f"fact {token} {len(acked)}", (text, token, len(acked))
        lane.added[memory_id] = text


def check_batch(lane: Lane, token: str, lines: list[str], memory) -> None:
    texts = {r.id: r.memory for r in memory.get_all(user_id="b", page_size=BATCH).results}
    popped = any(line.startswith("POP") for line in lines)
    if lane.batch_text is None and not popped:
        assert len(texts) in (0, BATCH), f"half an add of {BATCH}: {len(texts)} memories"
        if not texts:
            return
    assert len(texts) == BATCH, f"{len(texts)} of the {BATCH} memories"
    stamps = Counter(stamp_of(t) for t in texts.values())
    assert len(stamps) == 1, f"a half-applied batch_update: {dict(stamps)}"
    (stamp,) = stamps
    assert sorted(int(t.rsplit(" ", 1)[1]) for t in texts.values()) == list(range(BATCH))
    acked = [line.split(" ")[1] for line in lines if line.startswith("BATCH")]
    if acked:
        allowed = {acked[-1], f"{token}-{len(acked)}"}
    elif popped or lane.batch_text is None:
        allowed = {"pop", f"{token}-0"}
    else:
        allowed = {lane.batch_text, f"{token}-0"}
    assert stamp in allowed, f"texts say {stamp!r}; acknowledged {acked[-1:]}, allowed {allowed}"
    lane.batch_text = stamp
    # History is written in the same transaction: every memory has the same number of updates.
    sample = lane.rng.sample(sorted(texts), 12)
    updates = {len([e for e in memory.history(i) if e.event == "UPDATE"]) for i in sample}
    assert len(updates) == 1, f"histories of one batch disagree: {updates}"


def check_delete_all(lane: Lane, token: str, lines: list[str], memory) -> None:
    if "KEEP" in lines:
        lane.kept = True
    keep = memory.get_all(user_id="keep", page_size=100).count
    assert keep == (KEEP if lane.kept else keep), keep
    assert keep in (0, KEEP), f"half an add: {keep} of user keep's {KEEP} memories"
    lane.kept = lane.kept or keep == KEEP
    texts = [r.memory for r in memory.get_all(user_id="d", page_size=1000).results]
    groups = Counter(stamp_of(t) for t in texts)
    assert all(n == CHUNK for n in groups.values()), f"half an add: {dict(groups)}"
    events = [line.split(" ") for line in lines if line.split(" ")[0] in ("ADDED", "DELETED")]
    deleted = [i for i, (kind, _) in enumerate(events) if kind == "DELETED"]
    # Everything added before the last acknowledged delete_all is gone; only the add in
    # flight after it may have landed.
    allowed = {f"{token}-{len(deleted)}"} if deleted else lane.leftover | {f"{token}-0"}
    assert set(groups) <= allowed, f"user d holds {sorted(groups)}; allowed {sorted(allowed)}"
    if events and events[-1][0] == "ADDED":
        assert events[-1][1] in groups or not groups, "an acknowledged add of 50 is lost"
    lane.leftover = set(groups)


def verify(lane: Lane, token: str, lines: list[str]) -> None:
    memory = open_memory(lane.path)
    try:
        if memory.backend.last_repair.changed:
            lane.figures["repaired_on_open"] += 1
        records = assert_healthy(memory)
        if lane.mode == "add":
            texts = {i: r.memory for i, r in records.items() if r.user_id == "u"}
            check_add(lane, token, lines, texts)
        elif lane.mode == "batch":
            check_batch(lane, token, lines, memory)
        else:
            check_delete_all(lane, token, lines, memory)
        lane.figures["acknowledged_writes"] += len(lines)
    finally:
        memory.close()


def campaign(lane: Lane, kills: int, name: str) -> None:
    for k in range(kills):
        token = f"{name}k{k}"
        lines = run_child(lane, token)
        try:
            verify(lane, token, lines)
        except AssertionError as exc:
            raise AssertionError(f"{lane.mode} store {lane.path}, kill {k}: {exc}") from exc


@pytest.mark.parametrize("mode", sorted(KILLS))
def test_sigkill_during_writes(tmp_path, mode):
    started = time.perf_counter()
    seed = random.randrange(2**32)
    lanes = [Lane(mode, tmp_path / f"store{n}", random.Random(f"{seed}-{n}")) for n in range(LANES)]
    per_lane = -(-KILLS[mode] // LANES)
    with ThreadPoolExecutor(LANES) as pool:
        futures = [pool.submit(campaign, lane, per_lane, f"L{n}") for n, lane in enumerate(lanes)]
        errors = [f.exception() for f in futures]
    total: Counter[str] = Counter()
    for lane in lanes:
        total.update(lane.figures)
    record_figures(
        f"kill.{mode}",
        {**dict(total), "seed": seed, "seconds": round(time.perf_counter() - started, 1)},
    )
    for error in errors:
        if error is not None:
            raise AssertionError(f"seed {seed}") from error
    assert total["kills"] >= KILLS[mode]
