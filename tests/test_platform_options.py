"""The hosted platform's options of add, search and get_all, each from its documentation.

Every test runs through the ``memory`` fixture: Memory, AsyncMemory, PostgreSQL as the
record store, and a Chroma server with PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from memkit import Memory
from memkit.errors import ImmutableMemoryError, InvalidInputError
from memkit.extract import Operation, Plan

# ---- every result event carries the ids that apply ------------------------------------------


def test_each_event_carries_all_four_ids(memory):
    messages = [{"role": "user", "content": "I'm planning a trip to Japan next month."}]
    result = memory.add(messages, user_id="alex", app_id="travel", run_id="trip-planning-2024")
    assert result.results
    for event in result.results:
        assert (event.user_id, event.agent_id, event.app_id, event.run_id) == (
            "alex",
            None,
            "travel",
            "trip-planning-2024",
        )
        assert event.model_dump()["run_id"] == "trip-planning-2024"
    dual = memory.add(
        [
            {"role": "user", "content": "I'm travelling to San Francisco"},
            {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
        ],
        user_id="user1",
        agent_id="agent1",
        run_id="r1",
    )
    sides = {(e.user_id, e.agent_id, e.app_id, e.run_id) for e in dual.results}
    assert sides == {("user1", None, None, "r1"), (None, "agent1", None, "r1")}


# ---- add: includes / excludes, per-call instructions and categories -------------------------

JOHN = [
    {
        "role": "user",
        "content": "Hi! I'm John, 32 years old. I love pizza but I'm allergic to shellfish. "
        "The weather is nice today.",
    }
]


def texts(result) -> list[str]:
    return sorted(e.memory for e in result.results)


def test_includes_and_excludes_choose_what_is_stored(memory):
    """The platform's selective-memory example: personal details, food and health are kept,
    the remark about the weather is not."""
    plain = texts(memory.add(JOHN, user_id="plain"))
    assert "The weather is nice today" in plain
    chosen = memory.add(
        JOHN,
        user_id="john",
        includes="Extract personal details, food preferences, allergies, and health information",
        excludes="Ignore weather comments, greetings, and small talk",
    )
    assert texts(chosen) == sorted(t for t in plain if "weather" not in t)
    assert texts(memory.get_all(user_id="john")) == texts(chosen)


def test_includes_keeps_only_what_it_names_and_excludes_drops_what_it_names(memory):
    said = [
        {
            "role": "user",
            "content": "I'm a vegetarian. My credit card number ends in 4242. "
            "I have a dog named Rex.",
        }
    ]
    assert len(memory.add(said, user_id="all").results) == 3
    only_diet = memory.add(said, user_id="alice", includes="dietary preferences")
    assert texts(only_diet) == ["Is a vegetarian"]
    no_payment = memory.add(said, user_id="bob", excludes="payment info")
    assert texts(no_payment) == ["Has a dog named Rex", "Is a vegetarian"]


def test_per_call_instructions_and_categories_override_the_configured_ones(memory):
    said = [{"role": "user", "content": "I'm a vegetarian and I have a dog named Rex."}]
    pets = memory.add(said, user_id="a", custom_instructions="Only remember facts about pets.")
    assert texts(pets) == ["Has a dog named Rex"]
    custom = memory.add(
        said,
        user_id="b",
        custom_categories=[{"animals": "Pets and other animals"}, {"diet": "What they eat"}],
    )
    categories = {m.memory: m.categories for m in memory.get_all(user_id="b").results}
    assert categories == {"Is a vegetarian": ["diet"], "Has a dog named Rex": ["animals"]}
    assert len(custom.results) == 2
    # the next add without them uses the configured (default) ones again
    memory.add(said, user_id="c")
    defaults = {m.memory: m.categories for m in memory.get_all(user_id="c").results}
    assert "food_preferences" in defaults["Is a vegetarian"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("includes", ""),
        ("excludes", 3),
        ("custom_instructions", ["x"]),
        ("custom_categories", 7),
        ("custom_categories", []),
        ("custom_categories", [{"a": "b", "c": "d"}]),
    ],
)
def test_bad_extraction_options_are_refused_by_name(memory, option, value):
    with pytest.raises(InvalidInputError, match=option):
        memory.add("I like tea", user_id="alex", **{option: value})
    assert memory.get_all(user_id="alex").count == 0


def test_extraction_options_need_inference(memory):
    with pytest.raises(InvalidInputError, match=r"includes.*infer=False"):
        memory.add("I like tea", user_id="alex", infer=False, includes="food")
    assert memory.get_all(user_id="alex").count == 0


def test_a_custom_extractor_without_for_call_refuses_per_call_options(tmp_path):
    class Fixed:
        def plan(self, messages, sides, context):
            return Plan(operations=[Operation(event="ADD", side="user", text="Likes tea")])

    with Memory(path=str(tmp_path), extractor=Fixed()) as memory:
        assert memory.add("I like tea", user_id="alex").results[0].memory == "Likes tea"
        with pytest.raises(InvalidInputError, match=r"excludes.*for_call"):
            memory.add("I like tea", user_id="bob", excludes="drinks")
        assert memory.get_all(user_id="bob").count == 0


# ---- add: expiration_date -------------------------------------------------------------------


def utc_today() -> date:
    return datetime.now(UTC).date()


def test_an_expired_memory_is_hidden_from_search_and_get_all_but_not_from_get(memory):
    """From the platform's memory-expiration page: hidden, never deleted; get returns it;
    clearing the date brings it straight back."""
    messages = [{"role": "user", "content": "My Pro trial ends soon."}]
    past = memory.add(messages, user_id="alex", expiration_date="2024-01-31")
    (event,) = past.results
    assert memory.get(event.id).expiration_date == "2024-01-31"
    assert memory.get_all(user_id="alex").count == 0
    assert memory.search("When does my trial end?", user_id="alex").results == []
    assert [h.event for h in memory.history(event.id)] == ["ADD"]  # never deleted

    back = memory.update(event.id, expiration_date=None)
    assert back.expiration_date is None
    assert [m.id for m in memory.get_all(user_id="alex").results] == [event.id]
    assert [h.id for h in memory.search("trial", user_id="alex").results] == [event.id]


def test_expiration_is_inclusive_of_its_day_in_utc(memory):
    today = utc_today().isoformat()
    tomorrow = (utc_today() + timedelta(days=1)).isoformat()
    yesterday = (utc_today() - timedelta(days=1)).isoformat()
    for day, fact in ((today, "Likes tea"), (tomorrow, "Likes coffee"), (yesterday, "Likes milk")):
        memory.add(fact, user_id="alex", infer=False, expiration_date=day)
    assert sorted(m.memory for m in memory.get_all(user_id="alex").results) == [
        "Likes coffee",
        "Likes tea",
    ]
    hits = memory.search("What does alex like to drink?", user_id="alex", top_k=10)
    assert "Likes milk" not in {h.memory for h in hits.results}


def test_expiry_follows_the_utc_day_at_the_boundary(tmp_path):
    """2030-01-31 is visible all through 2030-01-31 UTC and hidden from 2030-02-01."""
    now = [datetime(2030, 1, 31, 23, 59, 59, tzinfo=UTC).timestamp()]
    with Memory(path=str(tmp_path), clock=lambda: now[0]) as memory:
        memory.add("Has a Pro trial", user_id="alex", infer=False, expiration_date="2030-01-31")
        assert memory.get_all(user_id="alex").count == 1
        now[0] = datetime(2030, 2, 1, tzinfo=UTC).timestamp()
        assert memory.get_all(user_id="alex").count == 0
        assert memory.search("trial", user_id="alex").results == []
        assert memory.get_all().count == 0  # the whole store too


def test_a_malformed_stored_date_fails_open(memory):
    sync = getattr(memory, "sync", memory)
    (event,) = memory.add("Has a Pro trial", user_id="alex", infer=False).results
    with sync.backend.records._engine.begin() as conn:  # as an older or foreign writer left it
        conn.execute(
            text("UPDATE memories SET expiration_date = 'soon' WHERE id = :id"), {"id": event.id}
        )
    assert [m.id for m in memory.get_all(user_id="alex").results] == [event.id]
    assert [h.id for h in memory.search("trial", user_id="alex").results] == [event.id]


@pytest.mark.parametrize(
    "value", ["2030-13-01", "2030-01-31T00:00:00", "31/01/2030", "tomorrow", 20300131, ""]
)
def test_a_bad_expiration_date_is_refused_by_name(memory, value):
    with pytest.raises(InvalidInputError, match="expiration_date"):
        memory.add("Has a Pro trial", user_id="alex", expiration_date=value)
    assert memory.get_all(user_id="alex").count == 0


def test_expiration_date_takes_a_date_and_update_sets_it(memory):
    (event,) = memory.add("Has a Pro trial", user_id="alex", infer=False).results
    assert memory.get(event.id).expiration_date is None
    memory.update(event.id, expiration_date=date(2024, 1, 31))
    assert memory.get(event.id).expiration_date == "2024-01-31"
    assert memory.get_all(user_id="alex").count == 0
    with pytest.raises(InvalidInputError, match="expiration_date"):
        memory.update(event.id, expiration_date="next week")
    memory.batch_update([{"memory_id": event.id, "expiration_date": None}])
    assert memory.get_all(user_id="alex").count == 1


# ---- add: immutable -------------------------------------------------------------------------


def test_an_immutable_memory_cannot_be_updated(memory):
    (event,) = memory.add("Was born in Lisbon", user_id="alex", infer=False, immutable=True).results
    assert memory.get(event.id).immutable is True
    with pytest.raises(ImmutableMemoryError, match="immutable") as caught:
        memory.update(event.id, text="Was born in Porto")
    assert isinstance(caught.value, ValueError) and caught.value.memory_id == event.id
    with pytest.raises(ImmutableMemoryError):
        memory.update(event.id, metadata={"checked": True})
    (other,) = memory.add("Likes tea", user_id="alex", infer=False).results
    with pytest.raises(ImmutableMemoryError):  # the whole batch, nothing half-written
        memory.batch_update(
            [
                {"memory_id": other.id, "text": "Likes green tea"},
                {"memory_id": event.id, "text": "Was born in Porto"},
            ]
        )
    assert memory.get(other.id).memory == "Likes tea"
    assert memory.get(event.id).memory == "Was born in Lisbon"
    # the platform's way: delete it and add the new text
    memory.delete(event.id)
    memory.add("Was born in Porto", user_id="alex", infer=False)
    assert "Was born in Porto" in {m.memory for m in memory.get_all(user_id="alex").results}


def test_the_extractor_never_updates_or_deletes_an_immutable_memory(memory):
    first = memory.add("I'm a vegetarian.", user_id="alex", immutable=True)
    (kept,) = first.results
    changed = memory.add("I'm vegan now.", user_id="alex")
    assert [e.event for e in changed.results] == ["ADD"]  # a memory of its own, not an UPDATE
    assert memory.get(kept.id).memory == kept.memory
    forget = memory.add("Delete all of my food preferences", user_id="alex")
    events = {e.id: e.event for e in forget.results}
    assert events[kept.id] == "NONE"
    assert events[changed.results[0].id] == "DELETE"
    assert [m.id for m in memory.get_all(user_id="alex").results] == [kept.id]


def test_immutable_must_be_a_bool(memory):
    with pytest.raises(InvalidInputError, match="immutable"):
        memory.add("Likes tea", user_id="alex", immutable="yes")


# ---- search and get_all: fields, keyword_search, rerank, output_format ---------------------


def seed(memory) -> None:
    for fact in ("Loves hiking in the Alps", "Is a vegetarian", "Plays tennis on Sundays"):
        memory.add(fact, user_id="alex", infer=False, metadata={"source": "chat"})


def test_fields_return_only_those_fields(memory):
    seed(memory)
    found = memory.search("outdoor sports", user_id="alex", fields=["memory", "score"])
    assert found.results and all(set(r) == {"memory", "score"} for r in found.results)
    assert found.model_dump()["results"][0].keys() == {"memory", "score"}
    page = memory.get_all(user_id="alex", fields=["id", "categories"])
    assert page.count == 3 and all(set(r) == {"id", "categories"} for r in page.results)
    with pytest.raises(InvalidInputError, match="fields"):
        memory.search("tennis", user_id="alex", fields=["memory", "text"])
    with pytest.raises(InvalidInputError, match="fields"):
        memory.get_all(user_id="alex", fields=["score"])  # a record has no score


def test_keyword_search_returns_only_memories_holding_a_query_word(memory):
    seed(memory)
    semantic = memory.search("vegetarian diet", user_id="alex", top_k=3)
    assert len(semantic.results) == 3
    keywords = memory.search("vegetarian diet", user_id="alex", keyword_search=True)
    assert [h.memory for h in keywords.results] == ["Is a vegetarian"]
    assert 0.0 < keywords.results[0].score <= 1.0
    assert memory.search("the", user_id="alex", keyword_search=True).results == []


def test_rerank_chooses_the_ranking(memory):
    seed(memory)
    memory.add("Went hiking with Sam last weekend", user_id="alex", infer=False)
    default = memory.search("hiking", user_id="alex", top_k=4)
    reranked = memory.search("hiking", user_id="alex", top_k=4, rerank=True)
    dense = memory.search("hiking", user_id="alex", top_k=4, rerank=False)
    assert [(h.id, h.score) for h in reranked.results] == [
        (h.id, h.score) for h in default.results
    ]  # the default store already reranks (search.mode "hybrid")
    assert [h.score for h in dense.results] != [h.score for h in reranked.results]
    with pytest.raises(InvalidInputError, match="keyword_search"):
        memory.search("hiking", user_id="alex", keyword_search=True, rerank=True)
    with pytest.raises(InvalidInputError, match="rerank"):
        memory.search("hiking", user_id="alex", rerank="yes")


def test_rerank_turns_the_hybrid_scorer_on_for_a_dense_store(tmp_path):
    with Memory(config={"path": str(tmp_path), "search": {"mode": "dense"}}) as memory:
        seed(memory)
        dense = memory.search("tennis on Sundays", user_id="alex", top_k=3)
        reranked = memory.search("tennis on Sundays", user_id="alex", top_k=3, rerank=True)
        unreranked = memory.search("tennis on Sundays", user_id="alex", top_k=3, rerank=False)
        assert dense.results[0].memory == reranked.results[0].memory == "Plays tennis on Sundays"
        assert [h.score for h in unreranked.results] == [h.score for h in dense.results]
        # the hybrid scorer's scores: cosine and keywords fused, not the cosine alone
        assert [h.score for h in reranked.results] != [h.score for h in dense.results]


def test_output_format_v1_0_returns_the_bare_list(memory):
    added = memory.add("Likes tea", user_id="alex", infer=False, output_format="v1.0")
    assert isinstance(added, list) and [e.memory for e in added] == ["Likes tea"]
    seed(memory)
    hits = memory.search("tea", user_id="alex", output_format="v1.0")
    assert isinstance(hits, list) and hits[0].memory == "Likes tea"
    listed = memory.get_all(user_id="alex", output_format="v1.0", page_size=2)
    assert isinstance(listed, list) and len(listed) == 2
    assert [m.id for m in listed] == [
        m.id for m in memory.get_all(user_id="alex", page_size=2).results
    ]
    rows = memory.get_all(user_id="alex", output_format="v1.0", fields=["memory"])
    assert sorted(r["memory"] for r in rows)[0] == "Is a vegetarian"
    v11 = memory.get_all(user_id="alex", output_format="v1.1")
    assert v11.count == 4
    with pytest.raises(InvalidInputError, match="output_format"):
        memory.get_all(user_id="alex", output_format="v2")


# ---- entity ids inside filters, as current platform clients send them ----------------------


def test_entity_ids_in_filters_for_get_all_search_and_delete_all(memory):
    seed(memory)
    memory.add("Likes green tea", user_id="sam", infer=False)
    memory.add("Books flights", agent_id="travel-agent", run_id="r1", infer=False)
    page = memory.get_all(filters={"AND": [{"user_id": "alex"}]})
    assert page.count == 3
    hits = memory.search("tea", filters={"user_id": "sam"})
    assert [h.memory for h in hits.results] == ["Likes green tea"]
    assert memory.delete_all(filters={"user_id": "alex"}).count == 3
    assert memory.get_all(user_id="alex").count == 0
    assert memory.get_all(user_id="sam").count == 1
    narrowed = memory.delete_all(filters={"AND": [{"agent_id": "travel-agent"}, {"run_id": "x"}]})
    assert narrowed.count == 0 and memory.get_all(agent_id="travel-agent").count == 1
    for unpinned in ({"run_id": "*"}, {"OR": [{"user_id": "sam"}, {"agent_id": "a"}]}, {}):
        with pytest.raises(InvalidInputError, match="reset"):
            memory.delete_all(filters=unpinned)
    assert memory.get_all().count == 2


# ---- version and async_mode -----------------------------------------------------------------


def test_async_mode_and_version(memory):
    synchronous = memory.add("Likes tea", user_id="alex", infer=False, async_mode=False)
    assert synchronous.results[0].event == "ADD"
    with pytest.raises(InvalidInputError, match="async_mode"):
        memory.add("Likes coffee", user_id="alex", infer=False, async_mode=True)
    for method, args in (("add", ("Likes milk",)), ("search", ("tea",)), ("get_all", ())):
        kwargs = {"user_id": "alex", "version": "v3"}
        if method == "add":
            kwargs["infer"] = False
        with pytest.raises(InvalidInputError, match="version"):
            getattr(memory, method)(*args, **kwargs)
    assert [m.memory for m in memory.get_all(user_id="alex", version="v2").results] == ["Likes tea"]
