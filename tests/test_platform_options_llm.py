"""The platform's add options with the LLM extractor: they reach the model's prompt for
that call only, and its plan never changes an immutable memory. Through the real ``openai``
SDK to a scripted server on 127.0.0.1, via Memory and AsyncMemory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from memkit import AsyncMemory, ExtractionError, Memory
from memkit.testing import HashEmbedder, SyncView
from memkit.testing.openai_server import ScriptedOpenAI, ScriptedReply


def op(event: str, source: int, text: str | None = None, target: str | None = None) -> dict:
    return {"event": event, "source": source, "text": text, "target": target, "categories": []}


def answer(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"memories": list(ops), "forget": []}


@pytest.fixture(params=["sync", "async"])
def mem(request, server, tmp_path) -> Iterator[Any]:
    settings = {"model": "m", "base_url": server.url, "api_key": "k", "timeout": 2.0}
    config = {
        "path": str(tmp_path),
        "llm": {"provider": "openai", "config": settings},
        "custom_instructions": "Configured: remember everything.",
    }
    sync = Memory(config=config, embedder=HashEmbedder())
    yield sync if request.param == "sync" else SyncView(AsyncMemory(memory=sync))
    sync.close()


def system_prompt(server: ScriptedOpenAI, n: int = -1) -> str:
    return str(server.chat_requests[n].messages[0]["content"])


def test_per_call_options_reach_the_prompt_of_that_call_only(mem, server):
    server.reply(answer(op("ADD", 1, "Is allergic to shellfish")))
    mem.add(
        "I'm allergic to shellfish and the weather is nice",
        user_id="john",
        includes="food preferences, allergies",
        excludes="weather comments",
        custom_instructions="Per call: keep health facts.",
        custom_categories=[{"allergies": "Things the user reacts to"}],
    )
    prompt = system_prompt(server)
    assert "Remember only facts about:\nfood preferences, allergies" in prompt
    assert "Never remember facts about (leave them out):\nweather comments" in prompt
    assert "Per call: keep health facts." in prompt
    assert "Configured: remember everything." not in prompt
    assert "- allergies: Things the user reacts to" in prompt
    assert "food_preferences" not in prompt
    schema = server.chat_requests[-1].body["response_format"]["json_schema"]["schema"]
    categories = schema["properties"]["memories"]["items"]["properties"]["categories"]
    assert categories["items"]["enum"] == ["allergies"]

    server.reply(answer(op("ADD", 1, "Likes tea")))
    mem.add("I like tea", user_id="john")
    plain = system_prompt(server)
    assert "Configured: remember everything." in plain
    assert "Remember only facts about" not in plain and "- food_preferences" in plain


def test_the_models_update_of_an_immutable_memory_adds_a_new_one(mem, server):
    server.reply(answer(op("ADD", 1, "Is a vegetarian")))
    (kept,) = mem.add("I'm a vegetarian", user_id="alex", immutable=True).results

    def update_it(request: Any) -> dict[str, Any]:
        block = request.messages[1]["content"]
        alias = re.search(r"^(m\d+)(?: \[\w+\])?: Is a vegetarian$", block, re.MULTILINE)
        assert alias, block
        return answer(op("UPDATE", 1, "Is vegan", target=alias.group(1)))

    server.responder = update_it
    result = mem.add("I'm vegan now", user_id="alex")
    assert [(e.event, e.memory) for e in result.results] == [("ADD", "Is vegan")]
    assert mem.get(kept.id).memory == "Is a vegetarian"
    assert sorted(m.memory for m in mem.get_all(user_id="alex").results) == [
        "Is a vegetarian",
        "Is vegan",
    ]


def test_a_failed_add_keeps_its_platform_options_for_replay(mem, server):
    server.reply(ScriptedReply.error(401, "bad key"))
    with pytest.raises(ExtractionError) as caught:
        mem.add(
            "I'm allergic to shellfish",
            user_id="john",
            includes="allergies",
            custom_categories={"allergies": "Reactions"},
            expiration_date="2099-12-31",
            immutable=True,
        )
    (row,) = mem.pending()
    assert row["options"]["includes"] == "allergies"
    assert row["options"]["custom_categories"] == {"allergies": "Reactions"}
    assert (row["options"]["expiration_date"], row["options"]["immutable"]) == ("2099-12-31", True)
    server.reply(answer(op("ADD", 1, "Is allergic to shellfish")))
    (event,) = mem.replay(caught.value.pending_id).results
    assert "Remember only facts about:\nallergies" in system_prompt(server)
    replayed = mem.get(event.id)
    assert (replayed.immutable, replayed.expiration_date) == (True, "2099-12-31")
