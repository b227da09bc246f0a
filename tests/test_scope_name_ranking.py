"""A name that is the search's own scope does not outrank the answer.

Within ``user_id="alex"`` every memory is Alex's, so "Alex" in "What does Alex eat?"
tells search nothing about which memory answers; left in the query, it made "Name is
Alex" the best match of the README's example. The ranking tests run on every deployment
of the ``memory`` fixture, with the default embedder; the rewrite itself is pure.
"""

from __future__ import annotations

import pytest

from memkit import Memory
from memkit.search._scope_words import scope_free_query, scope_words

README_INTRO = "Hi, I'm Alex. I'm a vegetarian and I'm allergic to nuts."


def ranked(memory, query: str, **scope) -> list[str]:
    return [hit.memory for hit in memory.search(query, **scope).results]


def test_the_readme_question_ranks_the_diet_first(memory):
    memory.add(README_INTRO, user_id="alex")
    assert sorted(ranked(memory, "anything", user_id="alex")) == [
        "Is a vegetarian",
        "Is allergic to nuts",
        "Name is Alex",
    ]
    assert ranked(memory, "What does Alex eat?", user_id="alex")[0] == "Is a vegetarian"
    assert ranked(memory, "What is Alex allergic to?", user_id="alex")[0] == "Is allergic to nuts"
    # The same scope given as a filter reads the same.
    top = ranked(memory, "What can alex eat?", filters={"user_id": "alex"})
    assert top[0] == "Is a vegetarian"


def test_another_person_named_in_the_memories_is_still_found(memory):
    memory.add(README_INTRO, user_id="alex")
    memory.add("My sister Maria lives in Rome.", user_id="alex")
    assert (
        ranked(memory, "Where does Maria live?", user_id="alex")[0] == "Sister Maria lives in Rome"
    )
    assert (
        ranked(memory, "Where does Alex's sister live?", user_id="alex")[0]
        == "Sister Maria lives in Rome"
    )


def test_a_question_about_the_name_itself_keeps_it(memory):
    memory.add(README_INTRO, user_id="alex")
    assert ranked(memory, "Who is Alex?", user_id="alex")[0] == "Name is Alex"
    assert ranked(memory, "What is Alex's name?", user_id="alex")[0] == "Name is Alex"


def test_an_agent_scope_reads_the_same(memory):
    for text in ("Name is Chefbot", "Cooks Italian food", "Speaks French"):
        memory.add(text, agent_id="chefbot", infer=False)
    assert ranked(memory, "What does Chefbot cook?", agent_id="chefbot")[0] == "Cooks Italian food"
    assert (
        ranked(memory, "What language does chefbot speak?", agent_id="chefbot")[0]
        == "Speaks French"
    )


def test_dense_mode_embeds_the_same_question():
    with Memory.from_config({"search": {"mode": "dense"}}) as memory:
        memory.add(README_INTRO, user_id="alex")
        assert ranked(memory, "What does Alex eat?", user_id="alex")[0] == "Is a vegetarian"


@pytest.mark.parametrize(
    ("query", "scope", "expected"),
    [
        ("What does Alex eat?", {"user_id": "alex"}, "What does eat?"),
        ("what does ALEX eat", {"user_id": "Alex"}, "what does eat"),
        ("What is Alex's job?", {"user_id": "alex"}, "What is job?"),
        ("What is Alex\u2019s job?", {"user_id": "alex"}, "What is job?"),
        # Whole words only: another name, a longer word, a hyphenated word stay.
        ("Where does Alexandra live?", {"user_id": "alex"}, "Where does Alexandra live?"),
        ("Is alex-approved food spicy?", {"user_id": "alex"}, "Is alex-approved food spicy?"),
        # Each word of an id, for the user, the agent and the run; not the app's.
        ("Does Alex Smith swim?", {"user_id": "alex_smith"}, "Does swim?"),
        ("What does Chefbot cook?", {"agent_id": "chefbot"}, "What does cook?"),
        ("Where is Sam staying?", {"run_id": "sam-trip"}, "Where is staying?"),
        ("What does Acme sell?", {"app_id": "acme"}, "What does Acme sell?"),
        ("Alex, what do I like?", {"user_id": "alex"}, "what do I like?"),
        # Digits of an id are no name: "conv-26" takes out "conv" only.
        ("What happened on day 26?", {"user_id": "conv-26"}, "What happened on day 26?"),
        # Nothing content-bearing would be left: the question is kept whole.
        ("Who is Alex?", {"user_id": "alex"}, "Who is Alex?"),
        ("Alex", {"user_id": "alex"}, "Alex"),
        ("", {"user_id": "alex"}, ""),
        ("What does Alex eat?", {}, "What does Alex eat?"),
    ],
)
def test_scope_free_query(query, scope, expected):
    assert scope_free_query(query, scope) == expected


def test_scope_words():
    assert scope_words({"user_id": "Alex_Smith", "agent_id": "bot-7", "app_id": "acme"}) == {
        "alex",
        "smith",
        "bot",
    }
    assert scope_words({"run_id": "42"}) == frozenset()
