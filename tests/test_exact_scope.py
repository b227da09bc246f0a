"""The record-store answer for a small scope (``memkit.search._exact``) is Chroma's answer.

Rows are selected with ``memkit.filters._language.evaluate``, which the property tests hold equal to
Chroma on the translated filter; here whole ``get_all`` / ``search`` calls are compared with
the exact path on and off.
"""

from __future__ import annotations

from memkit import Memory
from memkit.filters._language import entity_scope, parse_filter
from memkit.testing import HashEmbedder


def test_scope_is_the_top_level_id_equalities() -> None:
    assert entity_scope(parse_filter({"user_id": "alex"})) == ({"user_id": "alex"}, True)
    both = parse_filter({"AND": [{"user_id": "a"}, {"run_id": "r"}, {"metadata": {"x": 1}}]})
    assert entity_scope(both) == ({"user_id": "a", "run_id": "r"}, False)
    assert entity_scope(parse_filter({"OR": [{"user_id": "a"}, {"user_id": "b"}]}))[0] == {}
    assert entity_scope(parse_filter({"user_id": {"ne": "a"}}))[0] == {}
    assert entity_scope(parse_filter({"AND": [{"user_id": "a"}, {"user_id": "b"}]})) == ({}, False)


def test_calls_answer_the_same_with_and_without_the_exact_path(tmp_path) -> None:
    with Memory(path=str(tmp_path), embedder=HashEmbedder()) as memory:
        for user in ("alex", "bo"):
            for day in range(1, 6):
                memory.add(
                    [f"{user} likes dish {day} and town {day % 3}", f"{user} went out {day}"],
                    user_id=user,
                    metadata={"topic": "food" if day % 2 else "travel", "n": day},
                    timestamp=f"2024-07-0{day}",
                    infer=False,
                )
        calls = [
            lambda: memory.get_all(user_id="alex").model_dump(),
            lambda: memory.get_all(
                user_id="alex", filters={"metadata": {"topic": "food"}}
            ).model_dump(),
            lambda: memory.get_all(
                filters={"AND": [{"user_id": "bo"}, {"created_at": {"gte": "2024-07-03"}}]}
            ).model_dump(),
            lambda: memory.get_all(user_id="bo", keywords="town 1").model_dump(),
            lambda: memory.search(
                "dish 3", user_id="alex", filters={"metadata": {"n": {"gte": 2}}}
            ).model_dump(),
            lambda: memory.search("went out", user_id="bo").model_dump(),
        ]
        index = memory.backend.index
        exact = [call() for call in calls]
        records, index.records = index.records, None
        try:
            chroma = [call() for call in calls]
        finally:
            index.records = records
        for a, b in zip(exact, chroma, strict=True):
            if "results" in a and a["results"] and "score" in a["results"][0]:
                for hit in (*a["results"], *b["results"]):
                    hit["score"] = round(hit["score"], 4)
            assert a == b
