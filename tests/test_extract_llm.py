"""The LLM extractor on its own: the pure prompt/reply functions, then the extractor
against the scripted OpenAI-compatible server through the real ``openai`` SDK."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from memkit.config import LlmSettings
from memkit.errors import ConfigError, ExtractionError
from memkit.extract._interface import ExistingMemory, Message, Side
from memkit.extract._llm import LlmExtractor
from memkit.extract._prompt import (
    CONTEXT_CHARS,
    PromptInput,
    alias_table,
    build_chat,
    chat_tokens,
    sources_of,
    without_recall,
)
from memkit.extract._reply import ReplyError, parse_reply, response_schema
from memkit.recall import DEFAULT_HEADER
from memkit.testing.openai_server import ScriptedOpenAI, ScriptedReply


def msgs(*pairs: tuple[str, str]) -> list[Message]:
    return [Message(role=role, content=content) for role, content in pairs]


def memory(memory_id: str, text: str, *categories: str, score: float = 0.5) -> ExistingMemory:
    return ExistingMemory(id=memory_id, text=text, categories=categories, score=score)


def prompt_for(
    messages: list[Message],
    sides: Sequence[Side] = ("user",),
    found: dict[Side, list[ExistingMemory]] | None = None,
    **extra,
) -> PromptInput:
    return PromptInput(
        messages=messages,
        sides=list(sides),
        sources=sources_of(messages, sides),
        shown=alias_table(found or {}),
        **extra,
    )


def item(event="ADD", source=2, text="Is vegetarian", target=None, categories=()) -> dict:
    return {
        "event": event,
        "source": source,
        "text": text,
        "target": target,
        "categories": list(categories),
    }


def answer(*items: dict, forget: Sequence[dict] = ()) -> str:
    return json.dumps({"memories": list(items), "forget": list(forget)})


# ---- role rules and recalled memories ---------------------------------------------------------

CHAT = msgs(
    ("system", "You are a helpful assistant."),
    ("user", "I'm vegetarian."),
    ("assistant", "Noted! I'm Alice, by the way."),
    ("user", "Thanks Alice."),
)


@pytest.mark.parametrize(
    ("sides", "expected"),
    [
        (["user"], {2: "user", 4: "user"}),
        (["assistant"], {3: "assistant"}),
        (["user", "assistant"], {2: "user", 3: "assistant", 4: "user"}),
    ],
)
def test_sources_follow_the_role_rules_and_never_include_the_system_prompt(sides, expected):
    assert sources_of(CHAT, sides) == expected


def test_recalled_memory_blocks_are_cut_out_and_a_recall_only_message_is_no_source():
    recall = f"{DEFAULT_HEADER}\n- Is vegetarian\n- Lives in Paris"
    assert without_recall(recall) == ""
    mixed = "Relevant memories:\n- Lives in Paris\n* Likes jazz\n\nI just moved to Rome."
    assert without_recall(mixed) == "I just moved to Rome."
    assert without_recall("My memory is bad but I love chess.") == (
        "My memory is bad but I love chess."
    )
    messages = msgs(("assistant", recall), ("user", mixed))
    assert sources_of(messages, ["user", "assistant"]) == {2: "user"}
    user_block = build_chat(prompt_for(messages, ["user", "assistant"]))[1]["content"]
    assert "Lives in Paris" not in user_block and "Likes jazz" not in user_block
    assert "I just moved to Rome." in user_block


def test_context_messages_are_cut_and_labelled():
    long = "x" * (CONTEXT_CHARS + 500)
    messages = msgs(("assistant", long), ("user", "I live in Oslo"))
    block = build_chat(prompt_for(messages))[1]["content"]
    assert f"[1 assistant, context] {'x' * CONTEXT_CHARS}..." in block
    assert "[2 user] I live in Oslo" in block
    assert "Source messages: 2 (facts about the user)" in block


# ---- what the model is shown ------------------------------------------------------------------


def test_aliases_replace_ids_and_a_memory_shown_for_both_sides_gets_one_alias():
    shared = memory("id-shared", "Project is memkit")
    table = alias_table(
        {
            "user": [memory("id-u", "Likes tea"), shared],
            "assistant": [shared, memory("id-a", "Name is Alice")],
        }
    )
    assert {a: (s.memory.id, sorted(s.sides)) for a, s in table.items()} == {
        "m1": ("id-u", ["user"]),
        "m2": ("id-shared", ["assistant", "user"]),
        "m3": ("id-a", ["assistant"]),
    }
    prompt = prompt_for(
        CHAT,
        ["user", "assistant"],
        {"user": [memory("id-u", "Likes tea")], "assistant": [memory("id-a", "Name is Alice")]},
    )
    chat = build_chat(prompt)
    text = chat[0]["content"] + chat[1]["content"]
    assert "id-u" not in text and "id-a" not in text
    assert "m1 [user]: Likes tea" in text and "m2 [assistant]: Name is Alice" in text


def test_categories_and_custom_instructions_reach_the_system_prompt():
    prompt = prompt_for(
        msgs(("user", "I have a dog")),
        categories={"pets": "Dogs, cats and other animals", "travel": "Trips"},
        custom_instructions="Never store health data.",
    )
    system = build_chat(prompt)[0]["content"]
    assert "- pets: Dogs, cats and other animals" in system
    assert "- travel: Trips" in system
    assert "Never store health data." in system
    assert "food_preferences" not in system


def test_schema_enums_hold_exactly_what_was_shown():
    prompt = prompt_for(
        CHAT, ["user"], {"user": [memory("a", "Likes tea")]}, categories={"food": "", "travel": ""}
    )
    schema = response_schema(prompt)
    item_schema = schema["properties"]["memories"]["items"]
    assert item_schema["properties"]["source"]["enum"] == [2, 4]
    assert item_schema["properties"]["target"]["anyOf"][0]["enum"] == ["m1"]
    assert item_schema["properties"]["categories"]["items"]["enum"] == ["food", "travel"]
    assert schema["additionalProperties"] is False and item_schema["additionalProperties"] is False
    no_memories = response_schema(prompt_for(CHAT))
    assert no_memories["properties"]["memories"]["items"]["properties"]["target"] == {
        "type": "null"
    }


def test_chat_tokens_counts_content_plus_message_overhead():
    chat = [{"role": "user", "content": "hello world"}]
    assert chat_tokens(chat) == 3 + 4 + 2


# ---- reading the reply -------------------------------------------------------------------------


def test_a_valid_reply_maps_aliases_back_to_ids():
    prompt = prompt_for(
        CHAT,
        ["user"],
        {"user": [memory("id-1", "Eats meat", "food"), memory("id-2", "Lives in Oslo")]},
    )
    reply = parse_reply(
        answer(
            item("UPDATE", 2, "Is vegetarian", "m1", ["food_preferences"]),
            item("NONE", 4, None, "m2"),
            item("DELETE", 4, "ignored", "m2"),
        ),
        prompt,
    )
    ops = [(o.event, o.side, o.text, o.target_id, o.categories) for o in reply.operations]
    assert ops == [
        ("UPDATE", "user", "Is vegetarian", "id-1", ("food_preferences",)),
        ("NONE", "user", None, "id-2", ()),
        ("DELETE", "user", None, "id-2", ()),
    ]


def test_fenced_json_and_unknown_categories_are_tolerated():
    prompt = prompt_for(CHAT)
    reply = parse_reply(
        "```json\n" + answer(item(categories=["food_preferences", "bogus"])) + "\n```", prompt
    )
    assert reply.operations[0].categories == ("food_preferences",)
    chatty = "Sure! Here it is: " + answer(item()) + " Hope that helps."
    assert parse_reply(chatty, prompt).operations[0].text == "Is vegetarian"


@pytest.mark.parametrize(
    ("reply", "complaint"),
    [
        ("", "empty"),
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        (json.dumps({"memories": [], "facts": []}), "unexpected keys"),
        (json.dumps({"memories": {}, "forget": []}), "'memories' must be a list"),
        (answer(item(event="MERGE")), "event is 'MERGE'"),
        (answer(item(text=None)), "ADD without text"),
        (answer(item(text=7)), "text must be a string"),
        (answer(item(source=1)), "source is 1"),  # the system prompt
        (answer(item(source=3)), "source is 3"),  # an assistant message, user_id only
        (answer(item(source="2")), "source is '2'"),
        (answer(item("UPDATE", 2, "Is vegan", "m7")), "target is 'm7'"),
        (answer(item("DELETE", 2, None, "id-1")), "target is 'id-1'"),  # a real id, not an alias
        (answer(item("NONE", 2, None, None)), "target is None"),
        (answer(item("ADD", 2, "Is vegan", "m1")), "ADD with target"),
        (answer({**item(), "categories": "food"}), "categories must be a list"),
        (answer(forget=[{"source": 2, "categories": ["hobbies"]}]), "unknown names"),
        (answer(forget=[{"source": 2, "categories": []}]), "non-empty list"),
    ],
)
def test_invalid_replies_are_rejected_with_a_reason_the_model_can_act_on(reply, complaint):
    prompt = prompt_for(
        CHAT, ["user"], {"user": [memory("id-1", "Eats meat")]}, categories={"food_preferences": ""}
    )
    with pytest.raises(ReplyError, match=complaint):
        parse_reply(reply, prompt)


def test_a_target_of_the_other_side_is_rejected():
    prompt = prompt_for(
        CHAT,
        ["user", "assistant"],
        {"user": [memory("u1", "Is vegetarian")], "assistant": [memory("a1", "Name is Bob")]},
    )
    with pytest.raises(ReplyError, match="m1 is a memory of the user"):
        parse_reply(answer(item("UPDATE", 3, "Name is Alice", "m1")), prompt)
    ok = parse_reply(answer(item("UPDATE", 3, "Name is Alice", "m2")), prompt)
    assert ok.operations[0].target_id == "a1" and ok.operations[0].side == "assistant"


def test_tidy_turns_restated_memories_into_none_and_drops_echoes_and_repeats():
    prompt = prompt_for(CHAT, ["user", "assistant"], {"user": [memory("u1", "Is vegetarian")]})
    reply = parse_reply(
        answer(
            item("ADD", 2, "Is  vegetarian."),  # what m1 already says: a NONE, never a second copy
            item("ADD", 4, "Likes Alice"),
            item("ADD", 4, "Likes Alice"),  # the same fact twice
            item("ADD", 3, "The user likes Alice"),  # the assistant echoing the user
            item("ADD", 3, "Name is Alice"),
            item("UPDATE", 2, "Is vegetarian", "m1"),  # changes nothing
        ),
        prompt,
    )
    ops = [(o.event, o.side, o.text, o.target_id) for o in reply.operations]
    assert ops == [
        ("NONE", "user", "Is vegetarian.", "u1"),
        ("ADD", "user", "Likes Alice", None),
        ("ADD", "assistant", "Name is Alice", None),
        ("NONE", "user", "Is vegetarian", "u1"),
    ]


# ---- the extractor over HTTP ---------------------------------------------------------------------


class FakeContext:
    """An ExtractionContext with fixed memories that records what was asked."""

    def __init__(self, memories: dict[Side, list[ExistingMemory]]) -> None:
        self.memories = memories
        self.similar_calls: list[tuple[list[str], Side]] = []
        self.category_calls: list[tuple[list[str], Side]] = []

    def similar(self, texts, side):
        self.similar_calls.append((list(texts), side))
        return [list(self.memories.get(side, [])) for _ in texts]

    def in_categories(self, categories, side):
        self.category_calls.append((list(categories), side))
        return [m for m in self.memories.get(side, []) if set(m.categories) & set(categories)]


@pytest.fixture
def server():
    with ScriptedOpenAI() as s:
        yield s


def extractor_for(server: ScriptedOpenAI, **settings) -> LlmExtractor:
    options = {
        "model": "test-model",
        "base_url": server.url,
        "api_key": "test",
        "timeout": 2.0,
        "max_retries": 1,
        **settings,
    }
    return LlmExtractor(LlmSettings(**options))


def test_one_call_one_lookup_per_side_and_the_request_is_structured(server):
    context = FakeContext(
        {
            "user": [memory("u1", "Eats meat", "food_preferences", score=0.9)],
            "assistant": [memory("a1", "Name is Bob", score=0.8)],
        }
    )
    server.reply(
        answer(
            item("UPDATE", 2, "Is vegetarian", "m1", ["food_preferences"]),
            item("UPDATE", 3, "Name is Alice", "m2"),
        )
    )
    plan = extractor_for(server).plan(CHAT, ["user", "assistant"], context)
    assert [(o.event, o.side, o.target_id) for o in plan.operations] == [
        ("UPDATE", "user", "u1"),
        ("UPDATE", "assistant", "a1"),
    ]
    assert len(server.chat_requests) == 1
    assert [side for _, side in context.similar_calls] == ["user", "assistant"]
    assert context.similar_calls[0][0] == [m.content for m in CHAT[1:]]
    body = server.chat_requests[0].body
    assert body["model"] == "test-model" and body["temperature"] == 0.0
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    usage = plan.usage
    assert usage["llm_calls"] == 1
    assert usage["prompt_tokens"] == server.chat_requests[0].prompt_tokens
    assert usage["completion_tokens"] > 0 and usage["llm_ms"] >= 0


def test_nothing_said_by_the_written_side_means_no_call(server):
    plan = extractor_for(server).plan(
        msgs(("assistant", "Hi! How can I help?")), ["user"], FakeContext({})
    )
    assert plan.operations == [] and server.requests == []


def test_forget_requests_resolve_through_in_categories(server):
    context = FakeContext(
        {
            "user": [
                memory("f1", "Likes sushi", "food_preferences"),
                memory("f2", "Eats meat", "food_preferences"),
                memory("t1", "Visited Rome", "travel"),
            ]
        }
    )
    server.reply(
        answer(
            item("UPDATE", 1, "Is vegan", "m2", ["food_preferences"]),
            forget=[{"source": 1, "categories": ["food_preferences"]}],
        )
    )
    plan = extractor_for(server).plan(
        msgs(("user", "Delete all of my food preferences. I'm vegan now.")), ["user"], context
    )
    assert context.category_calls == [(["food_preferences"], "user")]
    ops = [(o.event, o.target_id, o.text) for o in plan.operations]
    # the UPDATE of a forgotten memory becomes an ADD, so the new fact survives the forget
    assert ops == [("DELETE", "f1", None), ("DELETE", "f2", None), ("ADD", None, "Is vegan")]


def test_repair_sends_the_error_and_the_bad_answer_back(server):
    server.reply(ScriptedReply.text("{'memories': oops"), answer(item(source=1)))
    plan = extractor_for(server).plan(msgs(("user", "I'm vegetarian")), ["user"], FakeContext({}))
    assert [o.text for o in plan.operations] == ["Is vegetarian"]
    first, repair = server.chat_requests
    assert repair.messages[:2] == first.messages
    assert repair.messages[2] == {"role": "assistant", "content": "{'memories': oops"}
    assert "not valid JSON" in repair.messages[3]["content"]
    assert plan.usage["llm_calls"] == 2


def test_a_server_without_json_schema_gets_json_object(server):
    server.reply(
        ScriptedReply.error(400, "response_format json_schema is not supported"),
        answer(item(source=1)),
        answer(item(source=1, text="Lives in Oslo")),
    )
    extractor = extractor_for(server)
    context = FakeContext({})
    extractor.plan(msgs(("user", "I'm vegetarian")), ["user"], context)
    extractor.plan(msgs(("user", "I live in Oslo")), ["user"], context)
    formats = [r.body["response_format"]["type"] for r in server.chat_requests]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_usage_is_counted_offline_when_the_server_reports_none(server):
    content = answer(item(source=1))
    server.reply(ScriptedReply.text(content, usage=False))
    plan = extractor_for(server).plan(msgs(("user", "I'm vegetarian")), ["user"], FakeContext({}))
    assert plan.usage["prompt_tokens"] == server.chat_requests[0].prompt_tokens
    assert plan.usage["completion_tokens"] > 5


def test_retries_are_counted_as_calls(server):
    server.reply(ScriptedReply.error(429), ScriptedReply.error(503), answer(item(source=1)))
    plan = extractor_for(server, max_retries=2).plan(
        msgs(("user", "I'm vegetarian")), ["user"], FakeContext({})
    )
    assert plan.usage["llm_calls"] == 3 and len(plan.operations) == 1


def test_failures_raise_extraction_error_with_usage(server):
    server.reply(ScriptedReply.error(500), ScriptedReply.error(500))
    with pytest.raises(ExtractionError, match="after 2 attempt") as caught:
        extractor_for(server).plan(msgs(("user", "I'm vegetarian")), ["user"], FakeContext({}))
    assert caught.value.usage["llm_calls"] == 2 and caught.value.pending_id is None


def test_no_api_key_and_no_base_url_is_a_config_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match=r"llm\.config\.api_key"):
        LlmExtractor(LlmSettings())
    LlmExtractor(LlmSettings(base_url="http://127.0.0.1:1/v1"))  # local servers need no key


def test_speaker_names_are_shown():
    messages = [Message(role="user", content="I got a cat", name="maria")]
    assert "[1 user maria] I got a cat" in build_chat(prompt_for(messages))[1]["content"]
