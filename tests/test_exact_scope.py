"""The record-store answer for a small scope (``memkit.store.exact``) is Chroma's answer.

The evaluator is held to a real Chroma on the property-test generators' filters and records;
then whole ``get_all`` / ``search`` calls are compared with the exact path on and off.
"""

from __future__ import annotations

import itertools
from typing import Any

import chromadb
import chromadb.config
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_filters_property import filters, records_strategy

from memkit import Memory
from memkit.filter_chroma import chroma_metadata, to_chroma
from memkit.filters import parse_filter
from memkit.store.exact import Unsupported, document_matches, scope_of, where_matches
from memkit.testing import HashEmbedder

_names = itertools.count()


@pytest.fixture(scope="module")
def client() -> Any:
    return chromadb.EphemeralClient(settings=chromadb.config.Settings(anonymized_telemetry=False))


@settings(max_examples=150, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=records_strategy, raws=st.lists(filters, min_size=1, max_size=6))
def test_the_evaluator_agrees_with_chroma(client, records, raws) -> None:
    for i, record in enumerate(records):
        record["id"] = f"m{i}"
    name = f"exact-{next(_names)}"
    collection = client.create_collection(name, embedding_function=None)
    try:
        collection.add(
            ids=[r["id"] for r in records],
            documents=[r["memory"] for r in records],
            metadatas=[chroma_metadata(r) for r in records],
            embeddings=[[1.0, float(i % 3)] for i in range(len(records))],
        )
        for raw in raws:
            f = to_chroma(parse_filter(raw))
            chroma = set(collection.get(where=f.where, where_document=f.where_document)["ids"])
            try:
                mine = {
                    r["id"]
                    for r in records
                    if (f.where is None or where_matches(f.where, chroma_metadata(r)))
                    and (
                        f.where_document is None or document_matches(f.where_document, r["memory"])
                    )
                }
            except Unsupported:
                continue
            assert mine == chroma, (raw, f)
    finally:
        client.delete_collection(name)


def test_scope_is_the_top_level_id_equalities() -> None:
    assert scope_of({"user_id": {"$eq": "alex"}}) == {"user_id": "alex"}
    both = {"$and": [{"user_id": {"$eq": "a"}}, {"run_id": {"$eq": "r"}}, {"md:x": {"$eq": 1}}]}
    assert scope_of(both) == {"user_id": "a", "run_id": "r"}
    assert scope_of({"$or": [{"user_id": {"$eq": "a"}}, {"user_id": {"$eq": "b"}}]}) == {}
    assert scope_of({"user_id": {"$ne": "a"}}) == {}
    assert scope_of({"$and": [{"user_id": {"$eq": "a"}}, {"user_id": {"$eq": "b"}}]}) == {}


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
