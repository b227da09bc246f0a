"""MemkitStore: LangGraph's BaseStore semantics on memkit, and langmem's tools on it."""

from __future__ import annotations

import time
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, ListNamespacesOp, PutOp, SearchOp
from langgraph.store.memory import InMemoryStore

from langchain_memkit import MemkitStore
from langchain_memkit._store_codec import encode_item, push_down
from memkit import Memory

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy

ALICE = ("memories", "alice@example.com")
BOB = ("memories", "bob@example.com")


@pytest.fixture
def store(client: Any) -> MemkitStore:
    return MemkitStore(client, user_label=1)


@pytest.fixture
def run(store: MemkitStore, run_on: Any) -> Any:
    return run_on(store)


def test_put_get_update_delete(run: Any, mem: Memory) -> None:
    value = {"content": "Likes green tea", "tags": ["drinks"], "meta": {"n": 1}}
    run.put(ALICE, "k1", value)
    item = run.get(ALICE, "k1")
    assert (item.namespace, item.key, item.value) == (ALICE, "k1", value)
    assert item.created_at == item.updated_at and item.created_at.tzinfo is not None
    time.sleep(0.01)
    run.put(ALICE, "k1", {"content": "Likes black tea"})
    updated = run.get(ALICE, "k1")
    assert updated.value == {"content": "Likes black tea"}
    assert updated.created_at == item.created_at < updated.updated_at
    assert mem.get_all().count == 1  # an update, not a second memory
    assert run.get(BOB, "k1") is None
    run.delete(ALICE, "k1")
    assert run.get(ALICE, "k1") is None
    run.delete(ALICE, "k1")  # deleting what is gone is fine


def test_items_are_memkit_memories_of_the_namespace_user(store: MemkitStore, mem: Memory) -> None:
    store.put(ALICE, "k1", {"content": "Likes green tea"})
    (record,) = mem.get_all(user_id="alice@example.com").results
    assert (record.memory, record.app_id) == ("Likes green tea", "langgraph")
    assert mem.search("tea", user_id="bob@example.com").results == []


def test_labels_with_dots_never_collide(run: Any) -> None:
    run.put(("a.b",), "k", {"v": 1})
    run.put(("a", "b"), "k", {"v": 2})
    assert run.get(("a.b",), "k").value == {"v": 1}
    assert run.get(("a", "b"), "k").value == {"v": 2}
    assert [i.value for i in run.search(("a",))] == [{"v": 2}]


def test_same_text_under_two_keys_stays_two_items(run: Any) -> None:
    run.put(ALICE, "k1", {"content": "Likes green tea"})
    run.put(ALICE, "k2", {"content": "Likes green tea"})
    assert sorted(i.key for i in run.search(ALICE)) == ["k1", "k2"]
    assert run.get(ALICE, "k2").value == {"content": "Likes green tea"}


def test_search_prefix_filter_limit_offset(run: Any) -> None:
    for i in range(6):
        run.put(ALICE if i % 2 else BOB, f"k{i}", {"n": i, "kind": "odd" if i % 2 else "even"})
        time.sleep(0.002)
    run.put(("other",), "x", {"n": 100})
    assert len(run.search((), limit=100)) == 7
    assert len(run.search(("memories",), limit=100)) == 6
    assert {i.key for i in run.search(ALICE)} == {"k1", "k3", "k5"}
    assert {i.key for i in run.search(("memories",), filter={"kind": "even"})} == {"k0", "k2", "k4"}
    newest_first = [i.key for i in run.search(("memories",), limit=3, offset=1)]
    assert newest_first == ["k4", "k3", "k2"]
    hits = run.search(("memories",), filter={"n": {"$gte": 2, "$lt": 5}, "kind": {"$ne": "odd"}})
    assert [i.key for i in hits] == ["k4", "k2"]
    assert all(i.score is None for i in hits)


def test_query_ranks_by_meaning_within_prefix_and_filter(run: Any) -> None:
    run.put(ALICE, "tea", {"content": "Drinks green tea every morning", "kind": "food"})
    run.put(ALICE, "chess", {"content": "Plays chess on weekends", "kind": "hobby"})
    run.put(ALICE, "sushi", {"content": "Loves sushi", "kind": "food"})
    run.put(BOB, "coffee", {"content": "Drinks coffee", "kind": "food"})
    hits = run.search(ALICE, query="a cup of green tea in the morning", limit=2)
    assert len(hits) == 2 and hits[0].key == "tea"
    assert hits[0].score > hits[1].score
    food = [h.key for h in run.search(ALICE, query="games", filter={"kind": "food"})]
    assert sorted(food) == ["sushi", "tea"]
    paged = run.search(ALICE, query="games", filter={"kind": "food"}, limit=1, offset=1)
    assert [h.key for h in paged] == food[1:]
    assert [h.key for h in run.search(("memories",), query="coffee", limit=1)] == ["coffee"]


def test_unindexed_items_fill_a_query_unscored(run: Any) -> None:
    run.put(ALICE, "a", {"content": "Drinks green tea"})
    run.put(ALICE, "b", {"content": "Drinks coffee"}, index=False)
    hits = run.search(ALICE, query="coffee")
    assert [(h.key, h.score is None) for h in hits] == [("a", False), ("b", True)]


def test_index_fields_choose_the_embedded_text(mem: Memory) -> None:
    store = MemkitStore(mem, index_fields=["title"])
    store.put(("docs",), "d1", {"title": "Paris travel guide", "body": "..."})
    assert [r.memory for r in mem.get_all(app_id="langgraph").results] == ["Paris travel guide"]
    store.put(("docs",), "d2", {"title": "x", "body": "y"}, index=["body"])
    assert store.get(("docs",), "d2").value == {"title": "x", "body": "y"}


def test_filters_match_like_jsonb() -> None:
    # Pushed-down conditions must keep every item the exact check would keep.
    assert push_down({"n": 1}) == [
        {"OR": [{"metadata": {"lg.f.n": {"eq": 1}}}, {"metadata": {"lg.partial": True}}]}
    ]
    assert push_down({"x": {"$ne": "a"}}) == [{"metadata": {"lg.f.x": {"ne": "a"}}}]
    assert push_down({"bad key": 1, "nested": {"a": 1}, "s": {"$gt": "b"}}) == []


def test_bools_are_not_numbers_and_nesting_matches_subsets(run: Any) -> None:
    run.put(("t",), "bool", {"flag": True, "meta": {"a": 1, "b": 2}, "tags": ["x", "y"]})
    run.put(("t",), "one", {"flag": 1})
    assert [i.key for i in run.search(("t",), filter={"flag": True})] == ["bool"]
    assert [i.key for i in run.search(("t",), filter={"flag": 1})] == ["one"]
    assert [i.key for i in run.search(("t",), filter={"meta": {"a": 1}})] == ["bool"]
    assert [i.key for i in run.search(("t",), filter={"tags": ["x", "y"]})] == ["bool"]
    assert run.search(("t",), filter={"missing": {"$gt": 0}}) == []


def test_large_values_round_trip_and_too_large_ones_are_refused(run: Any) -> None:
    value = {"content": "tea " * 2000, "notes": ["n" * 3000, "m" * 3000]}
    run.put(("big",), "k", value)
    assert run.get(("big",), "k").value == value
    with pytest.raises(ValueError, match="too large"):
        run.put(("big",), "k2", {"a": "x" * 20_000, "b": "y" * 20_000})


def test_list_namespaces(run: Any) -> None:
    for ns in [ALICE, BOB, ("memories", "carol", "profile"), ("docs", "v1"), ("docs", "v2")]:
        run.put(ns, "k", {"v": 1})
    assert run.list_namespaces() == sorted(
        [ALICE, BOB, ("memories", "carol", "profile"), ("docs", "v1"), ("docs", "v2")]
    )
    assert run.list_namespaces(prefix=("docs",)) == [("docs", "v1"), ("docs", "v2")]
    assert run.list_namespaces(suffix=("v2",)) == [("docs", "v2")]
    assert run.list_namespaces(prefix=("memories", "*", "profile")) == [
        ("memories", "carol", "profile")
    ]
    assert run.list_namespaces(max_depth=1) == [("docs",), ("memories",)]
    assert run.list_namespaces(limit=2, offset=1) == [("docs", "v2"), ALICE]


def test_batch_runs_ops_in_order(store: MemkitStore, both: Any) -> None:
    ops = [
        PutOp(ALICE, "k", {"content": "Likes tea"}),
        GetOp(ALICE, "k"),
        SearchOp(("memories",), None, 10, 0, "tea"),
        ListNamespacesOp(None, None, 10, 0),
        PutOp(ALICE, "k", None),
        GetOp(ALICE, "k"),
    ]
    put, got, found, spaces, deleted, gone = both(
        lambda: store.batch(ops), lambda: store.abatch(ops)
    )
    assert put is None and deleted is None and gone is None
    assert got.value == {"content": "Likes tea"} and [i.key for i in found] == ["k"]
    assert spaces == [ALICE]


def test_namespace_rules(store: MemkitStore) -> None:
    for bad in [(), ("langgraph", "x"), ("a", ""), ("a\x00",)]:
        with pytest.raises(InvalidNamespaceError):
            store.put(bad, "k", {"v": 1})


def test_same_answers_as_langgraphs_in_memory_store(store: MemkitStore) -> None:
    reference = InMemoryStore()
    rows = [
        (("u", "1"), "a", {"n": 1, "c": "x"}),
        (("u", "1"), "b", {"n": 2.5, "c": "y"}),
        (("u", "2"), "c", {"n": 3, "c": "x", "d": {"e": [1, 2]}}),
        (("v",), "d", {"n": 4}),
    ]
    for ns, key, value in rows:
        store.put(ns, key, value)
        reference.put(ns, key, value)
    for prefix, flt in [
        (("u",), {"c": "x"}),
        ((), {"n": {"$gt": 1.5}}),
        (("u", "2"), None),
        ((), {"d": {"e": [1, 2]}}),
        ((), {"c": {"$ne": "x"}, "n": {"$lte": 4}}),
    ]:
        ours = {(i.namespace, i.key) for i in store.search(prefix, filter=flt, limit=50)}
        theirs = {(i.namespace, i.key) for i in reference.search(prefix, filter=flt, limit=50)}
        assert ours == theirs, (prefix, flt)


def test_encoding_keeps_one_copy_of_the_text() -> None:
    text, metadata = encode_item(ALICE, "k", {"content": "Likes tea"}, None)
    assert text == "Likes tea" and metadata["lg.value.0"] == "{}"
    assert metadata["lg.text_key"] == "content" and metadata["lg.ns.1"] == "alice@example.com"
