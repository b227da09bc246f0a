"""MetadataFilters -> memkit v2 filters: one table, one row per case."""

from __future__ import annotations

import pytest
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from llamaindex_memkit import to_memkit_filter
from llamaindex_memkit.filters import resolve_filters
from memkit.errors import InvalidFilterError
from memkit.filters._language import parse_filter

Op = FilterOperator


def one(key, value, op=Op.EQ):
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])


CASES = [
    (one("priority", 3, Op.GTE), {"metadata": {"priority": {"gte": 3}}}),
    (one("priority", 3, Op.LT), {"metadata": {"priority": {"lt": 3}}}),
    (one("source", "chat"), {"metadata": {"source": {"eq": "chat"}}}),
    (one("source", "chat", Op.NE), {"metadata": {"source": {"ne": "chat"}}}),
    (one("source", ["a", "b"], Op.IN), {"metadata": {"source": {"in": ["a", "b"]}}}),
    (one("source", ["a"], Op.NIN), {"metadata": {"source": {"nin": ["a"]}}}),
    (one("note", "Paris", Op.TEXT_MATCH), {"metadata": {"note": {"contains": "Paris"}}}),
    (
        one("note", "paris", Op.TEXT_MATCH_INSENSITIVE),
        {"metadata": {"note": {"icontains": "paris"}}},
    ),
    (one("note", None, Op.IS_EMPTY), {"NOT": [{"metadata": {"note": "*"}}]}),
    (one("metadata.user_id", "x"), {"metadata": {"user_id": {"eq": "x"}}}),
    (one("user_id", "alex"), {"user_id": {"eq": "alex"}}),
    (one("run_id", ["r1", "r2"], Op.IN), {"run_id": {"in": ["r1", "r2"]}}),
    (one("run_id", None, Op.IS_EMPTY), {"NOT": [{"run_id": "*"}]}),
    (one("created_at", "2024-07-01", Op.GTE), {"created_at": {"gte": "2024-07-01"}}),
    (one("categories", "food", Op.CONTAINS), {"categories": {"contains": "food"}}),
    (one("categories", ["food", "travel"], Op.ANY), {"categories": {"in": ["food", "travel"]}}),
    (one("categories", ["food", "travel"], Op.ALL), {"categories": {"eq": ["food", "travel"]}}),
    (one("text", "Paris", Op.TEXT_MATCH), {"text": {"contains": "Paris"}}),
    (
        MetadataFilters(
            filters=[
                MetadataFilter(key="user_id", value="alex"),
                MetadataFilter(key="priority", value=2, operator=Op.GT),
            ],
            condition=FilterCondition.OR,
        ),
        {"OR": [{"user_id": {"eq": "alex"}}, {"metadata": {"priority": {"gt": 2}}}]},
    ),
    (
        MetadataFilters(
            filters=[
                MetadataFilter(key="user_id", value="alex"),
                MetadataFilters(
                    filters=[MetadataFilter(key="source", value="chat")],
                    condition=FilterCondition.NOT,
                ),
            ]
        ),
        {"AND": [{"user_id": {"eq": "alex"}}, {"NOT": [{"metadata": {"source": {"eq": "chat"}}}]}]},
    ),
]


@pytest.mark.parametrize(("given", "expected"), CASES)
def test_translation(given, expected):
    translated = to_memkit_filter(given)
    assert translated == expected
    assert parse_filter(translated) is not None  # memkit accepts every translation


@pytest.mark.parametrize(
    ("given", "where"),
    [
        (one("user_id", 3, Op.GT), ("filters", 0, "user_id")),
        (one("tags", "x", Op.CONTAINS), ("filters", 0, "tags")),
        (one("tags", ["x"], Op.ANY), ("filters", 0, "tags")),
        (one("hash", "abc"), ("filters", 0, "hash")),
        (one("text", None, Op.IS_EMPTY), ("filters", 0, "text")),
        (MetadataFilters(filters=[]), ("filters",)),
        (
            MetadataFilters(
                filters=[MetadataFilter(key="a", value=1), MetadataFilters(filters=[])]
            ),
            ("filters", 1),
        ),
    ],
)
def test_untranslatable_filters_name_the_place(given, where):
    with pytest.raises(InvalidFilterError) as caught:
        to_memkit_filter(given)
    assert caught.value.path == where
    assert isinstance(caught.value, ValueError)


def test_components_validate_their_filters_up_front():
    assert resolve_filters(None) is None
    assert resolve_filters({}) is None
    assert resolve_filters({"categories": {"contains": "food"}}) == {
        "categories": {"contains": "food"}
    }
    with pytest.raises(InvalidFilterError, match="colour"):
        resolve_filters({"colour": "red"})
