"""A record the index refuses is quarantined, never a store that no longer opens; check()."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from chromadb.api.models.Collection import Collection
from chromadb.errors import InvalidArgumentError
from test_server_mode import server_memory

from memkit import AsyncMemory, Memory
from memkit.errors import VectorStoreError
from memkit.models import StoreHealth
from memkit.store._index import generation_dir
from memkit.testing import HashEmbedder, corrupt_index

EVERYONE = {"NOT": [{"user_id": "nobody"}]}  # a whole-store filter: Chroma answers it
MARK = "REFUSED"


class Refusal:
    """Chroma refuses every record whose text holds MARK, as it refuses a record it cannot
    hold (InvalidArgumentError, or ``error``), while it takes all others."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, error: type[Exception] | None = None
    ) -> None:
        self._monkeypatch = monkeypatch
        kind = error or InvalidArgumentError
        self.refused: list[str] = []
        real = Collection.upsert

        def upsert(collection: Collection, ids: Any, **kwargs: Any) -> Any:
            bad = [
                i
                for i, text in zip(ids, kwargs.get("documents") or [], strict=True)
                if MARK in text
            ]
            if bad:
                self.refused.extend(bad)
                raise kind(f"cannot index records {bad}")
            return real(collection, ids=ids, **kwargs)

        monkeypatch.setattr(Collection, "upsert", upsert)

    def remove(self) -> None:
        self._monkeypatch.undo()


@pytest.fixture
def refusal(monkeypatch) -> Refusal:
    return Refusal(monkeypatch)


def embedded(tmp_path: Path) -> Memory:
    return Memory(path=str(tmp_path), embedder=HashEmbedder())


@pytest.fixture(params=["embedded", "server"])
def opener(request, tmp_path) -> Iterator[Callable[[], Memory]]:
    """Opens one store again and again: embedded (index writes in the background) or on a
    Chroma server (index writes before each call returns)."""
    if request.param == "embedded":
        yield lambda: embedded(tmp_path)
    else:
        _, port = request.getfixturevalue("chroma_server")
        collection = f"health-{uuid.uuid4().hex[:12]}"
        yield lambda: server_memory(tmp_path, port, collection)


def indexed_ids(memory: Memory) -> set[str]:
    return set(memory.backend.index.stamps())


def test_a_refused_record_is_quarantined_and_everything_else_keeps_working(opener, refusal):
    memory = opener()
    cat = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
    bad = memory.add(f"{MARK} keeps a secret poison", user_id="u", infer=False).results[0].id
    chess = memory.add("Plays chess", user_id="v", infer=False).results[0].id

    # Reads of the index and later writes work; the refused memory is whole in the records.
    assert {m.id for m in memory.get_all(filters=EVERYONE).results} == {cat, chess}
    assert memory.search("chess", filters=EVERYONE).results[0].id == chess
    assert memory.get(bad).memory == f"{MARK} keeps a secret poison"
    if memory.backend.index.embedded:  # one small scope is read from the record store
        assert {m.id for m in memory.get_all(user_id="u").results} == {cat, bad}
    fish = memory.add("Owns a fish", user_id="v", infer=False).results[0].id
    assert indexed_ids(memory) == {cat, chess, fish}

    health = memory.check(repair=False)
    assert isinstance(health, StoreHealth)
    assert [q.id for q in health.quarantined] == [bad]
    assert "cannot index records" in health.quarantined[0].error
    assert (health.records, health.indexed, health.journal_pending) == (4, 3, 0)
    assert not health.healthy
    memory.close()  # nothing left to fail on

    memory = opener()  # the fault is still there: the store opens, the memory stays out
    assert memory.check().quarantined[0].id == bad
    assert memory.search("chess", filters=EVERYONE).results[0].id == chess

    refusal.remove()  # the fix: Chroma takes the record now
    health = memory.check()
    assert health.repaired.released == 1
    assert health.quarantined == [] and health.healthy
    assert (health.records, health.indexed) == (4, 4)
    assert memory.search("secret poison", filters=EVERYONE).results[0].id == bad
    memory.close()


def test_only_the_refused_records_of_a_batch_are_quarantined(opener, refusal):
    with opener() as memory:
        texts = [f"Fact number {n}" for n in range(7)]
        texts[2] = f"{MARK} fact two"
        texts[5] = f"{MARK} fact five"
        added = {e.memory: e.id for e in memory.add(texts, user_id="u", infer=False).results}
        health = memory.check(repair=False)
        assert sorted(q.id for q in health.quarantined) == sorted(
            added[t] for t in texts if MARK in t
        )
        assert indexed_ids(memory) == {added[t] for t in texts if MARK not in t}


def test_the_first_record_refused_by_an_empty_index_is_quarantined(opener, refusal):
    """No other memory to show the index works: Chroma's refusal of the request says so."""
    with opener() as memory:
        bad = memory.add(f"{MARK} the very first", user_id="u", infer=False).results[0].id
        assert memory.get_all(filters=EVERYONE).results == []
        assert [q.id for q in memory.check().quarantined] == [bad]
        memory.add("Owns a cat", user_id="u", infer=False)
        assert memory.get_all(filters=EVERYONE).count == 1


def test_a_record_failing_with_an_unexplained_error_is_quarantined_if_the_index_works(
    tmp_path, monkeypatch
):
    """A lone record failing with an internal error: re-writing a memory the index holds
    (the canary) shows the index works, so the record is the culprit."""
    with embedded(tmp_path) as memory:
        cat = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
        memory.backend.sync_index()
        refusal = Refusal(monkeypatch, error=RuntimeError)
        bad = memory.add(f"{MARK} alone", user_id="u", infer=False).results[0].id
        memory.backend.sync_index()  # the batch held the refused record alone
        assert refusal.refused == [bad, bad]  # the batch, then the record alone
        assert [q.id for q in memory.check(repair=False).quarantined] == [bad]
        assert indexed_ids(memory) == {cat}


def test_writing_a_quarantined_memory_again_supersedes_its_quarantine(tmp_path, refusal):
    with embedded(tmp_path) as memory:
        bad = memory.add(f"{MARK} a typo", user_id="u", infer=False).results[0].id
        memory.add("Owns a cat", user_id="u", infer=False)
        assert memory.check(repair=False).quarantined[0].id == bad
        memory.update(bad, text="Plays the violin")  # a text Chroma takes
        health = memory.check(repair=False)
        assert health.quarantined == [] and health.healthy
        assert memory.search("violin", filters=EVERYONE).results[0].id == bad

        memory.update(bad, text=f"{MARK} again")  # the old revision leaves the index
        assert bad not in indexed_ids(memory)
        assert memory.get_all(filters={"text": {"contains": "violin"}}).count == 0
        memory.delete(bad)
        assert memory.check().quarantined == []


def test_a_rebuilt_index_quarantines_what_it_refuses(tmp_path, refusal):
    """The rebuild after a corrupt index meets the refused record again, and still opens."""
    with embedded(tmp_path) as memory:
        memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        bad = memory.add(f"{MARK} poison", user_id="u", infer=False).results[0].id
        directory = generation_dir(memory.backend.index_base)
    corrupt_index(directory)
    with embedded(tmp_path) as memory:
        assert memory.backend.last_repair.rebuilt
        assert memory.search("chess", filters=EVERYONE).results[0].memory == "Plays chess"
        assert [q.id for q in memory.check().quarantined] == [bad]
        refusal.remove()
        assert memory.check().healthy
        assert bad in indexed_ids(memory)


def test_an_index_that_is_down_is_not_mistaken_for_a_refused_record(tmp_path, monkeypatch):
    """Every write failing is an outage: nothing is quarantined, the journal keeps the writes."""
    with embedded(tmp_path) as memory:
        memory.add("Owns a cat", user_id="u", infer=False)
        memory.backend.sync_index()

        def down(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("disk I/O error")

        monkeypatch.setattr(Collection, "upsert", down)
        memory.add("Plays chess", user_id="u", infer=False)
        with pytest.raises(VectorStoreError):
            memory.get_all(filters=EVERYONE)
        health = memory.check()
        assert health.quarantined == [] and health.journal_pending == 1
        assert health.index_error is not None and not health.healthy
        monkeypatch.undo()
        health = memory.check()
        assert health.healthy and health.indexed == 2


def test_check_reports_locks_and_repairs_a_drifted_index(tmp_path):
    with embedded(tmp_path) as memory:
        ids = [
            e.id
            for e in memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False).results
        ]
        memory.backend.sync_index()
        memory.backend.index._collection.delete(ids=[ids[0]])  # lost behind memkit's back
        health = memory.check(repair=False)
        assert (health.records, health.indexed) == (2, 1) and not health.healthy
        assert health.locked and health.locks
        assert all(Path(p).exists() for p in health.locks)
        health = memory.check()
        assert health.repaired.upserted == 1 and health.healthy
        assert memory.activity(kind="repair")[0]["counts"]["upserted"] == 1
        assert health.model_dump(mode="json")["healthy"] is True


def test_async_check_is_the_same_check(tmp_path, refusal):
    async def run() -> StoreHealth:
        async with AsyncMemory(path=str(tmp_path), embedder=HashEmbedder()) as memory:
            await memory.add("Owns a cat", user_id="u", infer=False)
            await memory.add(f"{MARK} poison", user_id="u", infer=False)
            return await memory.check()

    health = asyncio.run(run())
    assert len(health.quarantined) == 1 and (health.records, health.indexed) == (2, 1)
