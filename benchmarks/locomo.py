"""Evidence recall of memkit's search on LoCoMo conversations: hybrid (default) vs dense-only.

Every turn of each conversation goes in through the public API, one user per
conversation, as "[session date] Speaker: text" with ``infer=False``, the session date as
``timestamp`` and the turn's ``dia_id`` in metadata. Every question of categories 1-4 is
then asked with ``search(question, user_id=conversation, top_k=k)``. Evidence recall@k is
the share of a question's evidence turns among the top k, averaged over questions; hit@10
the share of questions with at least one evidence turn in the top 10.

The default search and dense-only search (config ``search.mode = "dense"``) are asked
each question at k = 5, 10 and 20, alternately, and their latency is measured on those
calls. The
ablation rows change one ``search`` config entry at a time and read recall@5/10 from the
top 20 of one call (a prefix of it is what a smaller ``top_k`` returns).

    .venv/bin/python benchmarks/locomo.py [path/to/locomo.json]

Writes its section of benchmarks/RESULTS.md (between the locomo markers).
"""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from memkit import Memory

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "locomo-dev.json"
RESULTS = HERE / "RESULTS.md"
START, END = "<!-- locomo:start -->", "<!-- locomo:end -->"
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
KS = (5, 10, 20)

# (name, search config) for the ablation: each row adds one part, then sensitivity.
DENSE = {"mode": "dense"}
ABLATION: list[tuple[str, dict[str, Any]]] = [
    ("dense only (cosine)", DENSE),
    (
        "keywords only (BM25, stemmed)",
        {"keyword_weight": 1.0, "context_weight": 0, "time_weight": 0},
    ),
    ("dense + keywords (fused score)", {"context_weight": 0, "time_weight": 0}),
    ("  + time cues", {"context_weight": 0}),
    ("  + neighbouring context = default", {}),
    ("default, keyword_weight 0.3", {"keyword_weight": 0.3}),
    ("default, keyword_weight 0.7", {"keyword_weight": 0.7}),
    ("default, context_weight 0.15", {"context_weight": 0.15}),
    ("default, context_weight 0.6", {"context_weight": 0.6}),
    ("default, time_weight 0.2", {"time_weight": 0.2}),
]


@dataclass
class Question:
    user: str
    text: str
    category: int
    evidence: set[str]


@dataclass
class Scores:
    recall: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    hit10: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    latency_ms: list[float] = field(default_factory=list)

    def add(self, question: Question, k: int, found: Sequence[set[str]]) -> None:
        got = set().union(*found[:k]) if found else set()
        share = len(question.evidence & got) / len(question.evidence)
        for key in ("all", CATEGORIES[question.category]):
            self.recall[(key, k)].append(share)
            if k == 10:
                self.hit10[key].append(float(bool(question.evidence & got)))

    def r(self, key: str, k: int) -> float:
        return statistics.fmean(self.recall[(key, k)])

    def hit(self, key: str) -> float:
        return statistics.fmean(self.hit10[key])

    def p(self, q: float) -> float:
        ordered = sorted(self.latency_ms)
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def session_time(text: str) -> str:
    """ "1:56 pm on 8 May, 2023" -> ISO 8601 (UTC)."""
    moment = datetime.strptime(text.strip(), "%I:%M %p on %d %B, %Y")
    return moment.replace(tzinfo=UTC).isoformat()


def normalise_evidence(ids: Sequence[str]) -> Iterator[str]:
    """'D8:6; D9:17' -> D8:6, D9:17; 'D:11:26' -> D11:26; 'D30:05' -> D30:5."""
    for item in ids:
        for part in re.split(r"[;,\s]+", item):
            match = re.fullmatch(r"D:?(\d+):0*(\d+)", part.strip())
            if match:
                yield f"D{int(match.group(1))}:{int(match.group(2))}"


def sessions(conversation: dict[str, Any]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    n = 1
    while f"session_{n}" in conversation:
        yield conversation[f"session_{n}_date_time"], conversation[f"session_{n}"]
        n += 1


def load(memory: Memory, data: list[dict[str, Any]]) -> tuple[list[Question], dict[str, set[str]]]:
    """Store every turn; return the questions and memory id -> dia_ids it holds."""
    dia_of: dict[str, set[str]] = defaultdict(set)
    questions: list[Question] = []
    for sample in data:
        user, conversation = sample["sample_id"], sample["conversation"]
        known: set[str] = set()
        for date, turns in sessions(conversation):
            stamp = session_time(date)
            for turn in turns:
                text = f"[{date}] {turn['speaker']}: {turn['text']}"
                result = memory.add(
                    text,
                    user_id=user,
                    infer=False,
                    timestamp=stamp,
                    metadata={"dia_id": turn["dia_id"]},
                )
                for event in result.results:  # a repeated turn is one memory (NONE)
                    dia_of[event.id].add(turn["dia_id"])
                known.add(turn["dia_id"])
        for qa in sample["qa"]:
            if qa["category"] not in CATEGORIES:
                continue
            evidence = {e for e in normalise_evidence(qa.get("evidence", [])) if e in known}
            if evidence:
                questions.append(Question(user, qa["question"], qa["category"], evidence))
    return questions, dia_of


def run(
    memories: Sequence[Memory], questions: list[Question], dia_of: dict[str, set[str]], per_k: bool
) -> list[Scores]:
    """Every question to each memory in turn (so a busy moment of the machine slows all
    alike), at each k when ``per_k``, else once at the largest k."""
    scores = [Scores() for _ in memories]
    for question in questions[:20]:  # warm-up: model, SQLite and Chroma caches
        for memory in memories:
            memory.search(question.text, user_id=question.user, top_k=10)
    for question in questions:
        for k in KS if per_k else (max(KS),):
            for memory, score in zip(memories, scores, strict=True):
                started = time.perf_counter()
                hits = memory.search(question.text, user_id=question.user, top_k=k).results
                elapsed = (time.perf_counter() - started) * 1000
                if per_k:
                    score.latency_ms.append(elapsed)
                found = [dia_of[h.id] for h in hits]
                for kk in (k,) if per_k else KS:
                    score.add(question, kk, found)
    return scores


def report(
    default: Scores,
    dense: Scores,
    ablation: list[tuple[str, Scores]],
    questions: list[Question],
    memories: int,
    seconds: float,
) -> str:
    count = {name: sum(1 for q in questions if q.category == c) for c, name in CATEGORIES.items()}
    lines = [
        START,
        "## LoCoMo evidence recall: hybrid search (default) vs dense-only",
        "",
        f"`benchmarks/locomo.py`, {len(questions)} questions (categories 1-4) over "
        f"{memories} memories in {len({q.user for q in questions})} conversations, one user "
        f'each; every turn stored as "[session date] Speaker: text" through `add(infer=False)`. '
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}; whole run {seconds:.0f} s.",
        "",
        "| search | R@5 | R@10 | R@20 | hit@10 | p50 ms | p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in (("memkit default (hybrid)", default), ("dense only", dense)):
        lines.append(
            f"| {name} | {s.r('all', 5):.3f} | {s.r('all', 10):.3f} | {s.r('all', 20):.3f} "
            f"| {s.hit('all'):.3f} | {s.p(0.5):.1f} | {s.p(0.95):.1f} |"
        )
    lines += [
        "",
        "Latency: wall time of one `Memory.search` call (query embedding included), over "
        "every question at top_k 5, 10 and 20, the two searches taking turns on the same store. "
        "Per category (default / dense only):",
        "",
        "| category | questions | R@5 | R@10 | R@20 | hit@10 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in CATEGORIES.values():
        cells = [f"{default.r(name, k):.3f} / {dense.r(name, k):.3f}" for k in KS] + [
            f"{default.hit(name):.3f} / {dense.hit(name):.3f}"
        ]
        lines.append(f"| {name} | {count[name]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Ablation: each row one `search` config (one call per question at top_k 20; "
        "R@5 and R@10 from its prefix). The last rows move one weight of the default to "
        "show how sensitive the result is to it.",
        "",
        "| search config | R@5 | R@10 | R@20 | " + " | ".join(CATEGORIES.values()) + " R@10 |",
        "|---|---:|---:|---:|" + "---:|" * len(CATEGORIES),
    ]
    for name, s in ablation:
        per_category = " | ".join(f"{s.r(c, 10):.3f}" for c in CATEGORIES.values())
        lines.append(
            f"| {name} | {s.r('all', 5):.3f} | {s.r('all', 10):.3f} | {s.r('all', 20):.3f} "
            f"| {per_category} |"
        )
    lines.append(END)
    return "\n".join(lines)


def write_section(section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main(path: Path) -> None:
    data = json.loads(path.read_text())
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="memkit-locomo-") as home:
        with Memory(path=home) as memory:
            questions, dia_of = load(memory, data)
            memories = sum(e.total_memories for e in memory.users().results if e.type == "user")
            print(f"loaded {memories} memories, {len(questions)} questions", flush=True)
            with Memory.from_config({"path": home, "search": DENSE}) as dense_memory:
                default, dense = run([memory, dense_memory], questions, dia_of, per_k=True)
        ablation = []
        for name, config in ABLATION:
            with Memory.from_config({"path": home, "search": config}) as memory:
                (scores,) = run([memory], questions, dia_of, per_k=False)
            print(f"{name}: R@10 {scores.r('all', 10):.3f}", flush=True)
            ablation.append((name, scores))
    section = report(default, dense, ablation, questions, memories, time.perf_counter() - started)
    print(section)
    write_section(section)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA)
