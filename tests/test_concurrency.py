"""Many threads on one store: every acknowledged write kept, no scope reaching another.

Each thread owns a user (adversarial names among them) and runs a random mix of adds,
updates, deletes, batch updates, searches, listings and delete_all against its own model
of that user's memories, while the other threads do the same. At the end each user's
memories are exactly its model, the index agrees with the record store (``check()``),
and all of it holds again after a reopen.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from reliability_support import record_figures

from memkit import AsyncMemory, Memory
from memkit.testing import HashEmbedder

USERS = ["alex", "Alex", "alex ", "*", "%", "_", "bob", "' OR 1=1 --"]
OPS_PER_THREAD = 150


def worker(memory: Memory, user: str, seed: int, failures: list[BaseException]) -> dict[str, str]:
    """Runs the thread's operations; returns its model: memory id -> text."""
    rng = random.Random(seed)
    model: dict[str, str] = {}
    try:
        for step in range(OPS_PER_THREAD):
            roll = rng.random()
            if roll < 0.35 or not model:
                text = f"{user} fact {step} about tea"
                result = memory.add(text, user_id=user, infer=False)
                model[result.results[0].id] = text
            elif roll < 0.5:
                memory_id = rng.choice(sorted(model))
                model[memory_id] = f"{user} updated fact {step}"
                memory.update(memory_id, model[memory_id])
            elif roll < 0.6:
                memory_id = rng.choice(sorted(model))
                memory.delete(memory_id)
                del model[memory_id]
            elif roll < 0.68:
                chosen = rng.sample(sorted(model), min(len(model), 3))
                for memory_id in chosen:
                    model[memory_id] = f"{user} batch {step} {memory_id[:4]}"
                memory.batch_update([{"memory_id": i, "text": model[i]} for i in chosen])
            elif roll < 0.72:
                assert memory.delete_all(user_id=user).count == len(model)
                model.clear()
            elif roll < 0.86:
                hits = memory.search("fact tea", user_id=user, top_k=100).results
                assert {h.user_id for h in hits} <= {user}
                assert {h.id for h in hits} <= set(model)
            else:
                listed = memory.get_all(user_id=user, page_size=1000).results
                assert {r.id: r.memory for r in listed} == model
    except BaseException as exc:  # reported by the main thread
        failures.append(exc)
    return model


def run_threads(memory: Any, seed: int) -> dict[str, dict[str, str]]:
    failures: list[BaseException] = []
    models: dict[str, dict[str, str]] = {}

    def run(user: str, index: int) -> None:
        models[user] = worker(memory, user, seed * 100 + index, failures)

    threads = [threading.Thread(target=run, args=(u, i)) for i, u in enumerate(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return models


def assert_matches(memory: Memory, models: dict[str, dict[str, str]]) -> None:
    for user, model in models.items():
        listed = memory.get_all(user_id=user, page_size=1000).results
        assert {r.id: r.memory for r in listed} == model, user
    health = memory.check(repair=False)
    assert health.healthy, health
    assert health.records == sum(len(m) for m in models.values())


def test_threads_on_one_store_keep_every_write_and_their_own_scope(tmp_path: Any) -> None:
    path = tmp_path / "store"
    memory = Memory(path, embedder=HashEmbedder())
    models = run_threads(memory, seed=1)
    assert_matches(memory, models)
    memory.close()
    memory = Memory(path, embedder=HashEmbedder())
    assert_matches(memory, models)
    memory.close()
    record_figures(
        "concurrency",
        {"threads": len(USERS), "operations": len(USERS) * OPS_PER_THREAD, "reopens": 1},
    )


def test_async_callers_share_the_same_guarantees(tmp_path: Any) -> None:
    """AsyncMemory runs Memory's code in worker threads: the same mix, driven from asyncio."""
    import asyncio

    path = tmp_path / "store"
    amemory = AsyncMemory(path, embedder=HashEmbedder())

    async def user_task(user: str, index: int) -> tuple[str, dict[str, str]]:
        rng = random.Random(index)
        model: dict[str, str] = {}
        for step in range(20):
            if rng.random() < 0.7 or not model:
                text = f"{user} async fact {step}"
                result = await amemory.add(text, user_id=user, infer=False)
                model[result.results[0].id] = text
            else:
                memory_id = rng.choice(sorted(model))
                await amemory.delete(memory_id)
                del model[memory_id]
            hits = await amemory.search("async fact", user_id=user, top_k=100)
            assert {h.id for h in hits.results} <= set(model)
        return user, model

    async def main() -> dict[str, dict[str, str]]:
        done = await asyncio.gather(*(user_task(u, i) for i, u in enumerate(USERS)))
        return dict(done)

    models = asyncio.run(main())
    assert_matches(amemory.sync, models)
    amemory.sync.close()
