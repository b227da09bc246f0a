"""MemkitStore's TTL, held to LangGraph's: the TTL tests of PostgresStore's own suite
(langgraph-checkpoint-postgres ``tests/test_store.py``: ``test_store_ttl`` and the
``test_omit_expired_*`` tests), rewritten for an injected clock instead of ``time.sleep``
and SQL that backdates a row, then this store's own rules (``langchain_memkit._store_ttl``).
Each runs sync and async (lc_fixtures' ``both`` / ``run_on``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.store.base import GetOp, PutOp, SearchOp, TTLConfig

from langchain_memkit import MemkitStore, _store_ttl
from langchain_memkit._store_codec import EXPIRES_AT, encode_item
from memkit import Memory

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy

TTL_SECONDS = 6  # PostgresStore's suite uses these two
TTL_MINUTES = TTL_SECONDS / 60
START = 1_760_000_000.0


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def mem(memkit_home: Any, clock: Clock) -> Iterator[Memory]:  # lc_fixtures' mem, on the clock
    memory = Memory(clock=clock)
    yield memory
    memory.close()


def make_store(client: Any, clock: Clock, **ttl: Any) -> MemkitStore:
    config = TTLConfig(**{"default_ttl": TTL_MINUTES, "refresh_on_read": True, **ttl})
    return MemkitStore(client, ttl=config, clock=clock)


@pytest.fixture
def store(client: Any, clock: Clock) -> MemkitStore:
    return make_store(client, clock, sweep_interval_minutes=TTL_MINUTES / 2)


@pytest.fixture
def run(store: MemkitStore, run_on: Any) -> Any:
    return run_on(store)


def expires_at(mem: Memory, key: str) -> float | None:
    (record,) = [r for r in mem.get_all(app_id="langgraph").results if r.metadata["lg.key"] == key]
    value = record.metadata.get(EXPIRES_AT)
    return None if value is None else float(value)


# ---- PostgresStore's TTL tests ------------------------------------------------------------


@pytest.mark.parametrize("omit_expired", [True, False], ids=["omitted", "swept"])
def test_store_ttl(client: Any, clock: Clock, run_on: Any, mem: Memory, omit_expired: bool) -> None:
    """PostgresStore's ``test_store_ttl``: each read with refresh restarts the TTL. There a
    sweeper running every TTL/2 removes the item; here it is hidden at once (the default),
    or, as PostgresStore shows it by default, visible until a sweep deletes it."""
    store = make_store(client, clock, omit_expired=omit_expired)
    run = run_on(store)
    ns = ("foo",)
    run.put(ns, key="item1", value={"foo": "bar"}, ttl=TTL_MINUTES)
    clock.advance(TTL_SECONDS - 2)
    assert run.get(ns, key="item1", refresh_ttl=True) is not None
    clock.advance(TTL_SECONDS - 2)
    assert len(run.search(ns, query="foo", refresh_ttl=True)) == 1
    clock.advance(TTL_SECONDS - 2)
    assert run.get(ns, key="item1", refresh_ttl=False) is not None
    clock.advance(TTL_SECONDS - 1)
    # (TTL_SECONDS - 2) * 2 + 1 seconds after the last refresh: expired.
    if not omit_expired:
        assert len(run.search(ns, query="bar", refresh_ttl=False)) == 1
        assert run.sweep_ttl() == 1
    assert run.search(ns, query="bar", refresh_ttl=False) == []
    assert mem.get_all(app_id="langgraph").count == (1 if omit_expired else 0)


def test_omit_expired_filters_read_paths(run: Any, clock: Clock, mem: Memory) -> None:
    expired_ns, control_ns = ("omit", "expired"), ("omit", "control")
    run.put(expired_ns, "e", {"data": "gone"}, ttl=TTL_MINUTES)
    run.put(control_ns, "c", {"data": "keep"}, ttl=None)
    clock.advance(TTL_SECONDS)  # expired at exactly its expiry time

    assert mem.get_all(app_id="langgraph").count == 2  # still there: not swept
    assert run.get(expired_ns, "e") is None
    assert run.get(control_ns, "c") is not None
    assert run.search(expired_ns) == []
    assert [i.key for i in run.search(control_ns)] == ["c"]
    assert [i.key for i in run.search(("omit",), query="gone")] == ["c"]
    namespaces = run.list_namespaces(prefix=("omit",))
    assert expired_ns not in namespaces and control_ns in namespaces


def test_omit_expired_disabled_preserves_expired_rows(
    client: Any, clock: Clock, run_on: Any
) -> None:
    """``omit_expired=False`` is PostgresStore's default: expired items stay until a sweep."""
    run = run_on(make_store(client, clock, omit_expired=False))
    ns = ("keep",)
    run.put(ns, "k", {"data": "still-here"}, ttl=TTL_MINUTES)
    clock.advance(TTL_SECONDS + 60)
    assert run.get(ns, "k", refresh_ttl=False) is not None
    assert [i.key for i in run.search(ns, refresh_ttl=False)] == ["k"]
    assert ns in run.list_namespaces(prefix=("keep",))


def test_omit_expired_refresh_ttl_only_refreshes_live_rows(
    run: Any, clock: Clock, mem: Memory
) -> None:
    ns = ("refresh",)
    run.put(ns, "expired", {"n": 0}, ttl=TTL_MINUTES / 2)
    run.put(ns, "live_get", {"n": 1}, ttl=TTL_MINUTES)
    run.put(ns, "live_search", {"n": 2}, ttl=TTL_MINUTES)
    clock.advance(TTL_SECONDS / 2)
    before = {k: expires_at(mem, k) for k in ("expired", "live_get", "live_search")}

    # refresh_ttl=True must not resurrect the expired item, through get or search...
    assert run.get(ns, "expired", refresh_ttl=True) is None
    assert "expired" not in [i.key for i in run.search(ns, refresh_ttl=True)]
    assert expires_at(mem, "expired") == before["expired"]
    # ...but extends the live ones that were read.
    assert run.get(ns, "live_get", refresh_ttl=True) is not None
    assert expires_at(mem, "live_get") == clock.now + TTL_SECONDS > before["live_get"]
    assert expires_at(mem, "live_search") == clock.now + TTL_SECONDS > before["live_search"]


def test_omit_expired_search_pagination(run: Any, clock: Clock) -> None:
    """The expired item sits inside the first page's window; pages are filled with live ones."""
    ns = ("page",)
    # Oldest first, so most recently updated first reads a, expired, b, c.
    for key in ("c", "b", "expired", "a"):
        run.put(ns, key, {"k": key}, ttl=TTL_MINUTES / 2 if key == "expired" else TTL_MINUTES)
        clock.advance(1)
    assert [i.key for i in run.search(ns, limit=4, refresh_ttl=False)] == [
        "a",
        "expired",
        "b",
        "c",
    ]
    clock.advance(1)  # "expired" was written 3 s ago with a TTL of 3 s
    assert [i.key for i in run.search(ns, limit=2, offset=0)] == ["a", "b"]
    assert [i.key for i in run.search(ns, limit=2, offset=2)] == ["c"]


# ---- put: the TTL an item gets --------------------------------------------------------------


def test_put_takes_default_ttl_unless_told(run: Any, clock: Clock, mem: Memory) -> None:
    ns = ("p",)
    run.put(ns, "default", {"v": 1})
    run.put(ns, "own", {"v": 2}, ttl=10)
    run.put(ns, "none", {"v": 3}, ttl=None)
    assert expires_at(mem, "default") == clock.now + TTL_SECONDS
    assert expires_at(mem, "own") == clock.now + 600
    assert expires_at(mem, "none") is None


def test_batch_put_ops_keep_their_own_ttl(store: MemkitStore, clock: Clock, mem: Memory) -> None:
    """As in LangGraph, default_ttl is ``put``'s; a PutOp given to batch says its own."""
    store.batch([PutOp(("b",), "plain", {"v": 1}), PutOp(("b",), "ttl", {"v": 2}, ttl=1.5)])
    assert expires_at(mem, "plain") is None
    assert expires_at(mem, "ttl") == clock.now + 90


def test_put_replaces_the_ttl_and_revives_an_expired_item(
    run: Any, clock: Clock, mem: Memory
) -> None:
    ns = ("r",)
    run.put(ns, "k", {"v": 1})
    clock.advance(TTL_SECONDS)
    assert run.get(ns, "k") is None
    run.put(ns, "k", {"v": 2}, ttl=None)  # the same memory, now without expiry
    assert mem.get_all(app_id="langgraph").count == 1
    clock.advance(3600)
    assert run.get(ns, "k").value == {"v": 2}
    assert expires_at(mem, "k") is None


@pytest.mark.parametrize("bad", ["5", float("nan"), float("inf"), True, 1e307, 10**400])
def test_a_ttl_is_a_finite_number_of_minutes(store: MemkitStore, bad: Any) -> None:
    with pytest.raises(ValueError, match="ttl"):
        store.put(("v",), "k", {"v": 1}, ttl=bad)
    with pytest.raises(ValueError, match="ttl"):
        store.batch([PutOp(("v",), "k", {"v": 1}, ttl=bad)])
    with pytest.raises(ValueError, match="ttl"):
        MemkitStore(store.memory, ttl={"default_ttl": bad})


def test_supports_ttl() -> None:
    assert MemkitStore.supports_ttl is True


# ---- reads: refresh ---------------------------------------------------------------------------


def test_a_refresh_keeps_the_item_as_written(run: Any, clock: Clock, mem: Memory) -> None:
    ns = ("k",)
    run.put(ns, "k", {"content": "Likes tea"})
    written = run.get(ns, "k", refresh_ttl=False)
    clock.advance(5)
    read = run.get(ns, "k")  # refreshes
    assert expires_at(mem, "k") == clock.now + TTL_SECONDS
    again = run.get(ns, "k", refresh_ttl=False)
    assert (read, again) == (written, written)  # value, created_at, updated_at
    assert mem.get_all(app_id="langgraph").results[0].updated_at > written.updated_at
    clock.advance(1)
    run.put(ns, "k", {"content": "Likes coffee"})  # a write moves updated_at again
    assert run.get(ns, "k").updated_at > written.updated_at


def test_refresh_on_read_false_makes_reads_leave_ttls_alone(
    client: Any, clock: Clock, run_on: Any, mem: Memory
) -> None:
    run = run_on(make_store(client, clock, refresh_on_read=False))
    ns = ("n",)
    run.put(ns, "k", {"v": 1})
    clock.advance(2)
    run.get(ns, "k")
    run.search(ns)
    assert expires_at(mem, "k") == START + TTL_SECONDS
    run.get(ns, "k", refresh_ttl=True)  # the call's own choice wins
    assert expires_at(mem, "k") == clock.now + TTL_SECONDS


def test_a_search_refreshes_only_what_it_returns(run: Any, clock: Clock, mem: Memory) -> None:
    ns = ("s",)
    run.put(ns, "forever", {"v": 1}, ttl=None)
    for key in ("read", "unread"):
        clock.advance(1)
        run.put(ns, key, {"v": key})
    clock.advance(1)
    assert [i.key for i in run.search(ns, limit=2, offset=1)] == ["read", "forever"]
    assert expires_at(mem, "read") == clock.now + TTL_SECONDS
    assert expires_at(mem, "unread") == START + 2 + TTL_SECONDS
    assert expires_at(mem, "forever") is None


def test_no_ttl_config_no_expiry_but_put_ttl_works(
    client: Any, clock: Clock, run_on: Any, mem: Memory
) -> None:
    run = run_on(MemkitStore(client, clock=clock))
    run.put(("x",), "k", {"v": 1})
    run.put(("x",), "t", {"v": 2}, ttl=1)
    clock.advance(61)
    assert run.get(("x",), "k") is not None and run.get(("x",), "t") is None
    assert expires_at(mem, "k") is None


def largest_value(expiry: tuple[float, float]) -> dict[str, str]:
    """The largest value of this shape that encode_item still takes."""
    low, high = 0, 4096
    while low < high:
        size = (low + high + 1) // 2
        value = {"content": "x", "a": "y" * 4000, "b": "z" * 4000, "c": "w" * 4000, "d": "v" * size}
        try:
            encode_item(("big",), "k", value, None, expiry=expiry)
            low = size
        except ValueError:
            high = size - 1
    return {"content": "x", "a": "y" * 4000, "b": "z" * 4000, "c": "w" * 4000, "d": "v" * low}


def test_a_refresh_fits_an_item_at_the_metadata_bound(run: Any, clock: Clock) -> None:
    """Room for the refresh's keys is kept at put: the largest item refreshes without error."""
    value = largest_value((clock.now + 300, 5.0))
    assert 0 < len(value["d"]) < 4096
    run.put(("big",), "k", value, ttl=5)
    for _ in range(3):
        clock.advance(1.123456789)
        assert run.get(("big",), "k").value == value


# ---- sweeping --------------------------------------------------------------------------------


def test_sweep_deletes_only_this_stores_expired_items(
    client: Any, clock: Clock, run_on: Any, mem: Memory
) -> None:
    run = run_on(make_store(client, clock))
    other = run_on(
        MemkitStore(client, app_id="other", ttl={"default_ttl": TTL_MINUTES}, clock=clock)
    )
    run.put(("a",), "expires", {"v": 1})
    run.put(("a",), "stays", {"v": 2}, ttl=None)
    other.put(("a",), "elsewhere", {"v": 3})
    mem.add("A memory of its own", user_id="alex", infer=False)
    clock.advance(TTL_SECONDS)
    assert run.sweep_ttl() == 1
    assert run.sweep_ttl() == 0
    assert [r.metadata["lg.key"] for r in mem.get_all(app_id="langgraph").results] == ["stays"]
    assert mem.get_all(app_id="other").count == 1 and mem.get_all(user_id="alex").count == 1


def test_sweep_pages_through_more_than_a_batch(
    mem: Memory, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_store_ttl, "_BATCH", 2)  # memkit's 1000, made small
    store = make_store(mem, clock)
    store.batch([PutOp(("many",), str(i), {"i": i}, ttl=TTL_MINUTES) for i in range(5)])
    clock.advance(TTL_SECONDS)
    assert store.sweep_ttl() == 5
    assert mem.get_all(app_id="langgraph").count == 0


def test_the_sweeper_thread_sweeps_until_stopped(
    store: MemkitStore, clock: Clock, mem: Memory
) -> None:
    store.put(("t",), "k", {"v": 1})
    clock.advance(TTL_SECONDS)
    future = store.start_ttl_sweeper(sweep_interval_minutes=0.05 / 60)  # every 50 ms
    deadline = time.monotonic() + 10
    while mem.get_all(app_id="langgraph").count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mem.get_all(app_id="langgraph").count == 0
    assert store.stop_ttl_sweeper(timeout=5) is True
    assert future.result(timeout=5) is None
    assert store.stop_ttl_sweeper() is True  # stopping a stopped sweeper is fine


def test_cancelling_the_sweepers_future_stops_it(store: MemkitStore) -> None:
    future = store.start_ttl_sweeper(sweep_interval_minutes=60)
    assert future.cancel()
    assert store.stop_ttl_sweeper(timeout=5) is True


def test_without_ttl_config_the_sweeper_does_nothing(mem: Memory) -> None:
    future = MemkitStore(mem).start_ttl_sweeper()
    assert future.done() and future.result() is None


# ---- racing a delete ----------------------------------------------------------------------


class DeletesFirst:
    """A memkit client that deletes ``victim`` right before the named write runs."""

    def __init__(self, memory: Memory, method: str) -> None:
        self.memory, self.method, self.victim = memory, method, ""

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.memory, name)
        if name != self.method or not self.victim:
            return target

        def racing(*args: Any, **kwargs: Any) -> Any:
            self.memory.delete(self.victim)
            self.victim = ""
            return target(*args, **kwargs)

        return racing


def test_a_refresh_racing_a_delete_refreshes_the_rest(mem: Memory, clock: Clock) -> None:
    client = DeletesFirst(mem, "batch_update")
    store = make_store(client, clock)
    for key in ("a", "b"):
        store.put(("race",), key, {"k": key})
    clock.advance(1)
    client.victim = next(
        r.id for r in mem.get_all(app_id="langgraph").results if r.metadata["lg.key"] == "a"
    )
    assert sorted(i.key for i in store.search(("race",))) == ["a", "b"]  # as read
    assert expires_at(mem, "b") == clock.now + TTL_SECONDS
    assert store.get(("race",), "a") is None


def test_a_sweep_racing_a_delete_deletes_the_rest(mem: Memory, clock: Clock) -> None:
    client = DeletesFirst(mem, "batch_delete")
    store = make_store(client, clock)
    for key in ("a", "b", "c"):
        store.put(("race",), key, {"k": key})
    clock.advance(TTL_SECONDS)
    client.victim = mem.get_all(app_id="langgraph").results[0].id
    assert store.sweep_ttl() == 2
    assert mem.get_all(app_id="langgraph").count == 0


def test_get_ops_in_a_batch_honour_their_refresh_flag(
    store: MemkitStore, clock: Clock, mem: Memory
) -> None:
    store.put(("g",), "k", {"v": 1})
    clock.advance(1)
    store.batch([GetOp(("g",), "k", refresh_ttl=False), SearchOp(("g",), refresh_ttl=False)])
    assert expires_at(mem, "k") == START + TTL_SECONDS
    asyncio.run(store.abatch([GetOp(("g",), "k")]))  # GetOp's default: refresh
    assert expires_at(mem, "k") == clock.now + TTL_SECONDS
