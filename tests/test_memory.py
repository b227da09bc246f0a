"""The parity suite: every behaviour of the reference document, through Memory and AsyncMemory.

The ``memory`` fixture is parametrised, so each test runs once per class.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from memkit.errors import (
    BatchLimitError,
    InvalidFilterError,
    InvalidInputError,
    MemoryNotFoundError,
    MetadataError,
)

ALEX_INTRO = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {
        "role": "assistant",
        "content": "Hello Alex! I've noted that you're a vegetarian and have a nut allergy. "
        "I'll keep this in mind for any food-related recommendations or discussions.",
    },
]


def texts(page) -> list[str]:
    return sorted(m.memory for m in page.results)


def snapshot(memory) -> list[tuple]:
    """Everything observable about the store, to check that a failed call changed nothing."""
    page = memory.get_all(page_size=1000)
    return sorted((m.id, m.memory, m.updated_at, tuple(m.categories)) for m in page.results)


# ---- add ----------------------------------------------------------------------------------


def test_long_term_memory_with_metadata(memory):
    result = memory.add(ALEX_INTRO, user_id="alex", metadata={"food": "vegan"})
    events = result["results"]
    assert {e.event for e in events} == {"ADD"}
    stored = memory.get_all(user_id="alex")
    assert stored.count == 3
    joined = " | ".join(texts(stored)).lower()
    assert "alex" in joined and "vegetarian" in joined and "allergic to nuts" in joined
    for record in stored.results:
        assert record.user_id == "alex" and record.agent_id is None
        assert record.metadata == {"food": "vegan"}
    vegetarian = next(m for m in stored.results if "vegetarian" in m.memory.lower())
    assert "food_preferences" in vegetarian.categories
    # the assistant's echo of the user's facts never becomes a memory of its own
    assert all("noted" not in m.memory for m in stored.results)


def test_session_memories_carry_the_run(memory):
    messages = [
        {"role": "user", "content": "I'm planning a trip to Japan next month."},
        {
            "role": "assistant",
            "content": "That's exciting, Alex! Would you like some "
            "recommendations for vegetarian-friendly restaurants in Japan?",
        },
        {"role": "user", "content": "Yes, please! Especially in Tokyo."},
    ]
    memory.add(messages, user_id="alex", run_id="trip-planning-2024")
    page = memory.get_all(user_id="alex", run_id="trip-planning-2024")
    assert page.count >= 1
    assert any("japan" in m.memory.lower() for m in page.results)
    assert all(m.run_id == "trip-planning-2024" for m in page.results)
    assert memory.get_all(run_id="another-run").count == 0


def test_agent_memories_come_from_the_assistant_only(memory):
    messages = [
        {
            "role": "system",
            "content": "You are an AI tutor with a personality. Give yourself a name for the user.",
        },
        {
            "role": "assistant",
            "content": "Understood. I'm an AI tutor with a personality. My name is Alice.",
        },
    ]
    memory.add(messages, agent_id="ai-tutor")
    page = memory.get_all(agent_id="ai-tutor")
    joined = " | ".join(texts(page))
    assert "Alice" in joined
    assert "Give yourself" not in joined
    assert all(m.agent_id == "ai-tutor" and m.user_id is None for m in page.results)


def test_dual_tagging(memory):
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]
    memory.add(messages=messages, user_id="user1", agent_id="agent1")
    user = memory.get_all(user_id="user1")
    agent = memory.get_all(agent_id="agent1")
    assert any("San Francisco" in m.memory for m in user.results)
    assert any("Dubai" in m.memory for m in agent.results)
    assert all(m.agent_id is None for m in user.results)
    assert all(m.user_id is None for m in agent.results)
    assert not any("Dubai" in m.memory for m in user.results)


def test_infer_false_stores_verbatim_and_deduplicates(memory):
    first = memory.add("Loves hiking in the Alps", user_id="u", infer=False)
    assert [e.event for e in first.results] == ["ADD"]
    assert memory.get(first.results[0].id).memory == "Loves hiking in the Alps"
    again = memory.add("Loves hiking in the Alps", user_id="u", infer=False)
    assert [e.event for e in again.results] == ["NONE"]
    assert again.results[0].id == first.results[0].id
    assert memory.get_all(user_id="u").count == 1


def test_system_messages_never_become_memories(memory):
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "I play the cello."},
    ]
    memory.add(messages, user_id="u", infer=False)
    assert texts(memory.get_all(user_id="u")) == ["I play the cello."]


def test_timestamp_sets_created_at(memory):
    result = memory.add("Visited Rome", user_id="u", infer=False, timestamp="2023-05-08T13:56:00")
    record = memory.get(result.results[0].id)
    assert record.created_at == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    dumped = record.model_dump(mode="json")
    assert dumped["created_at"] == "2023-05-08T13:56:00+00:00"
    epoch = memory.add("Visited Oslo", user_id="u", infer=False, timestamp=1_600_000_000)
    assert memory.get(epoch.results[0].id).created_at.timestamp() == 1_600_000_000


def test_explicit_categories_skip_categorisation(memory):
    result = memory.add("Enjoys football", user_id="alex", infer=False, categories=["likes"])
    assert memory.get(result.results[0].id).categories == ["likes"]


# ---- search -------------------------------------------------------------------------------


@pytest.fixture
def populated(memory):
    memory.add(ALEX_INTRO, user_id="alex", metadata={"food": "vegan"})
    memory.add("Works as a support engineer", agent_id="customer-support", infer=False)
    memory.add("Recommends museums in Paris", agent_id="travel-assistant", infer=False)
    memory.add("Likes jazz", user_id="bob", infer=False)
    memory.add("Booked a hotel in Kyoto", user_id="alex", run_id="trip", infer=False)
    return memory


def test_search_ranks_by_relevance(populated):
    hits = populated.search("What does Alex eat?", user_id="alex").results
    assert hits and "vegetarian" in " ".join(h.memory.lower() for h in hits[:2])
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(h.user_id == "alex" for h in hits)


REFERENCE_FILTERS = {
    "ids": {
        "OR": [{"user_id": "alex"}, {"agent_id": {"in": ["travel-assistant", "customer-support"]}}]
    },
    "dates": {
        "AND": [{"created_at": {"gte": "2024-07-20", "lte": "2024-07-10"}}, {"user_id": "alex"}]
    },
    "metadata_categories": {
        "AND": [{"metadata": {"food": "vegan"}}, {"categories": {"contains": "food_preferences"}}]
    },
    "not": {"NOT": [{"categories": {"contains": "food_preferences"}}]},
    "wildcard": {"AND": [{"user_id": "alex"}, {"run_id": "*"}]},
}


def test_reference_search_filters(populated):
    def run(name):
        return populated.search(
            "What do you know about me?", version="v2", filters=REFERENCE_FILTERS[name]
        ).results

    ids = run("ids")
    assert {h.user_id or h.agent_id for h in ids} == {
        "alex",
        "travel-assistant",
        "customer-support",
    }
    assert run("dates") == []  # an empty range matches nothing; it is not an error
    meta = run("metadata_categories")
    assert meta and all(
        h.metadata["food"] == "vegan" and "food_preferences" in h.categories for h in meta
    )
    negated = run("not")
    assert negated and all("food_preferences" not in h.categories for h in negated)
    assert [h.memory for h in run("wildcard")] == ["Booked a hotel in Kyoto"]


def test_search_threshold_and_top_k(populated):
    everything = populated.search("hotel in Kyoto", top_k=100).results
    assert len(everything) == populated.get_all().count
    top = populated.search("hotel in Kyoto", top_k=1).results
    assert [h.memory for h in top] == ["Booked a hotel in Kyoto"]
    cut = populated.search("hotel in Kyoto", threshold=top[0].score - 1e-6).results
    assert [h.memory for h in cut] == ["Booked a hotel in Kyoto"]


def test_search_text_filters(populated):
    hits = populated.search("anything", filters={"text": {"icontains": "KYOTO"}}).results
    assert [h.memory for h in hits] == ["Booked a hotel in Kyoto"]
    mixed = populated.search(
        "anything",
        filters={"OR": [{"text": {"contains": "jazz"}}, {"agent_id": "travel-assistant"}]},
    )
    assert sorted(h.memory for h in mixed.results) == ["Likes jazz", "Recommends museums in Paris"]


# ---- get_all ------------------------------------------------------------------------------


def test_get_all_pages_never_overlap(memory):
    for i in range(25):
        memory.add(f"Fact number {i}", user_id="alex", infer=False, timestamp=1_700_000_000 + i)
    seen = []
    page = memory.get_all(user_id="alex", page=1, page_size=10)
    assert (page.count, page.page, page.next, page.previous) == (25, 1, 2, None)
    while True:
        seen.extend(m.id for m in page.results)
        if page.next is None:
            break
        page = memory.get_all(user_id="alex", page=page.next, page_size=10)
    assert len(seen) == len(set(seen)) == 25
    assert (page.page, page.previous, len(page.results)) == (3, 2, 5)
    first = memory.get_all(user_id="alex", page_size=3).results
    assert [m.memory for m in first] == ["Fact number 24", "Fact number 23", "Fact number 22"]


def test_get_all_categories_keywords_and_filters(memory):
    memory.add("Likes to play chess", user_id="alex", infer=False, categories=["likes"])
    memory.add("Eats no meat", user_id="alex", infer=False, categories=["food_preferences"])
    memory.add("Lives in Paris", user_id="alex", infer=False, categories=["personal_details"])
    assert texts(memory.get_all(user_id="alex", categories=["likes"])) == ["Likes to play chess"]
    both = memory.get_all(user_id="alex", categories=["likes", "food_preferences"])
    assert texts(both) == ["Eats no meat", "Likes to play chess"]
    assert texts(memory.get_all(user_id="alex", keywords="to play", page=1, page_size=50)) == [
        "Likes to play chess"
    ]
    today = datetime.now(UTC).date().isoformat()
    filters = {
        "AND": [
            {"user_id": "alex"},
            {"created_at": {"gte": today, "lte": today}},
            {"categories": {"contains": "food_preferences"}},
        ]
    }
    assert texts(memory.get_all(version="v2", filters=filters)) == ["Eats no meat"]
    assert memory.get_all(version="v2", filters=filters, page=1, page_size=50).count == 1


# ---- history, update, batches -----------------------------------------------------------


def test_history_of_a_changed_mind(memory):
    messages = [
        {
            "role": "user",
            "content": "I recently tried chicken and I loved it. "
            "I'm thinking of trying more non-vegetarian dishes..",
        }
    ]
    first = memory.add(messages, user_id="alex")
    assert first.results and {e.event for e in first.results} == {"ADD"}
    messages.append({"role": "user", "content": "I turned vegetarian now."})
    second = memory.add(messages, user_id="alex")
    updates = [e for e in second.results if e.event == "UPDATE"]
    assert updates, second
    changed = updates[0]
    assert "vegetarian" in changed.memory.lower() and changed.previous_memory
    history = memory.history(changed.id)
    assert [h.event for h in history] == ["ADD", "UPDATE"]
    assert history[1].old_memory == changed.previous_memory
    assert history[1].new_memory == changed.memory
    # the first message was already known: nothing about chicken was added twice
    assert not [e for e in second.results if e.event == "ADD" and "chicken" in e.memory.lower()]


def test_update_text_and_metadata(memory):
    added = memory.add("Is thinking about going vegetarian", user_id="alex", infer=False)
    memory_id = added.results[0].id
    updated = memory.update(
        memory_id=memory_id, text="I am now a vegetarian.", metadata={"diet": "vegetarian"}
    )
    assert (updated.memory, updated.metadata) == ("I am now a vegetarian.", {"diet": "vegetarian"})
    assert updated.updated_at >= updated.created_at
    hits = memory.search("vegetarian diet", user_id="alex").results
    assert hits[0].id == memory_id and hits[0].memory == "I am now a vegetarian."
    history = memory.history(memory_id)
    assert [(h.event, h.old_memory, h.new_memory) for h in history] == [
        ("ADD", None, "Is thinking about going vegetarian"),
        ("UPDATE", "Is thinking about going vegetarian", "I am now a vegetarian."),
    ]


def test_batch_update_and_delete(memory):
    ids = [
        memory.add(t, user_id="u", infer=False).results[0].id
        for t in ("Watches tennis", "Hates travel", "Owns a cat")
    ]
    result = memory.batch_update(
        [
            {"memory_id": ids[0], "text": "Watches football"},
            {"memory_id": ids[1], "text": "Loves to travel"},
        ]
    )
    assert result.model_dump() == {"message": "Successfully updated 2 memories", "count": 2}
    assert memory.get(ids[0]).memory == "Watches football"
    deleted = memory.batch_delete([{"memory_id": ids[0]}, {"memory_id": ids[1]}])
    assert deleted.count == 2
    assert texts(memory.get_all(user_id="u")) == ["Owns a cat"]
    assert [h.event for h in memory.history(ids[0])] == ["ADD", "UPDATE", "DELETE"]


def test_batches_are_all_or_nothing(memory):
    kept = memory.add("Owns a cat", user_id="u", infer=False).results[0].id
    before = snapshot(memory)
    with pytest.raises(MemoryNotFoundError):
        memory.batch_update(
            [{"memory_id": kept, "text": "Owns a dog"}, {"memory_id": "no-such-id", "text": "x"}]
        )
    with pytest.raises(MemoryNotFoundError):
        memory.batch_delete([{"memory_id": kept}, {"memory_id": "no-such-id"}])
    too_many = [{"memory_id": kept}] * 1001
    with pytest.raises(BatchLimitError):
        memory.batch_delete(too_many)
    with pytest.raises(InvalidInputError):
        memory.batch_update([{"memory_id": kept, "txt": "typo"}])
    assert snapshot(memory) == before


# ---- entities and deletes -----------------------------------------------------------------


def test_users_and_deletes(populated):
    listed = populated.users()
    by_id = {(e.type, e.id): e for e in listed.results}
    assert by_id[("user", "alex")].total_memories == 4
    assert by_id[("user", "alex")].name == "alex"
    assert ("agent", "travel-assistant") in by_id and ("run", "trip") in by_id
    assert listed.count == len(listed.results)

    one = populated.get_all(user_id="bob").results[0]
    populated.delete(one.id)
    with pytest.raises(MemoryNotFoundError):
        populated.get(one.id)
    assert [h.event for h in populated.history(one.id)] == ["ADD", "DELETE"]

    populated.delete_all(user_id="alex")
    assert populated.get_all(user_id="alex").count == 0
    populated.delete_users(agent_id="travel-assistant")
    remaining = {(e.type, e.id) for e in populated.users().results}
    assert ("agent", "travel-assistant") not in remaining
    assert ("agent", "customer-support") in remaining
    with pytest.raises(InvalidInputError):
        populated.delete_users()
    with pytest.raises(InvalidInputError):
        populated.delete_all()
    populated.reset()
    assert populated.get_all().count == 0 and populated.users().count == 0


def test_natural_language_delete(memory):
    memory.add(ALEX_INTRO, user_id="alex")
    memory.add("I live in Paris", user_id="alex")
    memory.add("I'm a vegetarian", user_id="sam")
    result = memory.add(
        [{"role": "user", "content": "Delete all of my food preferences"}], user_id="alex"
    )
    deleted = [e for e in result.results if e.event == "DELETE"]
    assert deleted and all(e.user_id == "alex" for e in deleted)
    left = " | ".join(texts(memory.get_all(user_id="alex"))).lower()
    assert "vegetarian" not in left and "paris" in left
    assert memory.get_all(user_id="sam").count == 1  # another user's memories are untouched
    memory.add("Forget that I live in Paris", user_id="alex")
    assert "paris" not in " ".join(texts(memory.get_all(user_id="alex"))).lower()


# ---- bad input changes nothing ------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (
            lambda m: m.search("q", filters={"OR": [{"user_id": "alex"}, {"colour": "red"}]}),
            InvalidFilterError,
        ),
        (lambda m: m.search("q", filters={"user_id": {"like": "al%"}}), InvalidFilterError),
        (lambda m: m.get_all(filters={"created_at": {"gte": 20240101}}), InvalidFilterError),
        (lambda m: m.add("x", user_id="u", metadata={"nested": {"a": 1}}), MetadataError),
        (lambda m: m.add("x", user_id="u", metadata={"none": None}), MetadataError),
        (
            lambda m: m.add("x", user_id="u", metadata={f"k{i}": i for i in range(10_000)}),
            MetadataError,
        ),
        (lambda m: m.add([], user_id="u"), InvalidInputError),
        (lambda m: m.add("   ", user_id="u"), InvalidInputError),
        (lambda m: m.add("x"), InvalidInputError),
        (lambda m: m.add([{"role": "robot", "content": "x"}], user_id="u"), InvalidInputError),
        (lambda m: m.add("x", user_id="u", timestamp="yesterday"), InvalidInputError),
        (lambda m: m.get("no-such-id"), MemoryNotFoundError),
        (lambda m: m.update("no-such-id", text="x"), MemoryNotFoundError),
        (lambda m: m.delete("no-such-id"), MemoryNotFoundError),
        (lambda m: m.history("no-such-id"), MemoryNotFoundError),
        (lambda m: m.get_all(page=0), InvalidInputError),
        (lambda m: m.get_all(page_size=1001), InvalidInputError),
        (lambda m: m.search("q", top_k=0), InvalidInputError),
        (lambda m: m.search("q", user_id=""), InvalidInputError),
        (lambda m: m.search("q", filter={"user_id": "x"}), InvalidInputError),
    ],
)
def test_bad_input_gets_a_typed_error_and_changes_nothing(memory, call, error):
    memory.add("Owns a cat", user_id="u", infer=False)
    before = snapshot(memory)
    with pytest.raises(error) as caught:
        call(memory)
    assert isinstance(caught.value, ValueError)
    assert snapshot(memory) == before


def test_filter_errors_name_the_path(memory):
    with pytest.raises(InvalidFilterError) as caught:
        memory.search("q", filters={"AND": [{"user_id": "a"}, {"created_at": {"gte": 5}}]})
    assert caught.value.path[:2] == ("AND", 1)


def test_activity_log_records_operations(memory):
    memory.add("Owns a cat", user_id="u", infer=False)
    memory.search("cat", user_id="u")
    with pytest.raises(MemoryNotFoundError):
        memory.get("nope")
    entries = memory.activity()
    kinds = [e["kind"] for e in entries]
    assert kinds[:3] == ["get", "search", "add"]
    add = entries[2]
    assert add["scope"] == {"user_id": "u"} and add["counts"]["ADD"] == 1
    assert add["latency_ms"] > 0
    assert entries[0]["error"].startswith("MemoryNotFoundError")


def test_session_transcripts(memory):
    memory.append_messages(
        "s1", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    )
    memory.append_messages("s1", "how are you?")
    memory.append_messages("s2", "other session")
    assert [(m.role, m.content) for m in memory.get_messages("s1")] == [
        ("user", "hi"),
        ("assistant", "hello"),
        ("user", "how are you?"),
    ]
    assert [m.content for m in memory.get_messages("s1", last=1)] == ["how are you?"]
    memory.clear_messages("s1")
    assert memory.get_messages("s1") == [] and len(memory.get_messages("s2")) == 1
    assert memory.get_all().count == 0  # a transcript is not long-term memory
    with pytest.raises(InvalidInputError):
        memory.get_messages("")


def test_transcripts_keep_message_metadata(memory):
    memory.append_messages("s", [{"role": "tool", "content": "42", "metadata": {"call": "c1"}}])
    assert memory.get_messages("s")[0].metadata == {"call": "c1"}


def test_same_text_under_other_metadata_is_its_own_memory(memory):
    first = memory.add("Note", user_id="u", infer=False, metadata={"key": "a"})
    second = memory.add("Note", user_id="u", infer=False, metadata={"key": "b"})
    again = memory.add("Note", user_id="u", infer=False, metadata={"key": "a"})
    assert [e.event for e in (*first.results, *second.results, *again.results)] == [
        "ADD",
        "ADD",
        "NONE",
    ]
    assert again.results[0].id == first.results[0].id


def test_an_injected_clock_dates_every_write(tmp_path):
    from memkit import Memory
    from memkit.testing import HashEmbedder

    now = [1_700_000_000.0]
    memory = Memory(tmp_path / "s", embedder=HashEmbedder(), clock=lambda: now[0])
    added = memory.add("I like green tea", user_id="alex", infer=False).results[0]
    now[0] += 3600
    memory.update(added.id, "I like black tea")
    record = memory.get(added.id)
    assert record.created_at.timestamp() == 1_700_000_000.0
    assert record.updated_at.timestamp() == 1_700_003_600.0
    memory.close()
