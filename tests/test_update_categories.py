"""``update`` and ``batch_update`` recompute a memory's categories when its text changes.

Categories decide what a spoken topic delete removes ("Delete all of my food
preferences"), so a memory rewritten to another topic must not keep its old ones: that
deleted "Watches football" as a food preference. A metadata-only change keeps them.
Through the public API, on every deployment of the ``memory`` fixture.
"""

from __future__ import annotations

from typing import Any

import pytest

from memkit import Memory
from memkit.testing import HashEmbedder
from memkit.testing.openai_server import ScriptedOpenAI


def texts(memory: Any, user_id: str) -> list[str]:
    return sorted(m.memory for m in memory.get_all(user_id=user_id).results)


def test_a_rewritten_memory_leaves_its_old_topic_delete(memory):
    (added,) = memory.add("I love pizza", user_id="sam").results
    assert memory.get(added.id).categories == ["food_preferences"]

    updated = memory.update(added.id, "Watches football")
    assert "sports" in updated.categories
    assert "food_preferences" not in updated.categories
    assert memory.get(added.id).categories == updated.categories

    events = memory.add("Delete all of my food preferences", user_id="sam").results
    assert [e.event for e in events if e.event == "DELETE"] == []
    assert texts(memory, "sam") == ["Watches football"]

    events = memory.add("Delete all of my sports memories", user_id="sam").results
    assert [(e.event, e.memory) for e in events] == [("DELETE", "Watches football")]
    assert texts(memory, "sam") == []


def test_the_new_categories_are_what_filters_see(memory):
    (added,) = memory.add("I love pizza", user_id="sam").results
    memory.update(added.id, "Watches football")

    def in_category(name: str) -> list[str]:
        page = memory.get_all(filters={"user_id": "sam", "categories": {"in": [name]}})
        return [m.memory for m in page.results]

    assert in_category("food_preferences") == []
    assert in_category("sports") == ["Watches football"]


def test_batch_update_recomputes_each_changed_text(memory):
    pizza, oslo = memory.add(
        [{"role": "user", "content": "I love pizza. I live in Oslo."}], user_id="sam"
    ).results
    assert pizza.memory == "Loves pizza" and oslo.memory == "Lives in Oslo"
    before_oslo = memory.get(oslo.id).categories

    result = memory.batch_update(
        [
            {"memory_id": pizza.id, "text": "Plays tennis on Sundays"},
            {"memory_id": oslo.id, "metadata": {"source": "profile"}},
        ]
    )
    assert result.count == 2

    assert memory.get(pizza.id).categories == ["sports"]
    assert memory.get(oslo.id).categories == before_oslo  # metadata only: kept
    assert memory.get(oslo.id).metadata == {"source": "profile"}
    # The history row is the edit, as before: old and new text.
    last = memory.history(pizza.id)[-1]
    assert (last.event, last.old_memory, last.new_memory) == (
        "UPDATE",
        "Loves pizza",
        "Plays tennis on Sundays",
    )


def test_metadata_only_and_same_text_updates_keep_given_categories(memory):
    # Categories given to add are kept by any update that leaves the text as it is.
    (added,) = memory.add(
        "Loves pizza", user_id="sam", infer=False, categories=["travel", "custom"]
    ).results
    memory.update(added.id, metadata={"source": "chat"})
    assert memory.get(added.id).categories == ["travel", "custom"]
    memory.update(added.id, "Loves pizza", metadata={"source": "chat 2"})
    assert memory.get(added.id).categories == ["travel", "custom"]

    memory.update(added.id, data="Listens to jazz")  # mem0's name for the text
    assert memory.get(added.id).categories == ["music"]


@pytest.mark.parametrize(
    "categories",
    [
        None,
        {"pets": "Dogs, cats and other animals", "misc": "Anything else"},
        {"finance": "Money, savings, investments and banking", "garden": "", "misc": ""},
    ],
)
def test_an_update_tags_a_text_as_add_would(categories):
    # The extractor's categoriser is the update's: the same text gets the same categories.
    facts = [
        "I have a dog",
        "I put my savings into index funds",
        "I grow tomatoes on my balcony",
        "I live in Oslo",
        "I love pizza",
    ]
    with Memory(config={"categories": categories}) as memory:
        (placeholder,) = memory.add("Plays chess", user_id="other", infer=False).results
        for fact in facts:
            (added,) = memory.add(fact, user_id="sam").results
            updated = memory.update(placeholder.id, added.memory)
            assert updated.categories == memory.get(added.id).categories, fact


def test_with_an_llm_configured_an_update_makes_no_model_call():
    with ScriptedOpenAI() as server:
        llm = {"model": "test-model", "base_url": server.url, "api_key": "test-key"}
        config = {"llm": {"provider": "openai", "config": llm}}
        with Memory(config=config, embedder=HashEmbedder()) as memory:
            (added,) = memory.add(
                "Loves pizza", user_id="sam", infer=False, categories=["food_preferences"]
            ).results
            assert memory.update(added.id, "Watches football").categories == [
                "sports",
                "entertainment",
            ]
            memory.batch_update([{"memory_id": added.id, "text": "Plays tennis"}])
            assert memory.get(added.id).categories == ["sports"]
        assert server.requests == []
