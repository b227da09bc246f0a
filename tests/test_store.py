"""The record store is the system of record; the index is derived and repaired from it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from memkit import Memory
from memkit.errors import StoreLockedError, VectorStoreError
from memkit.search._view import SearchView, cached_view
from memkit.store import _index_writer as index_writer
from memkit.store._index import CHROMA_MAX_BATCH, generation_dir
from memkit.testing import HashEmbedder, corrupt_index


def open_memory(path: Path) -> Memory:
    return Memory(path=str(path), embedder=HashEmbedder())


def index_ids(memory: Memory) -> set[str]:
    return set(memory.backend.index.stamps())


def test_memories_survive_reopening(tmp_path):
    with open_memory(tmp_path) as memory:
        added = memory.add("Owns a cat", user_id="u", infer=False).results[0]
    with open_memory(tmp_path) as memory:
        assert memory.get(added.id).memory == "Owns a cat"
        assert memory.search("cat", user_id="u").results[0].id == added.id


def test_memories_in_one_process_share_the_store(tmp_path):
    first, second = open_memory(tmp_path), open_memory(tmp_path)
    added = first.add("Owns a cat", user_id="u", infer=False).results[0]
    assert second.get(added.id).memory == "Owns a cat"
    first.close()
    assert second.get_all(user_id="u").count == 1
    second.close()


def test_a_second_process_is_refused_with_advice(tmp_path):
    memory = open_memory(tmp_path)
    script = (
        "import sys\nfrom memkit import Memory\nfrom memkit.errors import StoreLockedError\n"
        "from memkit.testing import HashEmbedder\n"
        "try:\n    Memory(path=sys.argv[1], embedder=HashEmbedder())\n"
        "except StoreLockedError as exc:\n    print('LOCKED', exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.startswith("LOCKED"), out.stderr
    assert "Chroma server" in out.stdout and str(os.getpid()) in out.stdout
    memory.close()
    assert issubclass(StoreLockedError, RuntimeError)


def _broken(*args, **kwargs):
    raise VectorStoreError("simulated index failure")


def test_journaled_writes_reach_the_index_after_it_failed_them(tmp_path, monkeypatch):
    memory = open_memory(tmp_path)
    kept = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
    index = memory.backend.index
    monkeypatch.setattr(index, "upsert", _broken)
    monkeypatch.setattr(index, "delete", _broken)
    # Acknowledged once the record store has them: the index takes writes in the background.
    memory.add("Owns a dog", user_id="u", infer=False)
    memory.delete(kept)
    assert texts_of(memory) == ["Owns a dog"]  # one user's memories: read from the record store
    with pytest.raises(VectorStoreError):  # a read of the index says it is behind
        memory.get_all(filters={"NOT": [{"user_id": "nobody"}]})
    memory.close()  # cannot apply them either: they stay journaled
    monkeypatch.undo()

    reopened = open_memory(tmp_path)
    assert texts_of(reopened) == ["Owns a dog"]
    assert [h.event for h in reopened.history(kept)] == ["ADD", "DELETE"]
    assert index_ids(reopened) == {m.id for m in reopened.get_all().results}
    assert reopened.search("dog", user_id="u").results[0].memory == "Owns a dog"
    assert reopened.activity(kind="repair")[0]["counts"]["journal_replayed"] == 2
    reopened.close()


def test_a_read_of_the_index_sees_every_acknowledged_write(tmp_path, monkeypatch):
    memory = open_memory(tmp_path)
    index = memory.backend.index
    upsert = index.upsert
    started, release = threading.Event(), threading.Event()

    def slow(*args, **kwargs):
        started.set()
        release.wait(10)
        return upsert(*args, **kwargs)

    monkeypatch.setattr(index, "upsert", slow)
    memory.add("Owns a cat", user_id="u", infer=False)  # returns while the index is busy
    assert started.wait(10)
    threading.Timer(0.2, release.set).start()
    everyone = memory.get_all(filters={"NOT": [{"user_id": "nobody"}]})  # waits for it
    assert [m.memory for m in everyone.results] == ["Owns a cat"]
    for n in range(20):  # queued behind a busy index, taken in one batch
        memory.add(f"Fact {n}", user_id="v", infer=False)
    assert len(index_ids(memory)) == 21
    memory.close()


def test_the_index_recovers_once_it_works_again(tmp_path, monkeypatch):
    memory = open_memory(tmp_path)
    index = memory.backend.index
    monkeypatch.setattr(index, "upsert", _broken)
    memory.add("Owns a cat", user_id="u", infer=False)
    with pytest.raises(VectorStoreError):
        memory.backend.sync_index()
    monkeypatch.undo()
    memory.add("Owns a dog", user_id="u", infer=False)
    assert len(index_ids(memory)) == 2  # the failed write was replayed from the journal
    assert memory.backend.records.journal().keys() <= index_ids(memory)
    memory.close()


def texts_of(memory: Memory) -> list[str]:
    return sorted(m.memory for m in memory.get_all(page_size=1000).results)


def test_a_missing_index_is_rebuilt_from_stored_embeddings(tmp_path):
    with open_memory(tmp_path) as memory:
        memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        directory = generation_dir(memory.backend.index_base)
    for path in sorted(directory.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    embedder = HashEmbedder()
    calls = []
    original = embedder.embed
    embedder.embed = lambda texts: calls.append(list(texts)) or original(texts)
    with Memory(path=str(tmp_path), embedder=embedder) as memory:
        assert texts_of(memory) == ["Owns a cat", "Plays chess"]
        assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
    assert calls == [["chess"]]  # only the query was embedded: no re-embedding


def test_a_corrupt_index_is_rebuilt(tmp_path):
    with open_memory(tmp_path) as memory:
        memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        directory = generation_dir(memory.backend.index_base)
    corrupt_index(directory)
    with open_memory(tmp_path) as memory:
        assert memory.backend.last_repair.rebuilt
        assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
        assert generation_dir(memory.backend.index_base) != directory


def test_an_unclean_shutdown_triggers_a_full_check(tmp_path):
    with open_memory(tmp_path) as memory:
        ids = [
            e.id
            for e in memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False).results
        ]
        # Chroma lost an acknowledged write (measured with SIGKILL): once the index has the
        # writes, drop one entry behind memkit's back and leave the store marked open, as a
        # killed process would.
        memory.backend.sync_index()
        memory.backend.index._collection.delete(ids=[ids[0]])
        memory.backend.index._collection.update(ids=[ids[1]], metadatas=[{"rev": 1}])
    (tmp_path / "OPEN").touch()
    with open_memory(tmp_path) as memory:
        assert memory.backend.last_repair.upserted == 2
        assert index_ids(memory) == set(ids)
        assert memory.search("cat", user_id="u").results[0].id == ids[0]


def test_batches_larger_than_chromas_limit_are_split(tmp_path):
    n = CHROMA_MAX_BATCH + 40
    with open_memory(tmp_path) as memory:
        result = memory.add([f"fact {i}" for i in range(n)], user_id="u", infer=False)
        assert len(result.results) == n
        assert memory.backend.index.count() == n
        assert memory.get_all(user_id="u").count == n
        memory.delete_all(user_id="u")
        assert memory.backend.index.count() == 0


CHILD = textwrap.dedent(
    """
    import random, sys
    from memkit import Memory
    from memkit.testing import HashEmbedder
    memory = Memory(path=sys.argv[1], embedder=HashEmbedder())
    rng = random.Random(int(sys.argv[2]))
    live = []
    for step in range(100000):
        roll = rng.random()
        if roll < 0.6 or len(live) < 5:
            texts = [f"step {step} fact {i}" for i in range(rng.randint(1, 30))]
            result = memory.add(texts, user_id=f"u{step % 3}", infer=False)
            for event in result.results:
                live.append(event.id)
                print("ADD", event.id, event.memory, flush=True)
        elif roll < 0.8:
            target = rng.choice(live)
            text = f"step {step} updated"
            memory.update(target, text=text)
            print("UPDATE", target, text, flush=True)
        else:
            target = live.pop(rng.randrange(len(live)))
            memory.delete(target)
            print("DELETE", target, flush=True)
    """
)


@pytest.mark.parametrize("trial", range(3))
def test_sigkill_at_any_point_loses_no_acknowledged_write(tmp_path, trial):
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), str(trial)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.5 + random.Random(trial).random() * 2)
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=60)
    expected: dict[str, str | None] = {}
    complete = out if out.endswith("\n") else out[: out.rfind("\n") + 1]  # last line may be cut
    for line in complete.splitlines():
        kind, memory_id, *rest = line.split(" ", 2)
        expected[memory_id] = None if kind == "DELETE" else rest[0]
    assert expected, err
    with open_memory(tmp_path) as memory:
        stored = {m.id: m.memory for m in memory.get_all(page_size=1000).results}
        total = memory.get_all().count
        if total > 1000:
            stored = {
                m.id: m.memory
                for p in range(1, total // 1000 + 2)
                for m in memory.get_all(page=p, page_size=1000).results
            }
        # Every acknowledged write is there. The one call in flight when the process died
        # may or may not have landed, but wholly: one memory changed, or one add's batch.
        differ = [i for i, text in expected.items() if stored.get(i) != text]
        assert len(differ) <= 1, differ
        for memory_id in differ:
            assert stored.get(memory_id) is None or stored[memory_id].endswith("updated")
        extra = {stored[i].split(" fact ")[0] for i in stored if i not in expected}
        assert len(extra) <= 1 and not (extra and differ)
        assert index_ids(memory) == set(stored)
        for memory_id in stored:
            assert memory.history(memory_id)[0].event == "ADD"


def test_a_read_the_record_store_answers_does_not_wait_for_the_index(tmp_path, monkeypatch):
    memory = open_memory(tmp_path)
    index = memory.backend.index
    upsert, release = index.upsert, threading.Event()

    def stuck(*args, **kwargs):
        release.wait(10)
        return upsert(*args, **kwargs)

    monkeypatch.setattr(index, "upsert", stuck)
    memory.add("Owns a cat", user_id="u", infer=False)
    memory.add("Plays chess", user_id="u", infer=False)
    started = time.monotonic()
    # One user's memories, filtered or searched: answered from the record store.
    assert memory.get_all(user_id="u", filters={"text": {"icontains": "cat"}}).count == 1
    assert memory.search("chess", user_id="u").results[0].memory == "Plays chess"
    assert time.monotonic() - started < 5  # the index is still stuck on its write
    release.set()
    assert len(index_ids(memory)) == 2  # a read of Chroma itself waits for it
    memory.close()


def test_a_burst_of_writes_shares_one_index_call(tmp_path, monkeypatch):
    monkeypatch.setattr(index_writer, "LINGER", 1.0)  # ample for five adds on a slow machine
    memory = open_memory(tmp_path)
    index = memory.backend.index
    upsert, sizes = index.upsert, []

    def counted(memories):
        sizes.append(len(memories))
        return upsert(memories)

    monkeypatch.setattr(index, "upsert", counted)
    for n in range(5):
        memory.add(f"Fact {n}", user_id="u", infer=False)
    deadline = time.monotonic() + 10
    while not sizes and time.monotonic() < deadline:  # the background thread, not a read
        time.sleep(0.05)
    assert sizes == [5]
    memory.close()


def test_a_search_sees_a_scope_change_its_cached_view_predates(tmp_path):
    memory = open_memory(tmp_path)
    cat = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
    memory.add("Plays chess", user_id="u", infer=False)
    records = memory.backend.records

    def view() -> SearchView:
        return cached_view(records.keywords, records.hashes_of_scope({"user_id": "u"}))

    first = view()
    assert view() is first  # kept
    memory.update(cat, "Plays the violin")
    assert view() is not first
    assert memory.search("violin", user_id="u").results[0].memory == "Plays the violin"
    memory.close()


def test_an_activity_row_carries_the_time_of_its_call_not_of_its_flush(tmp_path, monkeypatch):
    """Rows wait in a buffer; the dashboard charts them by time, so the time is the call's."""
    from memkit.store import _activity_log

    memory = Memory(path=str(tmp_path), embedder=HashEmbedder())
    log = memory.backend.activity
    log.flush()
    clock = iter([1_000_000.0, 2_000_000.0])
    monkeypatch.setattr(_activity_log.time, "time", lambda: next(clock))
    log.record("search", {"user_id": "u"}, {"results": 0}, 1.5)
    monkeypatch.undo()
    rows = [r for r in memory.activity() if r["scope"] == {"user_id": "u"}]
    assert [r["created_at"].timestamp() for r in rows] == [1_000_000.0]
    memory.close()
