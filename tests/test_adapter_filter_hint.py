"""A metadata key written at the top level of a filter is refused with a hint to nest it."""

from __future__ import annotations

from typing import Any

import pytest

from memkit import Memory
from memkit.errors import InvalidFilterError


@pytest.fixture
def memory():
    store = Memory()
    yield store
    store.close()


@pytest.mark.parametrize(
    "filters",
    [
        {"food": "pizza"},
        {"metadata.food": "pizza"},
        {"food": {"eq": "pizza"}},
        {"AND": [{"user_id": "alex"}, {"metadata.food": {"in": ["pizza"]}}]},
    ],
)
def test_a_top_level_metadata_key_gets_a_hint_to_nest_it(memory, filters: dict[str, Any]):
    with pytest.raises(InvalidFilterError) as info:
        memory.search("what does alex eat?", user_id="alex", filters=filters)
    message = str(info.value)
    assert "unknown field" in message
    assert '{"metadata": {"food": ...}}' in message


def test_the_hinted_filter_works(memory):
    memory.add("I love pizza", user_id="alex", metadata={"food": "pizza"}, infer=False)
    found = memory.search("pizza", user_id="alex", filters={"metadata": {"food": "pizza"}})
    assert [hit.metadata["food"] for hit in found.results] == ["pizza"]


def test_a_field_that_is_not_a_string_gets_no_hint(memory):
    with pytest.raises(InvalidFilterError) as info:
        memory.search("pizza", user_id="alex", filters={1: "x"})
    assert "metadata" not in info.value.reason
