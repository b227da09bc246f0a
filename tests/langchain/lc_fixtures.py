"""Fixtures for the LangChain adapter tests: a fresh memkit store, sync or async.

Loaded by each test module (``pytest_plugins = ["lc_fixtures"]``) rather than kept in a
conftest.py, so that this directory adds no second ``conftest`` module to the suite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from memkit import AsyncMemory, Memory


@pytest.fixture
def mem(memkit_home: Any) -> Iterator[Memory]:
    memory = Memory()
    yield memory
    memory.close()


class Both:
    """Runs the sync or the async form of one operation, so one test body checks both."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    def __call__(self, sync_call: Callable[[], Any], async_call: Callable[[], Any]) -> Any:
        return sync_call() if self.mode == "sync" else asyncio.run(async_call())


class Run:
    """An adapter's sync or async method of the same name (``get`` / ``aget``), as ``both``
    says: ``run.get(...)`` is one test body for both."""

    def __init__(self, target: Any, both: Both) -> None:
        self.target, self.both = target, both

    def __getattr__(self, name: str) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            return self.both(
                lambda: getattr(self.target, name)(*args, **kwargs),
                lambda: getattr(self.target, "a" + name)(*args, **kwargs),
            )

        return run


@pytest.fixture(params=["sync", "async"])
def both(request: pytest.FixtureRequest) -> Both:
    return Both(request.param)


class Spy:
    """A memkit client that records the calls made to it and forwards them."""

    def __init__(self, memory: Memory) -> None:
        self._memory = memory
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._memory, name)

        def record(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            return method(*args, **kwargs)

        return record

    def named(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for called, args, kwargs in self.calls if called == name]


@pytest.fixture
def run_on(both: Both) -> Callable[[Any], Run]:
    """``run_on(store).get(...)``: the store's ``get`` or ``aget``, as ``both`` says."""
    return lambda target: Run(target, both)


@pytest.fixture
def spy(mem: Memory) -> Spy:
    return Spy(mem)


@pytest.fixture
def client(both: Both, mem: Memory) -> Memory | AsyncMemory:
    """What an adapter is given: a Memory in sync mode, an AsyncMemory in async mode."""
    return mem if both.mode == "sync" else AsyncMemory(memory=mem)
