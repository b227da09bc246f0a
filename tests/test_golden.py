"""The offline extractor against the labelled golden corpus, and the scorer's own rules.

The corpus (tests/golden/extraction.jsonl) runs once per module through
benchmarks/golden.py; every floor recorded in tests/golden/scores.json must hold. The
scorer itself is checked on tiny corpora driven through a scripted fake memory.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCORES = ROOT / "tests" / "golden" / "scores.json"


def _load_golden() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "memkit_golden", ROOT / "benchmarks" / "golden.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


golden = _load_golden()


# ---- the corpus against today's extractor ----------------------------------------------------


@pytest.fixture(scope="module")
def scores() -> Any:
    return golden.score()


def test_corpus_is_the_recorded_version_and_size() -> None:
    recorded = json.loads(SCORES.read_text())
    assert recorded["corpus_version"] == golden.CORPUS_VERSION
    scripts = golden.load_corpus()
    messages = sum(
        1 if isinstance(step.add, str) else sum(m["role"] == "user" for m in step.add)
        for script in scripts
        for step in script.steps
        if step.add is not None
    )
    assert len(scripts) >= 60
    assert messages >= 320


def test_every_recorded_floor_holds(scores: Any) -> None:
    below = golden.drops(scores.metrics(), SCORES)
    assert not below, (
        "golden scores below their floors in tests/golden/scores.json "
        "(benchmarks/golden.py --verbose shows each mismatch):\n  " + "\n  ".join(below)
    )


def test_no_wrong_deletes(scores: Any) -> None:
    assert scores.wrong_deletes == []


def test_no_memory_overwritten_that_nothing_said_to_change(scores: Any) -> None:
    assert scores.wrong_updates == []


@pytest.fixture(scope="module")
def held_out() -> Any:
    return golden.score(golden.HOLDOUT)


def test_held_out_corpus_loses_nothing_either(held_out: Any) -> None:
    """Data loss is a zero target on text the rules were not written from, too: no delete
    and no overwrite of a memory the messages did not name."""
    assert held_out.wrong_deletes == []
    assert held_out.wrong_updates == []


def test_no_contradictions_left(scores: Any) -> None:
    assert scores.contradictions_left == []


# ---- the scorer, on a scripted fake memory ---------------------------------------------------

Reply = tuple[str, str, str]  # (event, memory id, text); DELETE's text is ignored


class FakeMemory:
    """Answers each add with the events scripted for its last message; keeps a store."""

    def __init__(self, replies: dict[str, Sequence[Reply]], categories: dict[str, list[str]]):
        self.replies, self.categories = replies, categories
        self.store: dict[str, str] = {}
        self.updates: list[tuple[str, str]] = []

    def add(self, messages: Any, *, user_id: str) -> Any:
        said = messages if isinstance(messages, str) else messages[-1]["content"]
        results = []
        for event, memory_id, text in self.replies.get(said, ()):
            if event == "DELETE":
                text = self.store.pop(memory_id)
            elif event in ("ADD", "UPDATE"):
                self.store[memory_id] = text
            results.append(SimpleNamespace(id=memory_id, memory=text, event=event))
        return SimpleNamespace(results=results)

    def get_all(self, *, user_id: str, page: int = 1, page_size: int = 100) -> Any:
        return SimpleNamespace(
            results=[
                SimpleNamespace(id=i, memory=t, categories=self.categories.get(t, []))
                for i, t in self.store.items()
            ],
            next=None,
        )

    def update(self, memory_id: str, text: str) -> None:
        if memory_id not in self.store:
            raise LookupError(memory_id)
        self.updates.append((memory_id, text))
        self.store[memory_id] = text

    def close(self) -> None:
        pass


def _run(
    tmp_path: Path,
    scripts: list[dict[str, Any]],
    replies: dict[str, Sequence[Reply]],
    categories: dict[str, list[str]] | None = None,
) -> tuple[Any, list[FakeMemory]]:
    corpus = tmp_path / "corpus.jsonl"
    lines = [{"version": 1}, *scripts]
    corpus.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    made: list[FakeMemory] = []

    def factory(config: dict[str, Any]) -> FakeMemory:
        assert Path(config["path"]).is_dir()  # a fresh temporary directory per script
        made.append(FakeMemory(replies, categories or {}))
        return made[-1]

    return golden.score(corpus, memory_factory=factory), made


def _add(said: str, *expect: dict[str, Any]) -> dict[str, Any]:
    return {"add": said, "expect": list(expect)}


def _locker() -> dict[str, Any]:
    """A change-of-mind script: an ADD, then the UPDATE that replaces its value."""
    return {
        "id": "locker",
        "tags": ["update", "change-of-mind"],
        "steps": [
            _add(
                "my locker code is 4821",
                {"event": "ADD", "text": "Locker code is 4821", "ref": "c"},
            ),
            _add(
                "my locker code is 9307",
                {"event": "UPDATE", "text": "Locker code is 9307", "target": "c"},
            ),
        ],
        "final": ["Locker code is 9307"],
        "absent": ["Locker code is 4821"],
    }


def test_right_operations_are_true_positives(tmp_path: Path) -> None:
    replies = {
        "my locker code is 4821": [("ADD", "m1", "Locker code is 4821")],
        "my locker code is 9307": [("UPDATE", "m1", "Locker code is 9307.")],
    }
    scores, _ = _run(tmp_path, [_locker()], replies)
    assert (scores.events["ADD"].tp, scores.events["UPDATE"].tp) == (1, 1)
    assert (scores.overall.fp, scores.overall.fn) == (0, 0)
    metrics = scores.metrics()
    assert metrics["overall.f1"] == 1.0
    assert metrics["text.exact_rate"] == 1.0  # punctuation aside
    assert metrics["tag.change-of-mind.f1"] == 1.0
    assert scores.contradictions_left == [] and scores.final_missing == []
    assert scores.mismatches == []


def test_an_add_instead_of_an_update_leaves_a_contradiction(tmp_path: Path) -> None:
    replies = {
        "my locker code is 4821": [("ADD", "m1", "Locker code is 4821")],
        "my locker code is 9307": [("ADD", "m2", "Locker code is 9307")],
    }
    scores, _ = _run(tmp_path, [_locker()], replies)
    assert (scores.events["UPDATE"].fn, scores.events["ADD"].fp) == (1, 1)
    assert [(p.script, p.text) for p in scores.contradictions_left] == [
        ("locker", "Locker code is 4821")
    ]
    assert scores.final_missing == []
    report = "\n".join(scores.mismatches)
    assert 'missing UPDATE →c "Locker code is 9307"' in report
    assert 'extra   ADD    "Locker code is 9307"' in report


def test_a_wrong_target_is_a_false_positive_and_a_false_negative(tmp_path: Path) -> None:
    script = {
        "id": "two-codes",
        "tags": ["distinct"],
        "steps": [
            _add(
                "gym code 3141", {"event": "ADD", "text": "Gym locker code is 3141", "ref": "gym"}
            ),
            _add("wifi sun42", {"event": "ADD", "text": "Wifi password is sun42", "ref": "wifi"}),
            _add(
                "gym code 2718",
                {"event": "UPDATE", "text": "Gym locker code is 2718", "target": "gym"},
            ),
        ],
    }
    replies = {
        "gym code 3141": [("ADD", "g", "Gym locker code is 3141")],
        "wifi sun42": [("ADD", "w", "Wifi password is sun42")],
        "gym code 2718": [("UPDATE", "w", "Gym locker code is 2718")],
    }
    scores, _ = _run(tmp_path, [script], replies)
    update = scores.events["UPDATE"]
    assert (update.tp, update.fp, update.fn) == (0, 1, 1)
    assert scores.per_tag["distinct"].tp == 2


def test_a_delete_of_an_unnamed_memory_is_a_wrong_delete(tmp_path: Path) -> None:
    script = {
        "id": "food-delete",
        "tags": ["delete"],
        "steps": [
            _add("I love pizza", {"event": "ADD", "text": "Loves pizza", "ref": "pizza"}),
            _add("I play tennis", {"event": "ADD", "text": "Plays tennis", "ref": "tennis"}),
            _add("Delete all of my food preferences", {"event": "DELETE", "target": "pizza"}),
            _add("How are you?"),
        ],
        "final": ["Plays tennis"],
        "absent": ["Loves pizza"],
    }
    replies = {
        "I love pizza": [("ADD", "p", "Loves pizza")],
        "I play tennis": [("ADD", "t", "Plays tennis")],
        "Delete all of my food preferences": [("DELETE", "p", ""), ("DELETE", "t", "")],
    }
    scores, _ = _run(tmp_path, [script], replies)
    delete = scores.events["DELETE"]
    assert (delete.tp, delete.fp, delete.fn) == (1, 1, 0)
    assert [(p.script, p.step, p.text) for p in scores.wrong_deletes] == [
        ("food-delete", 3, "Plays tennis")
    ]
    assert [p.text for p in scores.final_missing] == ["Plays tennis"]
    assert scores.contradictions_left == [] and scores.absent_left == []
    assert scores.metrics()["quiet.rate"] == 1.0
    assert "WRONG DELETE →tennis" in "\n".join(scores.mismatches)


def test_an_unmatched_add_binds_its_ref_to_the_nearest_add(tmp_path: Path) -> None:
    script = {
        "id": "pilot",
        "tags": [],
        "steps": [
            _add("I fly planes", {"event": "ADD", "text": "Works as a pilot", "ref": "job"}),
            {"update": {"target": "job", "text": "Works as a baker"}},
            _add("I'm a chef now", {"event": "UPDATE", "text": "Works as a chef", "target": "job"}),
        ],
    }
    replies = {
        "I fly planes": [("ADD", "x", "Likes cheese"), ("ADD", "j", "Flies planes as a pilot")],
        "I'm a chef now": [("UPDATE", "j", "Works as a chef")],
    }
    scores, made = _run(tmp_path, [script], replies)
    assert (scores.events["ADD"].tp, scores.events["ADD"].fp) == (0, 2)
    assert scores.events["UPDATE"].tp == 1  # the ref followed the pilot fact
    assert made[0].updates == [("j", "Works as a baker")]


def test_categories_are_compared_as_sets(tmp_path: Path) -> None:
    script = {
        "id": "cats",
        "tags": ["custom-categories"],
        "config": {"categories": {"pets": "", "cars": ""}},
        "steps": [
            _add("dog", {"event": "ADD", "text": "Has a dog", "categories": ["pets"]}),
            _add("car", {"event": "ADD", "text": "Drives a Volvo", "categories": ["cars"]}),
        ],
    }
    replies = {"dog": [("ADD", "d", "Has a dog")], "car": [("ADD", "c", "Drives a Volvo")]}
    categories = {"Has a dog": ["pets"], "Drives a Volvo": ["pets", "cars"]}
    scores, _ = _run(tmp_path, [script], replies, categories)
    assert (scores.categories_right, scores.categories_checked) == (1, 2)


def test_text_matching_rules() -> None:
    f1 = golden.text_f1
    assert f1("Visits sister every summer", "Visits her every summer") >= golden.TEXT_MATCH
    assert f1("Works as a pilot", "works as a pilot!") == 1.0
    assert f1("Locker code is 4821", "Locker code is 9307") == 0.0  # a value differs
    assert f1("Likes thing0_5", "Likes thing1_5") == 0.0
    assert f1("Likes cats", "Doesn't like cats") == 0.0  # the polarity differs
    assert f1("Does not drink coffee", "Doesn't drink coffee") == 1.0
    assert f1("Lives in Paris", "Lives in Berlin") < golden.TEXT_MATCH


def test_malformed_scripts_are_named(tmp_path: Path) -> None:
    corpus = tmp_path / "bad.jsonl"
    bad = {"id": "bad-ref", "steps": [_add("x", {"event": "DELETE", "target": "nope"})]}
    corpus.write_text(json.dumps({"version": 1}) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(ValueError, match=r"bad-ref.*'nope'"):
        golden.load_corpus(corpus)
    corpus.write_text(json.dumps({"version": 2}) + "\n")
    with pytest.raises(ValueError, match="version 2"):
        golden.load_corpus(corpus)


def test_floors_round_down_and_drops_name_the_metric(tmp_path: Path) -> None:
    assert golden.floors({"a": 0.66669, "b": 1.0, "c": 0.57, "d": 0.1 + 0.2}) == {
        "a": 0.666,
        "b": 1.0,
        "c": 0.57,
        "d": 0.3,
    }
    path = tmp_path / "scores.json"
    golden.record({"overall.f1": 0.8125, "gone.f1": 0.5}, path)
    assert golden.drops({"overall.f1": 0.81, "gone.f1": 0.5}, path) == [
        "overall.f1: 0.8100 < floor 0.812"
    ]
    assert golden.drops({"overall.f1": 0.9}, path) == ["gone.f1: gone"]


def test_results_section_is_replaced_or_appended() -> None:
    start, end = golden.START, golden.END
    doc = f"# Results\n\n{start}\nOLD BODY\n{end}\n\n<!-- perf:start -->\nperf\n<!-- perf:end -->\n"
    new = golden.with_section(doc, "new\n")
    assert new == doc.replace("OLD BODY", "new")
    appended = golden.with_section("# Results\n", "new")
    assert appended == f"# Results\n\n{start}\nnew\n{end}\n"
