"""AsyncMemory never blocks the event loop, and concurrent calls stay correct."""

from __future__ import annotations

import asyncio
import inspect

from memkit import AsyncMemory, Memory


async def test_the_event_loop_keeps_running_during_calls():
    memory = AsyncMemory()
    ticks = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await memory.add(
        [f"Fact {i} about the weather in town {i}" for i in range(64)], user_id="u", infer=False
    )
    await memory.search("weather", user_id="u")
    done.set()
    await task
    assert ticks > 10  # a blocking call would have let the ticker run at most once
    await memory.close()


async def test_concurrent_adds_and_searches_are_all_applied():
    async with AsyncMemory() as memory:
        await asyncio.gather(
            *(
                memory.add(f"I have visited city number {i}", user_id=f"user-{i % 4}")
                for i in range(24)
            )
        )
        pages = await asyncio.gather(*(memory.get_all(user_id=f"user-{k}") for k in range(4)))
        assert [p.count for p in pages] == [6, 6, 6, 6]
        results = await asyncio.gather(*(memory.search("city", user_id="user-1") for _ in range(8)))
        assert all(len(r.results) == 6 for r in results)


def test_async_methods_take_exactly_the_parameters_of_memorys():
    """Spelled out in AsyncMemory for editors and type checkers; they must not drift."""
    public = [n for n in dir(Memory) if not n.startswith("_") and callable(getattr(Memory, n))]
    for name in public:
        twin = getattr(AsyncMemory, name, None)
        if name in {"close", "from_config"}:  # lifecycle: AsyncMemory.sync.close()
            continue
        assert twin is not None and inspect.iscoroutinefunction(twin), name
        ours = inspect.signature(getattr(Memory, name)).parameters.values()
        theirs = inspect.signature(twin).parameters.values()
        expected = [(p.name, p.kind, p.default, p.annotation) for p in ours]
        assert [(p.name, p.kind, p.default, p.annotation) for p in theirs] == expected, name


def test_no_public_signature_carries_an_internal_parameter():
    """Monitoring is recorded inside the call, not through a parameter a caller could see."""
    for cls in (Memory, AsyncMemory):
        for name in dir(cls):
            method = getattr(cls, name)
            if name.startswith("_") or not callable(method):
                continue
            internal = [p for p in inspect.signature(method).parameters if p.startswith("_")]
            assert internal == [], (cls.__name__, name, internal)
