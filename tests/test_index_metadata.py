"""The index holds each memory's current categories and metadata, never an old version's.

Chroma's upsert merges a record's new metadata into its old metadata, so an updated memory
kept its old ``cat:`` and ``md:`` keys in the index, and every filter Chroma answers (all of
them on a Chroma server; embedded, the filters that pin no single entity and scopes over
``EXACT_LIMIT``) matched what the memory no longer was. And because a topic delete ("Delete
all of my food preferences") takes its candidates from such a filter, the record store has
the last word on what it removes, however stale the index (checked by writing stale keys
into Chroma behind memkit's back). Through the public API, on every deployment of the
``memory`` fixture, with ``EXACT_LIMIT`` at 0 so the embedded ones ask Chroma too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from memkit import Memory
from memkit.search import _exact
from memkit.store._index import generation_dir
from memkit.testing import HashEmbedder, corrupt_index
from memkit.testing.openai_server import ScriptedOpenAI


@pytest.fixture(autouse=True)
def chroma_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scope counts as large: filters go to Chroma, not the record store's exact path."""
    monkeypatch.setattr(_exact, "EXACT_LIMIT", 0)


def engine(memory: Any) -> Memory:
    """The Memory behind the ``memory`` fixture (AsyncMemory's test view keeps it as .sync)."""
    return getattr(memory, "sync", memory)


def reopened(memory: Any) -> Memory:
    """The same store closed and opened again (the fixture's own close is then a no-op)."""
    mem = engine(memory)
    mem.close()
    return Memory(config=mem.config)


def stale(memory: Any, memory_id: str, keys: dict[str, Any]) -> None:
    """Write ``keys`` into the index's metadata of one memory, behind memkit's back."""
    backend = engine(memory).backend
    backend.sync_index()
    backend.index._collection.update(ids=[memory_id], metadatas=[keys])


def found(memory: Any, filters: dict[str, Any]) -> dict[str, list[str]]:
    """What get_all and search return for ``filters`` (both read candidates from Chroma)."""
    return {
        "get_all": sorted(m.memory for m in memory.get_all(filters=filters).results),
        "search": sorted(m.memory for m in memory.search("what", filters=filters).results),
    }


def both(*texts: str) -> dict[str, list[str]]:
    return {"get_all": sorted(texts), "search": sorted(texts)}


# Two ways to ask for sam's memories: one entity pinned (the exact path when the scope is
# small), and an ``in`` that pins none (Chroma, whatever the scope's size).
SCOPES = [{"user_id": "sam"}, {"user_id": {"in": ["sam"]}}]


def in_category(scope: dict[str, Any], name: str) -> dict[str, Any]:
    return {**scope, "categories": {"in": [name]}}


def with_metadata(scope: dict[str, Any], key: str, condition: Any) -> dict[str, Any]:
    return {**scope, "metadata": {key: condition}}


@pytest.mark.parametrize("scope", SCOPES, ids=["pinned", "in"])
def test_an_updated_text_is_filtered_by_its_new_categories_only(memory, scope):
    (pizza,) = memory.add("I love pizza", user_id="sam").results
    (oslo,) = memory.add("I live in Oslo", user_id="sam").results
    ever = {*memory.get(pizza.id).categories, *memory.get(oslo.id).categories}
    assert found(memory, in_category(scope, "food_preferences")) == both("Loves pizza")

    memory.update(pizza.id, "Watches football")
    memory.batch_update([{"memory_id": oslo.id, "text": "I love sushi"}])
    now = {m.memory: set(m.categories) for m in memory.get_all(user_id="sam").results}
    assert "food_preferences" not in now["Watches football"]
    assert "sports" in now["Watches football"]
    assert "food_preferences" in now["I love sushi"]
    ever |= {name for names in now.values() for name in names}
    assert ever - now["I love sushi"] - now["Watches football"]  # a category was left

    def check(mem: Any) -> None:
        for name in sorted(ever):  # each category finds exactly what the record store says
            expected = [text for text, names in now.items() if name in names]
            assert found(mem, in_category(scope, name)) == both(*expected), name

    check(memory)
    with reopened(memory) as again:
        check(again)


@pytest.mark.parametrize("scope", SCOPES, ids=["pinned", "in"])
def test_updated_metadata_is_filtered_by_its_new_keys_only(memory, scope):
    metadata = {"source": "chat", "mood": "happy", "n": 3}
    (pizza,) = memory.add("Loves pizza", user_id="sam", infer=False, metadata=metadata).results
    memory.add("Lives in Oslo", user_id="sam", infer=False, metadata={"source": "chat"})
    # Read through Chroma first: the index takes the first version before the update (an
    # embedded store's writer would otherwise write only the last of the two).
    assert found(memory, with_metadata(scope, "mood", "happy")) == both("Loves pizza")
    assert found(memory, with_metadata(scope, "n", {"gte": 3})) == both("Loves pizza")

    updated = memory.update(pizza.id, metadata={"source": "profile", "n": "three"})
    assert updated.metadata == {"source": "profile", "n": "three"}

    def check(mem: Any) -> None:
        assert found(mem, with_metadata(scope, "mood", "happy")) == both()  # key removed
        assert found(mem, with_metadata(scope, "mood", {"in": ["happy", "sad"]})) == both()
        assert found(mem, with_metadata(scope, "source", "chat")) == both("Lives in Oslo")
        assert found(mem, with_metadata(scope, "source", "profile")) == both("Loves pizza")
        assert found(mem, with_metadata(scope, "n", {"gte": 3})) == both()  # no longer a number
        assert found(mem, with_metadata(scope, "n", "three")) == both("Loves pizza")

    check(memory)
    with reopened(memory) as again:
        check(again)


def test_a_topic_delete_removes_only_what_the_record_store_files_under_it(memory):
    memory.add("I love pizza", user_id="sam")
    (tennis,) = memory.add("I play tennis on Sundays", user_id="sam").results
    assert "food_preferences" not in memory.get(tennis.id).categories
    stale(memory, tennis.id, {"cat:food_preferences": True})
    # The index now says tennis is a food preference; the record store does not.
    pinned = in_category({"user_id": "sam"}, "food_preferences")
    assert memory.get(tennis.id).memory in found(memory, pinned)["get_all"]

    events = memory.add("Delete all of my food preferences", user_id="sam").results
    assert [(e.event, e.memory) for e in events] == [("DELETE", "Loves pizza")]
    assert [m.id for m in memory.get_all(user_id="sam").results] == [tennis.id]


def test_a_topic_delete_from_the_model_is_checked_against_the_record_store():
    with ScriptedOpenAI() as server:
        llm = {"model": "test-model", "base_url": server.url, "api_key": "test-key"}
        config = {"llm": {"provider": "openai", "config": llm}}
        with Memory(config=config, embedder=HashEmbedder()) as memory:
            (pizza,) = memory.add(
                "Loves pizza", user_id="sam", infer=False, categories=["food_preferences"]
            ).results
            (tennis,) = memory.add(
                "Plays tennis", user_id="sam", infer=False, categories=["sports"]
            ).results
            stale(memory, tennis.id, {"cat:food_preferences": True})

            server.reply(
                {"memories": [], "forget": [{"source": 1, "categories": ["food_preferences"]}]}
            )
            result = memory.add("Delete all of my food preferences", user_id="sam")
            assert [(e.event, e.id) for e in result.results] == [("DELETE", pizza.id)]
            assert [m.id for m in memory.get_all(user_id="sam").results] == [tennis.id]


@pytest.fixture
def old_store(tmp_path) -> Iterator[Any]:
    """An embedded store whose index holds a key its memory lost in an update, as an index
    written before upserts removed such keys does; the check at open not yet done."""
    path = tmp_path / "store"
    with Memory(path, embedder=HashEmbedder()) as memory:
        (added,) = memory.add(
            "Loves pizza", user_id="sam", infer=False, categories=["sports"], metadata={"n": 1}
        ).results
        stale(memory, added.id, {"cat:food_preferences": True, "md:mood": "happy"})
        assert found(memory, in_category({"user_id": "sam"}, "food_preferences")) == both(
            "Loves pizza"
        )
    with sqlite3.connect(path / "memkit.db") as db:
        db.execute("DELETE FROM store_meta WHERE key = 'index_keys_checked'")
    return path


def test_opening_a_store_drops_the_keys_updated_memories_lost(old_store):
    with Memory(old_store, embedder=HashEmbedder()) as memory:
        scope = {"user_id": "sam"}
        assert found(memory, in_category(scope, "food_preferences")) == both()
        assert found(memory, with_metadata(scope, "mood", "happy")) == both()
        assert found(memory, in_category(scope, "sports")) == both("Loves pizza")
        assert found(memory, with_metadata(scope, "n", 1)) == both("Loves pizza")
        assert memory.activity(kind="repair")[0]["counts"]["upserted"] == 1


@pytest.mark.parametrize("repair", ["journal replay", "rebuild"])
def test_an_update_the_index_missed_is_indexed_whole_at_the_next_open(
    tmp_path, monkeypatch, repair
):
    store = tmp_path / "store"
    memory = Memory(store, embedder=HashEmbedder())
    (added,) = memory.add(
        "Loves pizza",
        user_id="sam",
        infer=False,
        categories=["food_preferences"],
        metadata={"mood": "happy"},
    ).results
    scope = {"user_id": "sam"}
    assert found(memory, in_category(scope, "food_preferences")) == both("Loves pizza")

    def down(*args: Any, **kwargs: Any) -> None:
        raise OSError("simulated: the index is down")

    with monkeypatch.context() as patch:
        patch.setattr(memory.backend.index._collection, "upsert", down)
        memory.update(added.id, "Plays tennis", metadata={"source": "profile"})
        memory.close()  # the index never took the update: the journal keeps it
    if repair == "rebuild":
        corrupt_index(generation_dir(store / "index"))

    with Memory(store, embedder=HashEmbedder()) as again:
        counts = again.activity(kind="repair")[0]["counts"]
        assert counts["rebuilt" if repair == "rebuild" else "journal_replayed"] == 1
        assert "food_preferences" not in again.get(added.id).categories
        assert found(again, in_category(scope, "food_preferences")) == both()
        assert found(again, with_metadata(scope, "mood", "happy")) == both()
        assert found(again, with_metadata(scope, "source", "profile")) == both("Plays tennis")
        for name in again.get(added.id).categories:
            assert found(again, in_category(scope, name)) == both("Plays tennis")
