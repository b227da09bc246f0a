"""MemkitMemory on its own: transcript, write-once turns, recall, scope; sync and async."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole, ToolCallBlock
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters

from llamaindex_memkit import MemkitMemory
from memkit import AsyncMemory, Memory
from memkit.tokens import count_tokens


@pytest.fixture
def store():
    memory = Memory()
    yield memory
    memory.close()


@pytest.fixture
def adds(store, monkeypatch) -> list[dict[str, Any]]:
    """Every memkit ``add`` call (AsyncMemory runs the same Memory method)."""
    calls: list[dict[str, Any]] = []
    real = store.add

    def spy(messages, **kwargs):
        calls.append({"messages": messages, **kwargs})
        return real(messages, **kwargs)

    monkeypatch.setattr(store, "add", spy)
    return calls


@pytest.fixture(params=["sync", "async"])
def drive(request):
    """Call a MemkitMemory method through its sync name or its async twin."""

    def call(memory: MemkitMemory, name: str, *args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            return getattr(memory, name)(*args, **kwargs)
        return asyncio.run(getattr(memory, f"a{name}")(*args, **kwargs))

    return call


def user(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.USER, content=text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(role=MessageRole.ASSISTANT, content=text)


def texts(messages: list[ChatMessage]) -> list[tuple[str, str]]:
    return [(m.role.value, m.content or "") for m in messages]


def test_a_turn_is_written_once_and_recalled_in_the_next_session(store, adds, drive):
    first = MemkitMemory.from_client(store, user_id="alex")
    drive(first, "put", user("I live in Paris"))
    assert adds == []  # the turn is not finished yet
    drive(first, "put", assistant("Paris is lovely!"))
    assert [a["messages"] for a in adds] == [
        [
            {"role": "user", "content": "I live in Paris"},
            {"role": "assistant", "content": "Paris is lovely!"},
        ]
    ]
    assert adds[0]["user_id"] == "alex"
    drive(first, "put", user("Thanks"))
    drive(first, "put", assistant("Anytime."))
    assert len(adds) == 2  # the first turn was not sent again

    second = MemkitMemory.from_client(store, user_id="alex")
    assert second.session_id != first.session_id
    drive(second, "put", user("Where do I live?"))
    got = drive(second, "get")
    assert got[0].role == MessageRole.SYSTEM
    assert "- Lives in Paris" in got[0].content
    assert texts(got[1:]) == [("user", "Where do I live?")]
    assert texts(drive(second, "get_all")) == [("user", "Where do I live?")]


def test_another_users_facts_are_never_recalled(store, drive):
    alex = MemkitMemory.from_client(store, user_id="alex")
    drive(alex, "put_messages", [user("I live in Paris"), assistant("Noted")])
    bob = MemkitMemory.from_client(store, user_id="bob")
    drive(bob, "put_messages", [user("I'm allergic to cats"), assistant("Noted")])
    bob_view = drive(MemkitMemory.from_client(store, user_id="bob"), "get", "where do I live?")
    assert "Paris" not in str(texts(bob_view))
    assert "allergic to cats" in bob_view[0].content


def test_resuming_a_session_keeps_its_transcript(store, drive):
    first = MemkitMemory.from_client(store, user_id="alex", session_id="s-1")
    drive(first, "put_messages", [user("hello"), assistant("hi")])
    again = MemkitMemory.from_client(store, user_id="alex", session_id="s-1")
    assert texts(drive(again, "get_all")) == [("user", "hello"), ("assistant", "hi")]


def test_set_remembers_only_what_is_new(store, adds, drive):
    memory = MemkitMemory.from_client(store, user_id="alex")
    drive(memory, "set", [user("I live in Paris"), assistant("Nice")])
    drive(
        memory,
        "set",
        [user("I live in Paris"), assistant("Nice"), user("I love jazz"), assistant("Cool")],
    )
    assert [a["messages"] for a in adds] == [
        [{"role": "user", "content": "I live in Paris"}, {"role": "assistant", "content": "Nice"}],
        [{"role": "user", "content": "I love jazz"}, {"role": "assistant", "content": "Cool"}],
    ]
    assert len(drive(memory, "get_all")) == 4


def test_tool_traffic_stays_out_of_transcript_and_memory(store, adds, drive):
    memory = MemkitMemory.from_client(store, user_id="alex")
    call = ChatMessage(
        role=MessageRole.ASSISTANT, blocks=[ToolCallBlock(tool_call_id="c1", tool_name="weather")]
    )
    result = ChatMessage(
        role=MessageRole.TOOL, content="sunny", additional_kwargs={"tool_call_id": "c1"}
    )
    drive(
        memory, "put_messages", [user("Weather in Paris?"), call, result, assistant("It is sunny.")]
    )
    assert texts(drive(memory, "get_all")) == [
        ("user", "Weather in Paris?"),
        ("assistant", "It is sunny."),
    ]
    assert [a["messages"] for a in adds] == [
        [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "It is sunny."},
        ]
    ]


def test_transcript_fits_token_limit_newest_first(store, drive):
    memory = MemkitMemory.from_client(store, user_id="alex", token_limit=30)
    for i in range(6):
        drive(
            memory,
            "put_messages",
            [user(f"question number {i} " * 2), assistant(f"answer number {i} " * 2)],
        )
    got = drive(memory, "get")
    # The offline extractor keeps "Question number 5 ..." as a statement, so recall may
    # lead with one system message, whose tokens come out of token_limit (the newest
    # message is kept whatever is left).
    assert all(m.role != MessageRole.SYSTEM for m in got[1:])
    recall = got[0].content if got[0].role == MessageRole.SYSTEM else ""
    transcript = got[1:] if recall else got
    assert transcript[-1].content.startswith("answer number 5")
    used = sum(count_tokens(m.content) for m in transcript)
    assert used <= max(30 - count_tokens(recall), count_tokens(transcript[-1].content))
    if len(transcript) > 1:  # never starts on a reply without its question
        assert transcript[0].role == MessageRole.USER
    # Without recall, the same budget holds whole turns of the transcript.
    plain = MemkitMemory.from_client(store, user_id="nobody", session_id=memory.session_id,
                                     token_limit=30)  # fmt: skip
    only = drive(plain, "get")
    assert only[0].role == MessageRole.USER and len(only) > 1
    # The newest message is kept even when it alone is over the limit.
    tiny = MemkitMemory.from_client(store, user_id="alex", token_limit=1)
    drive(tiny, "put", user("a long message that is well over one token"))
    assert texts(drive(tiny, "get"))[-1][1].startswith("a long message")


def test_recall_fits_its_budget(store, drive):
    for i in range(30):
        store.add(f"Visited city number {i} in {2000 + i}", user_id="alex", infer=False)
    memory = MemkitMemory.from_client(store, user_id="alex", recall_token_limit=40)
    got = drive(memory, "get", "which cities did I visit?")
    assert got[0].role == MessageRole.SYSTEM
    assert got[0].content.count("\n- ") + 1 > 1
    assert count_tokens(got[0].content) <= 40


def test_recall_merges_into_a_leading_system_message(store, drive):
    store.add("Likes jazz", user_id="alex", infer=False)
    memory = MemkitMemory.from_client(store, user_id="alex")
    drive(
        memory,
        "set",
        [ChatMessage(role=MessageRole.SYSTEM, content="Be brief."), user("What music do I like?")],
    )
    got = drive(memory, "get")
    assert [m.role for m in got] == [MessageRole.SYSTEM, MessageRole.USER]
    assert "- Likes jazz" in got[0].content
    assert got[0].content.endswith("Be brief.")


def test_recall_can_go_in_front_of_the_latest_user_message(store, drive):
    store.add("Likes jazz", user_id="alex", infer=False)
    memory = MemkitMemory.from_client(store, user_id="alex", insert_method="user")
    drive(memory, "put", user("What music do I like?"))
    (only,) = drive(memory, "get")
    assert only.role == MessageRole.USER
    assert "- Likes jazz" in only.content and only.content.endswith("What music do I like?")
    assert texts(drive(memory, "get_all")) == [("user", "What music do I like?")]


def test_condense_style_get_with_input_recalls_for_the_input(store, drive):
    store.add("Is allergic to peanuts", user_id="alex", infer=False)
    memory = MemkitMemory.from_client(store, user_id="alex")
    got = drive(memory, "get", "any allergies I should remember?")
    assert "- Is allergic to peanuts" in got[0].content
    assert len(got) == 1  # the input is not in the transcript until it is put


def test_nothing_recalled_means_no_system_message(store, drive):
    memory = MemkitMemory.from_client(store, user_id="alex")
    assert drive(memory, "get") == []
    drive(memory, "put", user("hello"))
    assert texts(drive(memory, "get")) == [("user", "hello")]


def test_user_and_agent_scope_recalls_both_sides(store, drive):
    memory = MemkitMemory.from_client(store, user_id="alex", agent_id="tutor")
    drive(memory, "put_messages", [user("I live in Paris"), assistant("My name is Alice.")])
    got = drive(
        MemkitMemory.from_client(store, user_id="alex", agent_id="tutor"), "get", "who are we?"
    )
    assert "Lives in Paris" in got[0].content
    assert "Name is Alice" in got[0].content
    other = drive(
        MemkitMemory.from_client(store, user_id="bob", agent_id="tutor"), "get", "who are we?"
    )
    assert "Paris" not in other[0].content and "Alice" in other[0].content


def test_metadata_filters_and_verbatim_writes(store, drive):
    store.add("Likes jazz", user_id="alex", infer=False, metadata={"source": "import"})
    memory = MemkitMemory.from_client(
        store,
        user_id="alex",
        infer=False,
        metadata={"source": "chat"},
        filters=MetadataFilters(filters=[MetadataFilter(key="source", value="chat")]),
    )
    drive(memory, "put_messages", [user("I live in Paris"), assistant("Noted")])
    records = {r.memory: r.metadata for r in store.get_all(user_id="alex").results}
    assert records == {"I live in Paris": {"source": "chat"}, "Likes jazz": {"source": "import"}}
    got = drive(memory, "get", "music and places")
    assert "I live in Paris" in got[0].content and "jazz" not in got[0].content


def test_reset_clears_the_transcript_not_long_term_memory(store, drive):
    memory = MemkitMemory.from_client(store, user_id="alex")
    drive(memory, "put_messages", [user("I live in Paris"), assistant("Noted")])
    drive(memory, "reset")
    assert drive(memory, "get_all") == []
    assert [r.memory for r in store.get_all(user_id="alex").results] == ["Lives in Paris"]


def test_a_lone_user_message_reaches_long_term_memory_when_the_session_ends(store, adds, drive):
    memory = MemkitMemory.from_client(store, user_id="alex")
    drive(memory, "put_messages", [user("Hi"), assistant("Hello!")])
    drive(memory, "put", user("I live in Paris"))
    assert len(adds) == 1  # the second turn waits for its reply
    drive(memory, "reset")
    assert [a["messages"] for a in adds[1:]] == [[{"role": "user", "content": "I live in Paris"}]]
    assert adds[1]["user_id"] == "alex"
    assert drive(memory, "get_all") == []
    assert [r.memory for r in store.get_all(user_id="alex").results] == ["Lives in Paris"]
    drive(memory, "reset")  # nothing waits any more: nothing is written twice
    assert len(adds) == 2


def test_constructors(tmp_path):
    memory = MemkitMemory.from_defaults(user_id="alex", run_id="r1")
    assert memory.context.ids() == {"user_id": "alex", "run_id": "r1"}
    memory.put_messages([user("I live in Paris"), assistant("Noted")])
    assert memory.client.get_all(user_id="alex", run_id="r1").count == 1
    memory.client.close()

    configured = MemkitMemory.from_config(
        {"path": str(tmp_path / "cfg")}, context={"agent_id": "bot"}
    )
    assert configured.client.config.path == str(tmp_path / "cfg")
    configured.client.close()

    amem = AsyncMemory()
    wrapped = MemkitMemory.from_client(amem, user_id="alex")
    assert wrapped.client is amem.sync
    assert MemkitMemory.class_name() == "MemkitMemory"
    dumped = wrapped.to_dict()
    assert dumped["context"]["user_id"] == "alex" and "tokenizer_fn" not in dumped
    amem.sync.close()
    with pytest.raises(ValueError, match="not both"):
        MemkitMemory.from_defaults(Memory(), config={}, user_id="alex")
