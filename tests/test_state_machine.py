"""A stateful model of the store (issue 12): any sequence of writes, closes and reopens.

Hypothesis drives add(infer=False) / update / delete / batch_update / batch_delete /
delete_all / close + reopen against a plain in-memory model. After every step:

- ``get_all`` of each user equals the model's memories of that user (ids, text, metadata);
- ``search`` scoped to a user, by keyword or by filter, finds only that user's memories;
- ``{"user_id": "*"}`` finds every memory with a user; ``{"user_id": {"eq": "*"}}`` only the
  memories of the user literally named ``*``;
- the history of every memory the step touched is the model's, oldest first;
- the index and the record store agree (and still do after a reopen).

User ids include ``"*"`` and ids that differ only by case or whitespace: a scope id is an
identity, so each is its own user.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from reliability_support import index_disagreement, open_memory, record_figures

from memkit.errors import MemoryNotFoundError

USERS = ["alex", "Alex", "ALEX", "alex ", " alex", "alex\t", "*", "a*", "%", "_"]
WORDS = ["tea", "Tea", "chess", "cat", "tea  ", "*", "%"]
METADATA = [None, {"k": 1}, {"k": "*"}]

users = st.sampled_from(USERS)
texts = st.sampled_from(WORDS).map(lambda w: f"fact {w}")
metadata = st.sampled_from(METADATA)

STEPS = {"steps": 0, "runs": 0, "reopens": 0, "started": 0.0}


class Model:
    """What the store should hold: live memories and the history of every memory ever.

    Rules pick memories from ``live`` in insertion order, never sorted by id: ids are random
    UUIDs, so a sorted order differs between runs of the same steps, and hypothesis replaying
    a case would pick other memories (FlakyStrategyDefinition).
    """

    def __init__(self) -> None:
        self.live: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[tuple[str, str | None, str | None]]] = {}

    def of(self, user: str) -> dict[str, dict[str, Any]]:
        return {i: m for i, m in self.live.items() if m["user_id"] == user}


class StoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="memkit-sm-"))
        self.memory = open_memory(self.root)
        self.model = Model()
        self.touched: set[str] = set()
        STEPS["runs"] += 1

    def teardown(self) -> None:
        self.memory.close()
        shutil.rmtree(self.root, ignore_errors=True)

    @initialize(user=users)
    def start(self, user: str) -> None:
        self.add(user, ["fact seed"], None)

    # ---- writes ------------------------------------------------------------------------

    @rule(user=users, batch=st.lists(texts, min_size=1, max_size=3), meta=metadata)
    def add(self, user: str, batch: list[str], meta: dict[str, Any] | None) -> None:
        result = self.memory.add(batch, user_id=user, metadata=meta, infer=False)
        wanted = dict(meta or {})
        expected: list[tuple[str, str]] = []
        known: dict[str, set[str]] = {}
        for memory_id, m in self.model.of(user).items():
            if m["metadata"] == wanted:
                known.setdefault(m["memory"], set()).add(memory_id)
        for text in dict.fromkeys(t.strip() for t in batch):
            expected.append(("NONE" if text in known else "ADD", text))
        got = sorted((e.event, e.memory) for e in result.results)
        assert got == sorted(expected), (got, expected)
        for event in result.results:
            if event.event == "ADD":
                assert event.id not in self.model.history
                self.model.live[event.id] = {
                    "memory": event.memory,
                    "user_id": user,
                    "metadata": wanted,
                }
                self.model.history[event.id] = [("ADD", None, event.memory)]
            else:
                assert event.id in known[event.memory]
            self.touched.add(event.id)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), text=st.one_of(st.none(), texts), meta=metadata)
    def update(self, data: st.DataObject, text: str | None, meta: dict[str, Any] | None) -> None:
        memory_id = data.draw(st.sampled_from(list(self.model.live)))
        if text is None and meta is None:
            meta = {"k": 2}
        record = self.memory.update(memory_id, text=text, metadata=meta)
        self._apply_update(memory_id, text, meta)
        assert record.memory == self.model.live[memory_id]["memory"]

    def _apply_update(self, memory_id: str, text: str | None, meta: dict[str, Any] | None) -> None:
        live = self.model.live[memory_id]
        old = live["memory"]
        if text is not None:
            live["memory"] = text.strip()
        if meta is not None:
            live["metadata"] = dict(meta)
        self.model.history[memory_id].append(("UPDATE", old, live["memory"]))
        self.touched.add(memory_id)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        memory_id = data.draw(st.sampled_from(list(self.model.live)))
        assert self.memory.delete(memory_id).count == 1
        self._apply_delete(memory_id)

    def _apply_delete(self, memory_id: str) -> None:
        live = self.model.live.pop(memory_id)
        self.model.history[memory_id].append(("DELETE", live["memory"], None))
        self.touched.add(memory_id)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data(), text=texts, meta=metadata, everything=st.booleans())
    def batch_update(
        self, data: st.DataObject, text: str, meta: dict[str, Any] | None, everything: bool
    ) -> None:
        ids = list(self.model.live)
        if not everything:
            ids = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=5, unique=True))
        items = [{"memory_id": i, "text": f"{text} {n % 3}"} for n, i in enumerate(ids)]
        if meta is not None:
            for item in items:
                item["metadata"] = meta
        assert self.memory.batch_update(items).count == len(items)
        for item in items:
            self._apply_update(item["memory_id"], item["text"], meta)

    @precondition(lambda self: self.model.live)
    @rule(data=st.data())
    def batch_delete(self, data: st.DataObject) -> None:
        ids = data.draw(
            st.lists(st.sampled_from(list(self.model.live)), min_size=1, max_size=5, unique=True)
        )
        assert self.memory.batch_delete([{"memory_id": i} for i in ids]).count == len(ids)
        for memory_id in ids:
            self._apply_delete(memory_id)

    @rule(user=users)
    def delete_all(self, user: str) -> None:
        doomed = sorted(self.model.of(user))
        assert self.memory.delete_all(user_id=user).count == len(doomed)
        for memory_id in doomed:
            self._apply_delete(memory_id)

    @rule(data=st.data())
    def refused_batch(self, data: st.DataObject) -> None:
        """A batch naming one unknown id changes nothing, whatever else it names."""
        ids = [*list(self.model.live)[:3], "00000000-0000-4000-8000-000000000000"]
        with pytest.raises(MemoryNotFoundError):
            self.memory.batch_update([{"memory_id": i, "text": "fact never"} for i in ids])
        with pytest.raises(MemoryNotFoundError):
            self.memory.batch_delete([{"memory_id": i} for i in ids])

    @rule()
    def reopen(self) -> None:
        self.memory.close()
        self.memory = open_memory(self.root)
        STEPS["reopens"] += 1
        self.touched.update(self.model.history)  # check every history after a reopen

    # ---- invariants --------------------------------------------------------------------

    @invariant()
    def store_equals_model(self) -> None:
        STEPS["steps"] += 1
        everything = self.memory.get_all(page_size=1000)
        assert everything.count == len(self.model.live)
        assert {r.id for r in everything.results} == set(self.model.live)
        for user in USERS:
            expected = self.model.of(user)
            page = self.memory.get_all(user_id=user, page_size=1000)
            got = {
                r.id: {"memory": r.memory, "user_id": r.user_id, "metadata": r.metadata}
                for r in page.results
            }
            assert got == expected, user
            by_filter = self.memory.get_all(filters={"user_id": {"eq": user}}, page_size=1000)
            assert {r.id for r in by_filter.results} == set(expected), user
            for query in ("fact", "tea"):
                hits = self.memory.search(query, user_id=user, top_k=100).results
                assert {h.id for h in hits} <= set(expected), (user, query)
                if query == "fact":
                    assert {h.id for h in hits} == set(expected), user
            literal = {"user_id": {"eq": user}}  # a bare "*" in a filter is the wildcard
            hits = self.memory.search("tea", filters=literal, top_k=100).results
            assert {h.id for h in hits} <= set(expected), user
        starred = self.memory.get_all(filters={"user_id": "*"}, page_size=1000)
        assert {r.id for r in starred.results} == set(self.model.live)

    @invariant()
    def histories_agree(self) -> None:
        for memory_id in sorted(self.touched):
            entries = self.memory.history(memory_id)
            got = [(e.event, e.old_memory, e.new_memory) for e in entries]
            assert got == self.model.history[memory_id], memory_id
            stamps = [e.created_at for e in entries]
            assert stamps == sorted(stamps)
            if memory_id in self.model.live:
                assert self.memory.get(memory_id).memory == self.model.live[memory_id]["memory"]
            else:
                with pytest.raises(MemoryNotFoundError):
                    self.memory.get(memory_id)
        self.touched.clear()

    @invariant()
    def index_agrees(self) -> None:
        problems = index_disagreement(self.memory)
        assert not any(problems.values()), problems


StoreMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_store_state_machine():
    started = time.perf_counter()
    before = dict(STEPS)
    StoreMachine.TestCase("runTest").runTest()
    record_figures(
        "state_machine",
        {
            "runs": STEPS["runs"] - before["runs"],
            "steps": STEPS["steps"] - before["steps"],
            "reopens": STEPS["reopens"] - before["reopens"],
            "seconds": round(time.perf_counter() - started, 1),
        },
    )
