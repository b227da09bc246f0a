from __future__ import annotations

import socket
from datetime import UTC, datetime

from memkit.models import SearchHit
from memkit.recall import format_recall, recall_query
from memkit.tokens import count_tokens, truncate_to_tokens


def hit(text: str, score: float) -> SearchHit:
    now = datetime.now(UTC)
    return SearchHit(id=text, memory=text, hash="h", created_at=now, updated_at=now, score=score)


def test_tokens_are_counted_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert count_tokens("hello world") == 2
    assert truncate_to_tokens("one two three four", 2) == "one two"


def test_recall_drops_the_least_relevant_first():
    hits = [
        hit("Is allergic to nuts", 0.9),
        hit("Likes jazz " * 40, 0.2),
        hit("Is a vegetarian", 0.8),
    ]
    text = format_recall(hits, budget_tokens=40)
    assert text.splitlines()[1:] == ["- Is allergic to nuts", "- Is a vegetarian"]
    assert count_tokens(text) <= 40
    assert format_recall(hits, budget_tokens=3) == ""
    assert format_recall([], budget_tokens=100) == ""


def test_recall_query_uses_latest_user_turns():
    turns = [("user", "I live in Paris"), ("assistant", "Nice!"), ("user", "What should I eat?")]
    assert recall_query(turns) == "What should I eat?\nI live in Paris"
    assert recall_query(turns, max_chars=20) == "What should I eat?"


def test_recall_filter_matches_how_add_tags_each_side():
    from memkit.recall import recall_filter

    assert recall_filter(user_id="u") == {"user_id": {"eq": "u"}}
    assert recall_filter() is None
    assert recall_filter(user_id="u", agent_id="a", run_id="r") == {
        "AND": [
            {"OR": [{"user_id": {"eq": "u"}}, {"agent_id": {"eq": "a"}}]},
            {"run_id": {"eq": "r"}},
        ]
    }
    assert recall_filter({"categories": {"contains": "travel"}}, agent_id="a") == {
        "AND": [{"categories": {"contains": "travel"}}, {"agent_id": {"eq": "a"}}]
    }


def test_recall_filter_ids_are_identities_not_wildcards():
    from memkit.filters._language import Cond, parse_filter
    from memkit.recall import recall_filter

    assert parse_filter(recall_filter(user_id="*")) == Cond("user_id", "eq", "*")
