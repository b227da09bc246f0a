"""Memory with an ``llm`` configured: the reference document's add examples and every
failure mode, through the real ``openai`` SDK over HTTP to a scripted server on 127.0.0.1.

Each test runs through Memory and AsyncMemory (the ``mem`` fixture). Failure tests
check that nothing was half-written and that the messages were kept for replay.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from memkit import AsyncMemory, ExtractionError, Memory
from memkit.recall import DEFAULT_HEADER
from memkit.testing import HashEmbedder, SyncView
from memkit.testing.openai_server import RecordedRequest, ScriptedOpenAI, ScriptedReply

ALEX_INTRO = [
    {"role": "user", "content": "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."},
    {
        "role": "assistant",
        "content": "Hello Alex! I've noted that you're a vegetarian and have "
        "a nut allergy. I'll keep this in mind for any food-related recommendations or "
        "discussions.",
    },
]


def op(
    event: str,
    source: int,
    text: str | None = None,
    target: str | None = None,
    categories: tuple[str, ...] = (),
) -> dict[str, Any]:
    return {
        "event": event,
        "source": source,
        "text": text,
        "target": target,
        "categories": list(categories),
    }


def answer(*ops: dict[str, Any], forget: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {"memories": list(ops), "forget": list(forget)}


def alias_of(request: RecordedRequest, text: str) -> str:
    """The alias the model was shown for the memory ``text``."""
    block = request.messages[1]["content"]
    found = re.search(rf"^(m\d+)(?: \[\w+\])?: {re.escape(text)}$", block, re.MULTILINE)
    assert found, f"{text!r} was not shown to the model:\n{block}"
    return found.group(1)


def snapshot(mem) -> list[tuple]:
    page = mem.get_all(page_size=1000)
    return sorted(
        (m.id, m.memory, m.updated_at, tuple(m.categories), m.user_id, m.agent_id)
        for m in page.results
    )


def llm_config(server: ScriptedOpenAI, **extra: Any) -> dict[str, Any]:
    settings = {
        "model": "test-model",
        "base_url": server.url,
        "api_key": "test-key",
        "temperature": 0.0,
        "timeout": 2.0,
        "max_retries": 2,
    }
    settings.update(extra.pop("llm", {}))
    return {"llm": {"provider": "openai", "config": settings}, **extra}


@pytest.fixture(params=["sync", "async"])
def make(request, server) -> Iterator[Any]:
    """Build a store with an LLM configured (Memory, or AsyncMemory driven through SyncView)."""
    opened: list[Memory] = []

    def build(**extra: Any) -> Any:
        if request.param == "sync":
            mem = Memory(config=llm_config(server, **extra), embedder=HashEmbedder())
            opened.append(mem)
            return mem
        amem = AsyncMemory(config=llm_config(server, **extra), embedder=HashEmbedder())
        opened.append(amem.sync)
        return SyncView(amem)

    yield build
    for mem in opened:
        mem.close()


@pytest.fixture
def mem(make) -> Any:
    return make()


def events(result) -> list[tuple[str, str]]:
    return [(e.event, e.memory) for e in result.results]


# ---- the reference document's add examples ------------------------------------------------------


def test_long_term_memory_one_call_user_facts_only(mem, server):
    server.reply(
        answer(
            op("ADD", 1, "Name is Alex", categories=("personal_details",)),
            op("ADD", 1, "Is a vegetarian", categories=("food_preferences",)),
            op("ADD", 1, "Is allergic to nuts", categories=("food_preferences", "health")),
        )
    )
    result = mem.add(ALEX_INTRO, user_id="alex", metadata={"food": "vegan"})
    assert events(result) == [
        ("ADD", "Name is Alex"),
        ("ADD", "Is a vegetarian"),
        ("ADD", "Is allergic to nuts"),
    ]
    assert len(server.chat_requests) == 1
    request = server.chat_requests[0]
    block = request.messages[1]["content"]
    assert "Source messages: 1 (facts about the user)" in block
    assert "[2 assistant, context] Hello Alex!" in block
    schema = request.body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["memories"]["items"]["properties"]["source"]["enum"] == [1]
    stored = mem.get_all(user_id="alex")
    assert stored.count == 3
    for record in stored.results:
        assert record.user_id == "alex" and record.agent_id is None
        assert record.metadata == {"food": "vegan"}
    nuts = next(r for r in stored.results if "nuts" in r.memory)
    assert nuts.categories == ["food_preferences", "health"]


def test_session_memories_carry_the_run(mem, server):
    messages = [
        {"role": "user", "content": "I'm planning a trip to Japan next month."},
        {
            "role": "assistant",
            "content": "That's exciting, Alex! Would you like some "
            "recommendations for vegetarian-friendly restaurants in Japan?",
        },
        {"role": "user", "content": "Yes, please! Especially in Tokyo."},
        {
            "role": "assistant",
            "content": "Great! I'll remember that you're interested in "
            "vegetarian restaurants in Tokyo for your upcoming trip.",
        },
    ]
    server.reply(
        answer(
            op("ADD", 1, "Is planning a trip to Japan next month", categories=("travel",)),
            op(
                "ADD",
                3,
                "Wants vegetarian restaurant recommendations in Tokyo",
                categories=("travel", "food_preferences"),
            ),
        )
    )
    mem.add(messages, user_id="alex", run_id="trip-planning-2024")
    page = mem.get_all(user_id="alex", run_id="trip-planning-2024")
    assert page.count == 2
    assert all(m.run_id == "trip-planning-2024" for m in page.results)
    assert "Source messages: 1, 3 (facts about the user)" in server.chat_requests[0].text()


def test_agent_memories_come_from_the_assistant_and_never_the_system_prompt(mem, server):
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
    # the model first tries to store the system prompt: rejected, repaired
    server.reply(
        answer(op("ADD", 1, "Is an AI tutor with a personality")),
        answer(
            op("ADD", 2, "Name is Alice", categories=("personal_details",)),
            op("ADD", 2, "Is an AI tutor with a personality"),
        ),
    )
    result = mem.add(messages, agent_id="ai-tutor")
    assert events(result) == [
        ("ADD", "Name is Alice"),
        ("ADD", "Is an AI tutor with a personality"),
    ]
    assert "source is 1" in server.chat_requests[1].messages[-1]["content"]
    for record in mem.get_all(agent_id="ai-tutor").results:
        assert record.agent_id == "ai-tutor" and record.user_id is None


def test_dual_user_and_agent_memories_are_tagged_by_side(mem, server):
    messages = [
        {"role": "user", "content": "I'm travelling to San Francisco"},
        {"role": "assistant", "content": "That's great! I'm going to Dubai next month."},
    ]
    server.reply(
        answer(
            op("ADD", 1, "Is travelling to San Francisco", categories=("travel",)),
            op("ADD", 2, "Is travelling to San Francisco"),  # an echo of the user: dropped
            op("ADD", 2, "Is going to Dubai next month", categories=("travel",)),
        )
    )
    result = mem.add(messages, user_id="user1", agent_id="agent1")
    assert sorted((e.memory, e.user_id, e.agent_id) for e in result.results) == [
        ("Is going to Dubai next month", None, "agent1"),
        ("Is travelling to San Francisco", "user1", None),
    ]
    assert [m.memory for m in mem.get_all(user_id="user1").results] == [
        "Is travelling to San Francisco"
    ]
    assert [m.memory for m in mem.get_all(agent_id="agent1").results] == [
        "Is going to Dubai next month"
    ]
    block = server.chat_requests[0].messages[1]["content"]
    assert "1 (facts about the user); 2 (facts about the assistant)" in block

    # later: each side sees its own memories, tagged, and may only change its own
    server.reply(answer(op("UPDATE", 1, "Is travelling to Seattle", "m1")))
    mem.add(
        [{"role": "user", "content": "Change of plan: Seattle, not San Francisco"}],
        user_id="user1",
        agent_id="agent1",
    )
    block = server.chat_requests[1].messages[1]["content"]
    assert re.search(r"^m\d+ \[user\]: Is travelling to San Francisco$", block, re.MULTILINE)
    assert re.search(r"^m\d+ \[assistant\]: Is going to Dubai next month$", block, re.MULTILINE)


def test_history_example_update_then_history(mem, server):
    messages = [
        {
            "role": "user",
            "content": "I recently tried chicken and I loved it. I'm "
            "thinking of trying more non-vegetarian dishes..",
        }
    ]
    server.reply(
        answer(
            op("ADD", 1, "Loved chicken", categories=("food_preferences",)),
            op(
                "ADD",
                1,
                "Is thinking of trying more non-vegetarian dishes",
                categories=("food_preferences",),
            ),
        )
    )
    first = mem.add(messages, user_id="alex")
    chicken = next(e.id for e in first.results if e.memory == "Loved chicken")
    messages.append({"role": "user", "content": "I turned vegetarian now."})

    def second_reply(request: RecordedRequest) -> dict[str, Any]:
        loved = alias_of(request, "Loved chicken")
        dishes = alias_of(request, "Is thinking of trying more non-vegetarian dishes")
        return answer(
            op("UPDATE", 2, "Is vegetarian", loved, ("food_preferences",)),
            op("DELETE", 2, None, dishes),
        )

    server.responder = second_reply
    second = mem.add(messages, user_id="alex")
    assert sorted(e.event for e in second.results) == ["DELETE", "UPDATE"]
    update = next(e for e in second.results if e.event == "UPDATE")
    assert (update.id, update.memory, update.previous_memory) == (
        chicken,
        "Is vegetarian",
        "Loved chicken",
    )
    assert [m.memory for m in mem.get_all(user_id="alex").results] == ["Is vegetarian"]
    history = mem.history(chicken)
    assert [(h.event, h.old_memory, h.new_memory) for h in history] == [
        ("ADD", None, "Loved chicken"),
        ("UPDATE", "Loved chicken", "Is vegetarian"),
    ]


def test_natural_language_delete_removes_only_that_category(mem, server):
    server.reply(
        answer(
            op("ADD", 1, "Is vegetarian", categories=("food_preferences",)),
            op("ADD", 1, "Loves sushi", categories=("food_preferences",)),
            op("ADD", 1, "Is travelling to Japan", categories=("travel",)),
        )
    )
    mem.add("I'm vegetarian, I love sushi and I'm travelling to Japan", user_id="alex")
    server.reply(answer(forget=({"source": 1, "categories": ["food_preferences"]},)))
    result = mem.add(
        [{"role": "user", "content": "Delete all of my food preferences"}], user_id="alex"
    )
    assert sorted(events(result)) == [("DELETE", "Is vegetarian"), ("DELETE", "Loves sushi")]
    assert [m.memory for m in mem.get_all(user_id="alex").results] == ["Is travelling to Japan"]


def test_specific_delete_and_none_for_what_is_known(mem, server):
    server.reply(answer(op("ADD", 1, "Lives in Paris"), op("ADD", 1, "Likes jazz")))
    mem.add("I live in Paris and like jazz", user_id="alex")
    server.responder = lambda request: answer(
        op("DELETE", 1, None, alias_of(request, "Lives in Paris")),
        op("ADD", 2, "Likes jazz"),  # restated: stored once, reported as NONE
    )
    result = mem.add(
        [
            {"role": "user", "content": "Forget that I live in Paris."},
            {"role": "user", "content": "I still like jazz."},
        ],
        user_id="alex",
    )
    assert events(result) == [("DELETE", "Lives in Paris"), ("NONE", "Likes jazz")]
    assert [m.memory for m in mem.get_all(user_id="alex").results] == ["Likes jazz"]


def test_recalled_memories_in_the_conversation_are_never_re_stored(mem, server):
    server.reply(answer(op("ADD", 1, "Is vegetarian")))
    mem.add("I'm vegetarian", user_id="alex")
    recalled = f"{DEFAULT_HEADER}\n- Is vegetarian\n- Works at Acme"
    server.reply(answer(op("ADD", 3, "Is vegetarian"), op("ADD", 3, "Likes hiking")))
    result = mem.add(
        [
            {"role": "system", "content": recalled},
            {"role": "assistant", "content": "Relevant memories:\n- Works at Acme"},
            {"role": "user", "content": "I'm vegetarian, as you know, and I like hiking."},
        ],
        user_id="alex",
    )
    assert events(result) == [("NONE", "Is vegetarian"), ("ADD", "Likes hiking")]
    block = server.chat_requests[1].messages[1]["content"]
    assert "Works at Acme" not in block
    assert sorted(m.memory for m in mem.get_all(user_id="alex").results) == [
        "Is vegetarian",
        "Likes hiking",
    ]


def test_custom_categories_and_instructions_reach_the_model(make, server):
    mem = make(
        categories={"pets": "Dogs, cats and other animals", "travel": "Trips"},
        custom_instructions="Only remember pets and travel. Never store health data.",
    )
    server.reply(answer(op("ADD", 1, "Has a dog named Rex", categories=("pets", "misc"))))
    mem.add("I have a dog named Rex and a bad knee", user_id="sam")
    request = server.chat_requests[0]
    system = request.messages[0]["content"]
    assert "- pets: Dogs, cats and other animals" in system
    assert "Never store health data." in system
    enum = request.body["response_format"]["json_schema"]["schema"]["properties"]["memories"][
        "items"
    ]["properties"]["categories"]["items"]["enum"]
    assert enum == ["pets", "travel"]
    assert [m.categories for m in mem.get_all(user_id="sam").results] == [["pets"]]


def test_explicit_categories_override_the_model(mem, server):
    server.reply(answer(op("ADD", 1, "Likes tea", categories=("food_preferences",))))
    mem.add("I like tea", user_id="alex", categories=["drinks"])
    assert mem.get_all(user_id="alex").results[0].categories == ["drinks"]


# ---- failures: nothing lost, nothing half-written ---------------------------------------------


def seeded(mem, server) -> list[tuple]:
    server.reply(answer(op("ADD", 1, "Lives in Paris")))
    mem.add("I live in Paris", user_id="alex")
    return snapshot(mem)


def assert_kept(mem, caught, before, messages, **options) -> dict[str, Any]:
    assert snapshot(mem) == before
    pending = mem.pending()
    assert caught.value.pending_id in [p["id"] for p in pending]
    row = next(p for p in pending if p["id"] == caught.value.pending_id)
    assert row["messages"] == messages
    for key, value in options.items():
        assert row["options"][key] == value
    return row


MOVE = [{"role": "user", "content": "I moved to Rome"}]


def moved(request: RecordedRequest) -> dict[str, Any]:
    return answer(op("UPDATE", 1, "Lives in Rome", alias_of(request, "Lives in Paris")))


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param([ScriptedReply.error(429, "slow down")] * 3, id="429"),
        pytest.param([ScriptedReply.error(500, "boom")] * 3, id="500"),
        pytest.param(
            [ScriptedReply.error(502), ScriptedReply.error(503), ScriptedReply.error(504)],
            id="5xx-mix",
        ),
        pytest.param([ScriptedReply.error(401, "bad key")], id="401-not-retried"),
        pytest.param([ScriptedReply.text("{not json")] * 2, id="malformed-json"),
        pytest.param([ScriptedReply.raw(b"<html>502 Bad Gateway</html>")] * 2, id="malformed-body"),
        pytest.param(
            [
                ScriptedReply.json({"facts": ["Lives in Rome"]}),
                ScriptedReply.json({"memories": [{"event": "MOVE", "source": 1}]}),
            ],
            id="schema-violation",
        ),
        pytest.param(
            [ScriptedReply.json(answer(op("UPDATE", 1, "Lives in Rome", "m9")))] * 2,
            id="invented-alias",
        ),
        pytest.param([ScriptedReply.text(None)] * 2, id="empty-answer"),
    ],
)
def test_a_failed_extraction_writes_nothing_keeps_the_messages_and_replays(mem, server, failure):
    before = seeded(mem, server)
    paris = before[0][0]
    server.reply(*failure)
    with pytest.raises(ExtractionError) as caught:
        mem.add(MOVE, user_id="alex", metadata={"mood": "happy"})
    row = assert_kept(mem, caught, before, MOVE, user_id="alex", metadata={"mood": "happy"})
    assert server.remaining == 0  # every scripted attempt was made, no more
    assert f"{caught.value}" == row["error"]
    # the failed add is in the activity log with its error and its cost
    entry = mem.activity(limit=1, kind="add")[0]
    assert entry["error"].startswith("ExtractionError")
    assert entry["counts"]["llm_calls"] == len(failure)

    server.responder = moved
    result = mem.replay(caught.value.pending_id)
    assert events(result) == [("UPDATE", "Lives in Rome")]
    assert result.results[0].id == paris
    assert mem.pending() == []
    record = mem.get(paris)
    assert (record.memory, record.metadata) == ("Lives in Rome", {"mood": "happy"})


def test_an_invented_real_id_is_never_used(mem, server):
    before = seeded(mem, server)
    paris = before[0][0]
    invented = answer(op("DELETE", 1, None, paris))  # the real id, which the model never saw
    server.reply(invented, invented)
    with pytest.raises(ExtractionError, match="target is"):
        mem.add("Forget where I live", user_id="alex")
    assert snapshot(mem) == before
    assert "m1" in server.chat_requests[-1].messages[-1]["content"]  # told what it may use


def test_a_timeout_is_retried_then_kept(make, server):
    mem = make(llm={"timeout": 0.3, "max_retries": 1})
    before = seeded(mem, server)
    server.reply(ScriptedReply.json(answer(), delay=2.0), ScriptedReply.json(answer(), delay=2.0))
    with pytest.raises(ExtractionError, match="Timeout") as caught:
        mem.add(MOVE, user_id="alex")
    assert_kept(mem, caught, before, MOVE, user_id="alex")
    assert len(server.chat_requests) == 3  # the seed, then two attempts


@pytest.mark.parametrize(
    "transient",
    [
        pytest.param([ScriptedReply.error(429)], id="429"),
        pytest.param([ScriptedReply.error(500), ScriptedReply.error(503)], id="5xx"),
        pytest.param([ScriptedReply.json(answer(), delay=2.0)], id="timeout"),
    ],
)
def test_transient_failures_are_retried_by_the_sdk(make, server, transient):
    mem = make(llm={"timeout": 0.5, "max_retries": 2})
    seeded(mem, server)
    server.reply(*transient)
    server.responder = moved
    result = mem.add(MOVE, user_id="alex")
    assert events(result) == [("UPDATE", "Lives in Rome")]
    assert mem.activity(limit=1, kind="add")[0]["counts"]["llm_calls"] == len(transient) + 1
    assert mem.pending() == []


def test_one_repair_fixes_a_bad_answer(mem, server):
    seeded(mem, server)
    server.reply(ScriptedReply.text("Sure! The user moved to Rome."))
    server.responder = moved
    result = mem.add(MOVE, user_id="alex")
    assert events(result) == [("UPDATE", "Lives in Rome")]
    repair = server.chat_requests[-1].messages
    assert repair[-2] == {"role": "assistant", "content": "Sure! The user moved to Rome."}
    assert "not valid JSON" in repair[-1]["content"]
    assert mem.activity(limit=1, kind="add")[0]["counts"]["llm_calls"] == 2


def test_a_replay_that_fails_again_keeps_one_row_under_the_same_id(mem, server):
    server.reply(ScriptedReply.error(400, "model not found"))
    with pytest.raises(ExtractionError) as caught:
        mem.add("I like tea", user_id="alex")
    pending_id = caught.value.pending_id
    server.reply(ScriptedReply.error(400, "still not found"))
    with pytest.raises(ExtractionError) as again:
        mem.replay(pending_id)
    assert again.value.pending_id == pending_id
    assert [p["id"] for p in mem.pending()] == [pending_id]
    with pytest.raises(ValueError, match="no pending extraction"):
        mem.replay("no-such-id")


def test_the_add_options_are_kept_for_replay(mem, server):
    server.reply(ScriptedReply.error(400))
    with pytest.raises(ExtractionError) as caught:
        mem.add(
            "I like tea",
            user_id="alex",
            run_id="r1",
            app_id="shop",
            categories=["drinks"],
            timestamp="2024-07-01T00:00:00+00:00",
        )
    (row,) = mem.pending()
    assert row["options"]["run_id"] == "r1" and row["options"]["categories"] == ["drinks"]
    server.reply(answer(op("ADD", 1, "Likes tea")))
    mem.replay(caught.value.pending_id)
    (record,) = mem.get_all(user_id="alex").results
    assert (record.run_id, record.app_id, record.categories) == ("r1", "shop", ["drinks"])
    assert record.created_at.isoformat() == "2024-07-01T00:00:00+00:00"


# ---- token accounting -------------------------------------------------------------------------


def test_each_add_logs_tokens_calls_and_latency_and_usage_sums_them(mem, server):
    server.reply(answer(op("ADD", 1, "Likes tea")))
    mem.add("I like tea", user_id="alex")
    server.reply(ScriptedReply.text(json.dumps(answer(op("ADD", 1, "Likes coffee"))), usage=False))
    mem.add("I like coffee", user_id="alex")
    server.reply(ScriptedReply.error(400))
    with pytest.raises(ExtractionError):
        mem.add("I like juice", user_id="alex")
    mem.add("verbatim", user_id="alex", infer=False)  # no model: no cost

    entries = list(reversed(mem.activity(kind="add")))
    requests = server.chat_requests
    assert [e["counts"].get("llm_calls", 0) for e in entries] == [1, 1, 1, 0]
    # from the API's usage, then counted offline: the same numbers
    assert entries[0]["counts"]["prompt_tokens"] == requests[0].prompt_tokens
    assert entries[1]["counts"]["prompt_tokens"] == requests[1].prompt_tokens
    assert entries[1]["counts"]["completion_tokens"] > 0
    assert all(e["counts"]["llm_ms"] >= 0 for e in entries[:3])
    totals = mem.usage()
    assert totals["adds"] == 4 and totals["llm_calls"] == 3
    assert totals["prompt_tokens"] == requests[0].prompt_tokens + requests[1].prompt_tokens
    assert totals["completion_tokens"] == sum(
        e["counts"].get("completion_tokens", 0) for e in entries
    )


def test_the_offline_extractor_is_still_the_default(server):
    with Memory(embedder=HashEmbedder()) as mem:
        mem.add("I live in Oslo", user_id="alex")
        assert mem.usage()["llm_calls"] == 0
    assert server.requests == []
