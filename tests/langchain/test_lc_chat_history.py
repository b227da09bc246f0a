"""MemkitChatMessageHistory: a session's transcript that feeds long-term memory."""

from __future__ import annotations

import itertools

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables.history import RunnableWithMessageHistory

from langchain_memkit import MemkitChatMessageHistory
from langchain_memkit.testing import ScriptedChatModel
from memkit import Memory
from memkit.errors import InvalidInputError

pytest_plugins = ["lc_fixtures"]  # the shared fixtures: mem, both, client, spy


def test_transcript_round_trips_and_feeds_long_term_memory(mem: Memory, client, both) -> None:
    history = MemkitChatMessageHistory(client, "s-1", user_id="alex")
    turn = [SystemMessage("Be brief."), HumanMessage("I live in Paris"), AIMessage("Noted!")]
    both(lambda: history.add_messages(turn), lambda: history.aadd_messages(turn))
    messages = both(lambda: history.messages, history.aget_messages)
    assert [(type(m), m.content) for m in messages] == [
        (SystemMessage, "Be brief."),
        (HumanMessage, "I live in Paris"),
        (AIMessage, "Noted!"),
    ]
    assert [r.memory for r in mem.get_all(user_id="alex").results] == ["Lives in Paris"]
    # The transcript is its own session: another session starts empty.
    assert MemkitChatMessageHistory(client, "s-2", user_id="alex").messages == []


def test_clear_forgets_the_transcript_but_not_the_memories(mem: Memory, client, both) -> None:
    history = MemkitChatMessageHistory(client, "s-1", user_id="alex")
    history.add_user_message("I'm allergic to peanuts")
    both(history.clear, history.aclear)
    assert history.messages == []
    assert mem.get_all(user_id="alex").count == 1


def test_only_text_is_kept_and_tool_messages_come_back_as_tool_messages(mem: Memory) -> None:
    history = MemkitChatMessageHistory(mem, "s-1", agent_id="helper", max_messages=2)
    history.add_messages(
        [
            HumanMessage("hi"),
            AIMessage("", tool_calls=[{"name": "lookup", "args": {}, "id": "c1"}]),
            ToolMessage("42", tool_call_id="c1", name="lookup"),
            AIMessage("The answer is 42"),
        ]
    )
    kept = history.messages
    assert [type(m) for m in kept] == [ToolMessage, AIMessage]
    assert kept[0].name == "lookup" and kept[0].content == "42"


def test_infer_false_keeps_the_turn_verbatim(mem: Memory) -> None:
    history = MemkitChatMessageHistory(mem, "s-1", user_id="alex", infer=False)
    history.add_user_message("I live in Paris")
    assert [r.memory for r in mem.get_all(user_id="alex").results] == ["I live in Paris"]


def test_a_history_without_scope_refuses() -> None:
    with pytest.raises(InvalidInputError, match="no memkit scope"):
        MemkitChatMessageHistory(object(), "s-1")


@pytest.mark.filterwarnings("ignore:RunnableWithMessageHistory is deprecated")
def test_runnable_with_message_history(mem: Memory) -> None:
    model = ScriptedChatModel(messages=itertools.cycle(["Nice to meet you!"]))
    prompt = ChatPromptTemplate.from_messages(
        [MessagesPlaceholder("history"), ("human", "{question}")]
    )
    chain = RunnableWithMessageHistory(
        prompt | model,
        lambda session_id: MemkitChatMessageHistory(mem, session_id, user_id="alex"),
        input_messages_key="question",
        history_messages_key="history",
    )
    config = {"configurable": {"session_id": "s-9"}}
    chain.invoke({"question": "I live in Paris"}, config)
    chain.invoke({"question": "I love green tea"}, config)
    # The second call saw the first turn, replayed from memkit's transcript.
    assert [m.content for m in model.calls[1]] == [
        "I live in Paris",
        "Nice to meet you!",
        "I love green tea",
    ]
    assert sorted(r.memory for r in mem.get_all(user_id="alex").results) == [
        "Lives in Paris",
        "Loves green tea",
    ]
