"""Table-driven tests of the v2 filter language: parsing, rejection paths, dates, evaluation,
and the Chroma translation (expected ``where`` clauses)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from memkit.errors import InvalidFilterError, MetadataError
from memkit.filters._chroma import MATCH_NONE, ChromaFilter, chroma_metadata, to_chroma
from memkit.filters._language import (
    And,
    Cond,
    Not,
    Or,
    all_of,
    eq,
    evaluate,
    fold_text,
    parse_filter,
    referenced_fields,
)


def ts(text: str) -> float:
    """Epoch seconds of an ISO datetime (UTC when no offset)."""
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def record(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "m1",
        "memory": "Alex is a Vegetarian",
        "user_id": "alex",
        "agent_id": None,
        "app_id": None,
        "run_id": None,
        "metadata": {"food": "vegan", "n": 1, "f": 1.5, "flag": True},
        "categories": ["food_preferences", "health"],
        "created_at": datetime(2024, 7, 31, 12, tzinfo=UTC),
        "updated_at": None,
    }
    base.update(fields)
    return base


# ------------------------------------------------------------------ reference examples

REFERENCE_FILTERS = [
    {"OR": [{"user_id": "alex"}, {"agent_id": {"in": ["travel-assistant", "customer-support"]}}]},
    {"AND": [{"created_at": {"gte": "2024-07-20", "lte": "2024-07-10"}}, {"user_id": "alex"}]},
    {"AND": [{"metadata": {"food": "vegan"}}, {"categories": {"contains": "food_preferences"}}]},
    {"NOT": [{"categories": {"contains": "food_preferences"}}]},
    {"AND": [{"user_id": "alex"}, {"run_id": "*"}]},
    {
        "AND": [
            {"user_id": "alex"},
            {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
            {"categories": {"contains": "food_preferences"}},
        ]
    },
]


@pytest.mark.parametrize("raw", REFERENCE_FILTERS)
def test_reference_examples_parse_and_translate_without_residual(raw: dict[str, Any]) -> None:
    node = parse_filter(raw)
    assert node is not None
    chroma = to_chroma(node)
    assert chroma.residual is None
    assert chroma.where is not None


def test_reference_example_tree() -> None:
    assert parse_filter(REFERENCE_FILTERS[0]) == Or(
        (
            Cond("user_id", "eq", "alex"),
            Cond("agent_id", "in", ("travel-assistant", "customer-support")),
        )
    )


def test_reference_examples_evaluate() -> None:
    alex = record()
    assert evaluate(parse_filter(REFERENCE_FILTERS[0]), alex)
    assert not evaluate(parse_filter(REFERENCE_FILTERS[1]), alex)  # empty range
    assert evaluate(parse_filter(REFERENCE_FILTERS[2]), alex)
    assert not evaluate(parse_filter(REFERENCE_FILTERS[3]), alex)
    assert not evaluate(parse_filter(REFERENCE_FILTERS[4]), alex)
    assert evaluate(parse_filter(REFERENCE_FILTERS[4]), record(run_id="trip"))
    assert evaluate(parse_filter(REFERENCE_FILTERS[5]), alex)


@pytest.mark.parametrize("raw", [None, {}])
def test_no_filter(raw: Any) -> None:
    assert parse_filter(raw) is None
    assert to_chroma(None) == ChromaFilter(None, None, None)


def test_keys_and_operators_of_one_object_are_anded() -> None:
    assert parse_filter({"user_id": "alex", "run_id": "*"}) == And(
        (Cond("user_id", "eq", "alex"), Cond("run_id", "exists", True))
    )
    assert parse_filter({"created_at": {"gte": "2024-07-01T10:00:00Z", "lt": "2024-07-02"}}) == And(
        (
            Cond("created_at", "gte", ts("2024-07-01T10:00:00+00:00")),
            Cond("created_at", "lt", ts("2024-07-02T00:00:00")),
        )
    )
    assert parse_filter({"metadata": {"a": 1, "b": {"ne": "x", "eq": "y"}}}) == And(
        (
            Cond("metadata", "eq", 1, "a"),
            Cond("metadata", "ne", "x", "b"),
            Cond("metadata", "eq", "y", "b"),
        )
    )


# -------------------------------------------------------------------------- rejections

REJECTIONS: list[tuple[Any, tuple[str | int, ...]]] = [
    (["user_id"], ()),
    ({"foo": "x"}, ("foo",)),
    ({"and": [{"user_id": "a"}]}, ("and",)),
    ({"user_id": {"like": "x"}}, ("user_id", "like")),
    ({"user_id": ""}, ("user_id",)),
    ({"user_id": 5}, ("user_id",)),
    ({"user_id": {}}, ("user_id",)),
    ({"user_id": {"in": "alex"}}, ("user_id", "in")),
    ({"user_id": {"in": ["a", 3]}}, ("user_id", "in", 1)),
    ({"user_id": {"gte": "a"}}, ("user_id", "gte")),
    ({"agent_id": {"contains": "a"}}, ("agent_id", "contains")),
    ({"AND": [{"user_id": "a"}, {"created_at": {"gte": "nope"}}]}, ("AND", 1, "created_at", "gte")),
    ({"created_at": {"gte": 1720000000}}, ("created_at", "gte")),
    ({"created_at": {"in": ["2024-07-01"]}}, ("created_at", "in")),
    ({"updated_at": {"icontains": "2024"}}, ("updated_at", "icontains")),
    ({"text": "hello"}, ("text",)),
    ({"text": "*"}, ("text",)),
    ({"text": {"contains": ""}}, ("text", "contains")),
    ({"keywords": {"eq": "x"}}, ("keywords", "eq")),
    ({"keywords": {"icontains": 3}}, ("keywords", "icontains")),
    ({"categories": {"gt": "a"}}, ("categories", "gt")),
    ({"categories": {"icontains": "a"}}, ("categories", "icontains")),
    ({"categories": {"contains": ["a"]}}, ("categories", "contains")),
    ({"categories": []}, ("categories",)),
    ({"categories": {"in": "food"}}, ("categories", "in")),
    ({"categories": {"nin": ["a", ""]}}, ("categories", "nin", 1)),
    ({"metadata": "x"}, ("metadata",)),
    ({"metadata": "*"}, ("metadata",)),
    ({"metadata": {}}, ("metadata",)),
    ({"metadata": {"": 1}}, ("metadata", "")),
    ({"metadata": {"k": {}}}, ("metadata", "k")),
    ({"metadata": {"k": [1]}}, ("metadata", "k")),
    ({"metadata": {"k": None}}, ("metadata", "k")),
    ({"metadata": {"k": {"gt": True}}}, ("metadata", "k", "gt")),
    ({"metadata": {"k": {"gte": "1"}}}, ("metadata", "k", "gte")),
    ({"metadata": {"k": {"lt": float("nan")}}}, ("metadata", "k", "lt")),
    ({"metadata": {"k": {"eq": float("inf")}}}, ("metadata", "k", "eq")),
    ({"metadata": {"k": {"in": [1, {"a": 1}]}}}, ("metadata", "k", "in", 1)),
    ({"metadata": {"k": {"nin": "x"}}}, ("metadata", "k", "nin")),
    ({"metadata": {"k": {"contains": 1}}}, ("metadata", "k", "contains")),
    ({"metadata": {"k": {"between": 1}}}, ("metadata", "k", "between")),
    ({"AND": []}, ("AND",)),
    ({"OR": {}}, ("OR",)),
    ({"NOT": "x"}, ("NOT",)),
    ({"OR": [{}]}, ("OR", 0)),
    ({"OR": ["user_id"]}, ("OR", 0)),
    (
        {"OR": [{"user_id": "a"}, {"NOT": [{"metadata": {"k": {"gte": "x"}}}]}]},
        ("OR", 1, "NOT", 0, "metadata", "k", "gte"),
    ),
]


@pytest.mark.parametrize(("raw", "path"), REJECTIONS)
def test_rejections_name_the_path(raw: Any, path: tuple[str | int, ...]) -> None:
    with pytest.raises(InvalidFilterError) as info:
        parse_filter(raw)
    assert info.value.path == path
    assert isinstance(info.value, ValueError)


# ------------------------------------------------------------------------------- dates

DATE_CASES = [
    # (filter on created_at, record created_at, expected)
    ({"lte": "2024-07-31"}, "2024-07-31T23:59:59.999999", True),
    ({"lte": "2024-07-31"}, "2024-08-01T00:00:00", False),
    ({"gt": "2024-07-31"}, "2024-07-31T23:59:59.999999", False),
    ({"gt": "2024-07-31"}, "2024-08-01T00:00:00", True),
    ({"gte": "2024-07-31"}, "2024-07-31T00:00:00", True),
    ({"gte": "2024-07-31"}, "2024-07-30T23:59:59.999999", False),
    ({"lt": "2024-07-31"}, "2024-07-30T23:59:59.999999", True),
    ({"lt": "2024-07-31"}, "2024-07-31T00:00:00", False),
    ({"eq": "2024-07-31"}, "2024-07-31T00:00:00", True),
    ({"eq": "2024-07-31"}, "2024-07-31T23:59:59.999999", True),
    ({"eq": "2024-07-31"}, "2024-08-01T00:00:00", False),
    ({"ne": "2024-07-31"}, "2024-07-31T12:00:00", False),
    ({"ne": "2024-07-31"}, "2024-08-01T00:00:00", True),
    ({"eq": "2024-07-31T12:00:00"}, "2024-07-31T12:00:00", True),
    ({"eq": "2024-07-31T12:00:00"}, "2024-07-31T12:00:00.000001", False),
    ({"gte": "2024-08-01T02:00:00+02:00"}, "2024-08-01T00:00:00", True),
    ({"gte": "2024-08-01T02:00:00+02:00"}, "2024-07-31T23:59:59", False),
    ({"gt": "2024-07-31T12:00:00Z"}, "2024-07-31T12:00:00", False),
    ({"lte": "2024-07-31T12:00:00"}, "2024-07-31T12:00:00", True),
    ({"gte": "2024-07-20", "lte": "2024-07-10"}, "2024-07-15T00:00:00", False),
    ({"gte": datetime(2024, 7, 31)}, "2024-07-31T00:00:00", True),
]


@pytest.mark.parametrize(("spec", "created", "expected"), DATE_CASES)
def test_date_semantics(spec: dict[str, Any], created: str, expected: bool) -> None:
    node = parse_filter({"created_at": spec})
    assert node is not None
    moment = datetime.fromisoformat(created).replace(tzinfo=UTC)
    assert evaluate(node, record(created_at=moment)) is expected
    assert evaluate(node, record(created_at=moment.timestamp())) is expected  # float epoch
    negated = parse_filter({"NOT": [{"created_at": spec}]})
    assert negated is not None
    assert evaluate(negated, record(created_at=moment)) is not expected


def test_date_only_bounds_are_exact_half_open_days() -> None:
    aug1 = ts("2024-08-01T00:00:00")
    assert parse_filter({"created_at": {"lte": "2024-07-31"}}) == Cond("created_at", "lt", aug1)
    assert parse_filter({"created_at": {"gt": "2024-07-31"}}) == Cond("created_at", "gte", aug1)
    assert parse_filter({"created_at": "2024-07-31"}) == And(
        (Cond("created_at", "gte", aug1 - 86400), Cond("created_at", "lt", aug1))
    )


def test_null_dates() -> None:
    no_update = record(updated_at=None)
    for raw, expected in [
        ({"updated_at": {"gte": "2024-01-01"}}, False),
        ({"NOT": [{"updated_at": {"gte": "2024-01-01"}}]}, True),
        ({"updated_at": {"ne": "2024-07-31T12:00:00"}}, True),
        ({"updated_at": "*"}, False),
        ({"created_at": "*"}, True),
    ]:
        assert evaluate(parse_filter(raw), no_update) is expected, raw


# --------------------------------------------------------------------------- evaluation

EVALUATION_CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"user_id": {"ne": "bob"}}, {"user_id": None}, True),
    ({"user_id": {"nin": ["bob"]}}, {"user_id": None}, True),
    ({"user_id": {"in": ["bob"]}}, {"user_id": None}, False),
    ({"user_id": "*"}, {"user_id": None}, False),
    ({"user_id": "*"}, {"user_id": ""}, False),
    # Only the bare "*" is a wildcard; in an operator it is the string "*".
    ({"run_id": {"eq": "*"}}, {"run_id": "r1"}, False),
    ({"run_id": {"eq": "*"}}, {"run_id": "*"}, True),
    ({"run_id": {"ne": "*"}}, {"run_id": "r1"}, True),
    ({"run_id": {"in": ["x", "*"]}}, {"run_id": "*"}, True),
    ({"run_id": {"in": ["x", "*"]}}, {"run_id": "y"}, False),
    ({"metadata": {"k": {"eq": "*"}}}, {"metadata": {"k": "v"}}, False),
    ({"metadata": {"k": {"eq": "*"}}}, {"metadata": {"k": "*"}}, True),
    ({"agent_id": {"in": []}}, {"agent_id": "x"}, False),
    ({"agent_id": {"nin": []}}, {"agent_id": None}, True),
    ({"metadata": {"missing": {"ne": "x"}}}, {}, True),
    ({"metadata": {"missing": {"nin": ["x", 1]}}}, {}, True),
    ({"metadata": {"missing": "x"}}, {}, False),
    ({"metadata": {"missing": {"gt": 0}}}, {}, False),
    ({"metadata": {"missing": "*"}}, {}, False),
    ({"metadata": {"food": "*"}}, {}, True),
    ({"metadata": {"flag": 1}}, {}, False),
    ({"metadata": {"n": True}}, {}, False),
    ({"metadata": {"flag": True}}, {}, True),
    ({"metadata": {"flag": {"gt": 0}}}, {}, False),
    ({"metadata": {"n": 1.0}}, {}, True),
    ({"metadata": {"f": {"gt": 1}}}, {}, True),
    ({"metadata": {"n": {"gte": 1.5}}}, {}, False),
    ({"metadata": {"n": {"lt": 1.5}}}, {}, True),
    ({"metadata": {"n": {"in": ["1", 1.0]}}}, {}, True),
    ({"metadata": {"n": {"in": ["1"]}}}, {}, False),
    ({"metadata": {"food": {"gt": 1}}}, {}, False),
    ({"metadata": {"food": {"ne": 1}}}, {}, True),
    ({"metadata": {"food": {"contains": "eg"}}}, {}, True),
    ({"metadata": {"food": {"contains": "VEG"}}}, {}, False),
    ({"metadata": {"food": {"icontains": "VEG"}}}, {}, True),
    ({"metadata": {"n": {"contains": "1"}}}, {}, False),
    ({"categories": "health"}, {}, True),
    ({"categories": ["health", "food_preferences"]}, {}, True),
    ({"categories": ["health", "sport"]}, {}, False),
    ({"categories": {"in": ["sport", "health"]}}, {}, True),
    ({"categories": {"nin": ["sport", "health"]}}, {}, False),
    ({"categories": {"ne": "sport"}}, {}, True),
    ({"categories": "*"}, {"categories": []}, False),
    ({"categories": {"nin": ["sport"]}}, {"categories": []}, True),
    ({"text": {"contains": "Vegetarian"}}, {}, True),
    ({"text": {"contains": "vegetarian"}}, {}, False),
    ({"keywords": {"icontains": "VEGETARIAN"}}, {}, True),
    ({"text": {"icontains": "straße"}}, {"memory": "STRAẞE"}, True),
    ({"text": {"icontains": "ss"}}, {"memory": "Straße"}, False),
    ({"text": {"icontains": "k"}}, {"memory": "\u212a"}, True),
    ({"NOT": [{"user_id": "bob"}, {"text": {"contains": "Alex"}}]}, {}, False),
    ({"NOT": [{"user_id": "bob"}, {"text": {"contains": "Zed"}}]}, {}, True),
    ({"OR": [{"user_id": "bob"}, {"categories": "health"}]}, {}, True),
]


@pytest.mark.parametrize(("raw", "overrides", "expected"), EVALUATION_CASES)
def test_evaluate(raw: dict[str, Any], overrides: dict[str, Any], expected: bool) -> None:
    node = parse_filter(raw)
    assert node is not None
    assert evaluate(node, record(**overrides)) is expected


def test_fold_is_per_character() -> None:
    assert fold_text("STRAẞE Kelvin\u212a") == "straße kelvink"
    assert len(fold_text("İß")) == 2


# -------------------------------------------------------------------------- translation

AUG1 = ts("2024-08-01T00:00:00")
JUL1 = ts("2024-07-01T00:00:00")
TRANSLATIONS: list[tuple[dict[str, Any], Any, Any]] = [
    ({"user_id": "alex"}, {"user_id": {"$eq": "alex"}}, None),
    ({"run_id": "*"}, {"run_id": {"$ne": ""}}, None),
    ({"NOT": [{"run_id": "*"}]}, {"run_id": {"$eq": ""}}, None),
    ({"agent_id": {"in": []}}, MATCH_NONE, None),
    ({"agent_id": {"nin": []}}, None, None),
    ({"OR": [{"agent_id": {"in": []}}, {"user_id": "a"}]}, {"user_id": {"$eq": "a"}}, None),
    ({"AND": [{"user_id": "a"}]}, {"user_id": {"$eq": "a"}}, None),
    (
        {"AND": [{"user_id": "a"}, {"app_id": {"nin": ["x"]}}]},
        {"$and": [{"user_id": {"$eq": "a"}}, {"app_id": {"$nin": ["x"]}}]},
        None,
    ),
    (
        {"NOT": [{"user_id": "a"}, {"agent_id": {"in": ["x", "y"]}}]},
        {"$and": [{"user_id": {"$ne": "a"}}, {"agent_id": {"$nin": ["x", "y"]}}]},
        None,
    ),
    (
        {"NOT": [{"OR": [{"user_id": "a"}, {"NOT": [{"user_id": "b"}]}]}]},
        {"$and": [{"user_id": {"$ne": "a"}}, {"user_id": {"$eq": "b"}}]},
        None,
    ),
    (
        {"created_at": {"gte": "2024-07-01", "lte": "2024-07-31"}},
        {"$and": [{"created_at": {"$gte": JUL1}}, {"created_at": {"$lt": AUG1}}]},
        None,
    ),
    (
        {"NOT": [{"updated_at": {"gt": "2024-07-31"}}]},
        {"$or": [{"updated_at": {"$lt": AUG1}}, {"updated_at": {"$eq": ""}}]},
        None,
    ),
    ({"NOT": [{"updated_at": {"eq": "2024-07-01T00:00:00"}}]}, {"updated_at": {"$ne": JUL1}}, None),
    ({"categories": {"contains": "food"}}, {"cat:food": {"$eq": True}}, None),
    ({"NOT": [{"categories": "food"}]}, {"cat:food": {"$ne": True}}, None),
    (
        {"categories": {"in": ["a", "b"]}},
        {"$or": [{"cat:a": {"$eq": True}}, {"cat:b": {"$eq": True}}]},
        None,
    ),
    (
        {"categories": {"nin": ["a", "b"]}},
        {"$and": [{"cat:a": {"$ne": True}}, {"cat:b": {"$ne": True}}]},
        None,
    ),
    (
        {"categories": ["a", "b"]},
        {"$and": [{"cat:a": {"$eq": True}}, {"cat:b": {"$eq": True}}]},
        None,
    ),
    ({"categories": "*"}, {"n_categories": {"$gt": 0}}, None),
    ({"metadata": {"food": "vegan"}}, {"md:food": {"$eq": "vegan"}}, None),
    ({"metadata": {"n": 1}}, {"num:n": {"$eq": 1.0}}, None),
    ({"metadata": {"flag": True}}, {"md:flag": {"$eq": True}}, None),
    ({"metadata": {"n": {"gt": 1}}}, {"num:n": {"$gt": 1.0}}, None),
    ({"NOT": [{"metadata": {"n": 1}}]}, {"num:n": {"$ne": 1.0}}, None),
    (
        {"metadata": {"n": {"in": [1, "a", True, 2.5]}}},
        {
            "$or": [
                {"num:n": {"$in": [1.0, 2.5]}},
                {"md:n": {"$in": ["a"]}},
                {"md:n": {"$in": [True]}},
            ]
        },
        None,
    ),
    ({"metadata": {"n": {"nin": []}}}, None, None),
]


@pytest.mark.parametrize(("raw", "where", "where_document"), TRANSLATIONS)
def test_translation_pushes_down_exactly(
    raw: dict[str, Any], where: Any, where_document: Any
) -> None:
    assert to_chroma(parse_filter(raw)) == ChromaFilter(where, where_document, None)


DOCUMENT_TRANSLATIONS: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"text": {"contains": "Hi"}}, {"$contains": "Hi"}),
    ({"NOT": [{"keywords": {"contains": "Hi"}}]}, {"$not_contains": "Hi"}),
    ({"text": {"icontains": "Hi"}}, {"$regex": "[Hh][Ii]"}),
    ({"text": {"icontains": "k."}}, {"$regex": "[Kk\\x{212A}]\\x{2E}"}),
    ({"NOT": [{"text": {"icontains": "ö"}}]}, {"$not_regex": "[\\x{D6}\\x{F6}]"}),
    ({"text": {"icontains": "%_1"}}, {"$contains": "%_1"}),
    (
        {"OR": [{"text": {"contains": "a"}}, {"text": {"icontains": "b"}}]},
        {"$or": [{"$contains": "a"}, {"$regex": "[Bb]"}]},
    ),
]


@pytest.mark.parametrize(("raw", "where_document"), DOCUMENT_TRANSLATIONS)
def test_text_goes_to_where_document(raw: dict[str, Any], where_document: dict[str, Any]) -> None:
    assert to_chroma(parse_filter(raw)) == ChromaFilter(None, where_document, None)


def test_and_splits_into_where_and_where_document() -> None:
    raw = {"AND": [{"user_id": "a"}, {"text": {"contains": "x"}}]}
    assert to_chroma(parse_filter(raw)) == ChromaFilter(
        {"user_id": {"$eq": "a"}}, {"$contains": "x"}, None
    )


RESIDUALS: list[tuple[dict[str, Any], Any, Any]] = [
    # (filter, where, where_document): the residual is what Chroma cannot decide exactly
    ({"metadata": {"n": {"contains": "1"}}}, None, None),
    ({"metadata": {"n": "*"}}, None, None),
    ({"NOT": [{"metadata": {"n": {"gt": 1}}}]}, None, None),
    ({"OR": [{"metadata": {"n": 1}}, {"text": {"contains": "x"}}]}, None, None),
    (
        {
            "OR": [
                {"AND": [{"user_id": "a"}, {"text": {"contains": "x"}}]},
                {"AND": [{"user_id": "b"}, {"text": {"contains": "y"}}]},
            ]
        },
        {"$or": [{"user_id": {"$eq": "a"}}, {"user_id": {"$eq": "b"}}]},
        {"$or": [{"$contains": "x"}, {"$contains": "y"}]},
    ),
    (
        {"AND": [{"user_id": "a"}, {"metadata": {"k": {"icontains": "v"}}}]},
        {"user_id": {"$eq": "a"}},
        None,
    ),
]


@pytest.mark.parametrize(("raw", "where", "where_document"), RESIDUALS)
def test_what_chroma_cannot_decide_stays_residual(
    raw: dict[str, Any], where: Any, where_document: Any
) -> None:
    chroma = to_chroma(parse_filter(raw))
    assert (chroma.where, chroma.where_document) == (where, where_document)
    assert chroma.residual is not None


def test_residual_of_a_negated_leaf() -> None:
    chroma = to_chroma(parse_filter({"NOT": [{"metadata": {"n": {"gt": 1}}}]}))
    assert chroma.residual == Not((Cond("metadata", "gt", 1, "n"),))


def test_unknown_node_is_a_typed_error() -> None:
    with pytest.raises(InvalidFilterError):
        to_chroma(Cond("user_id", "gt", "a"))
    with pytest.raises(InvalidFilterError):
        to_chroma(Cond("nope", "eq", "a"))


# ------------------------------------------------------------------------ index layout


def test_chroma_metadata_layout() -> None:
    created = datetime(2024, 7, 31, 12, tzinfo=UTC)
    layout = chroma_metadata(
        record(created_at=created, updated_at=created + timedelta(hours=1), agent_id="")
    )
    assert layout == {
        "user_id": "alex",
        "agent_id": "",
        "app_id": "",
        "run_id": "",
        "created_at": created.timestamp(),
        "updated_at": created.timestamp() + 3600,
        "cat:food_preferences": True,
        "cat:health": True,
        "n_categories": 2,
        "md:food": "vegan",
        "md:n": 1,
        "num:n": 1.0,
        "md:f": 1.5,
        "num:f": 1.5,
        "md:flag": True,
    }
    assert chroma_metadata(record(created_at=None))["created_at"] == ""


@pytest.mark.parametrize("value", [[1], {"a": 1}, float("nan")])
def test_chroma_metadata_rejects_what_chroma_cannot_hold(value: Any) -> None:
    with pytest.raises(MetadataError):
        chroma_metadata(record(metadata={"k": value}))


# ----------------------------------------------------------------------------- helpers


def test_eq_builds_a_validated_condition() -> None:
    assert eq("user_id", "alex") == Cond("user_id", "eq", "alex")
    assert eq("run_id", "*") == Cond("run_id", "exists", True)
    with pytest.raises(InvalidFilterError):
        eq("user_id", "")
    with pytest.raises(InvalidFilterError):
        eq("created_at", "2024-07-01")  # a whole day is two conditions


def test_all_of_flattens_and_drops_none() -> None:
    a, b, c = (Cond("user_id", "eq", x) for x in "abc")
    assert all_of([]) is None
    assert all_of([None, None]) is None
    assert all_of([None, a]) == a
    assert all_of([a, None, And((b, c))]) == And((a, b, c))
    assert all_of([Or((a, b)), c]) == And((Or((a, b)), c))


def test_referenced_fields() -> None:
    node = parse_filter(
        {"OR": [{"user_id": "a"}, {"NOT": [{"metadata": {"k": 1}}, {"text": {"contains": "x"}}]}]}
    )
    assert referenced_fields(node) == {"user_id", "metadata", "text"}
    assert referenced_fields(None) == set()
