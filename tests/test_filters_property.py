"""Chroma (where + where_document, then the residual in Python) agrees with ``evaluate``.

Random v2 filters over random small record sets, run against a real in-memory Chroma: this is
what pins the translation to Chroma's measured semantics (missing keys, types, regex).
"""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

os.environ["ANONYMIZED_TELEMETRY"] = "False"
# Hypothesis caches under ./.hypothesis even without an example database; keep it in tmp.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "memkit-hypothesis")
)

import chromadb
import chromadb.config
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memkit.filters._chroma import chroma_metadata, to_chroma
from memkit.filters._language import evaluate, parse_filter

ID_FIELDS = ["user_id", "agent_id", "app_id", "run_id"]
ID_VALUES = ["alex", "bob", "zed"]
CATEGORIES = ["food", "travel"]
MD_KEYS = ["a", "b"]
MD_VALUES: list[Any] = ["x", "Xy", "1", 0, 1, -1, 1.0, 1.5, -1.5, True, False]
NUMBERS: list[Any] = [0, 1, -1, 1.0, 1.5, -1.5, 0.5, -0.5]
TEXTS = [
    "Hello world",
    "hello WORLD",
    "Straße",
    "STRASSE strasse",
    "Café au lait",
    "x_y%z",
    "İstanbul",
    "Kelvin \u212a",
    "ſtop",
    "kelvin",
]
NEEDLES = ["hello", "HELLO", "World", "ss", "ß", "ẞ", "_", "%", "i", "İ", "k", "K", "é", "É"]
NEEDLES += ["o w", "lait", "ſ", "S", "x_y", "STOP"]

_DAY0 = datetime(2024, 7, 30, tzinfo=UTC)
MOMENTS = [
    _DAY0,
    _DAY0 + timedelta(hours=12),
    _DAY0 + timedelta(days=1),
    _DAY0 + timedelta(days=1, hours=12),
    _DAY0 + timedelta(days=2) - timedelta(microseconds=1),
    _DAY0 + timedelta(days=2),
    _DAY0 + timedelta(days=2, hours=3),
]
DATE_OPS = ["eq", "ne", "gt", "gte", "lt", "lte"]
DATE_VALUES: list[Any] = [
    "2024-07-30",
    "2024-07-31",
    "2024-08-01",
    "2024-07-31T12:00:00",
    "2024-07-31T23:59:59.999999+00:00",
    "2024-08-01T02:00:00+02:00",
    datetime(2024, 7, 31, 12, tzinfo=timezone(timedelta(hours=-3))),
]


def _pick(*options: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Choose a branch uniformly (``st.one_of`` favours the first ones here)."""
    return st.integers(0, len(options) - 1).flatmap(options.__getitem__)


ids = st.sampled_from(ID_VALUES)
id_leaf = _pick(
    st.builds(lambda f, v: {f: v}, st.sampled_from(ID_FIELDS), st.sampled_from([*ID_VALUES, "*"])),
    st.builds(
        lambda f, op, v: {f: {op: v}},
        st.sampled_from(ID_FIELDS),
        st.sampled_from(["eq", "ne"]),
        ids,
    ),
    st.builds(
        lambda f, op, vs: {f: {op: vs}},
        st.sampled_from(ID_FIELDS),
        st.sampled_from(["in", "nin"]),
        st.lists(ids, max_size=3),
    ),
)
date_leaf = _pick(
    st.builds(
        lambda f, v: {f: v},
        st.sampled_from(["created_at", "updated_at"]),
        st.sampled_from([*DATE_VALUES, "*"]),
    ),
    st.builds(
        lambda f, ops: {f: ops},
        st.sampled_from(["created_at", "updated_at"]),
        st.dictionaries(
            st.sampled_from(DATE_OPS),
            st.sampled_from(DATE_VALUES),
            min_size=1,
            max_size=2,
        ),
    ),
)
category = st.sampled_from(CATEGORIES)
category_leaf = _pick(
    st.builds(lambda v: {"categories": v}, st.sampled_from([*CATEGORIES, "*"])),
    st.builds(lambda v: {"categories": v}, st.lists(category, min_size=1, max_size=2)),
    st.builds(lambda op, v: {"categories": {op: v}}, st.sampled_from(["contains", "ne"]), category),
    st.builds(
        lambda op, v: {"categories": {op: v}},
        st.sampled_from(["in", "nin"]),
        st.lists(category, max_size=3),
    ),
)
md_value = st.sampled_from(MD_VALUES)
md_condition = _pick(
    md_value,
    st.just("*"),
    st.builds(lambda op, v: {op: v}, st.sampled_from(["eq", "ne"]), md_value),
    st.builds(
        lambda op, v: {op: v}, st.sampled_from(["in", "nin"]), st.lists(md_value, max_size=3)
    ),
    st.dictionaries(
        st.sampled_from(["gt", "gte", "lt", "lte"]),
        st.sampled_from(NUMBERS),
        min_size=1,
        max_size=2,
    ),
    st.builds(
        lambda op, v: {op: v},
        st.sampled_from(["contains", "icontains"]),
        st.sampled_from(["x", "X", "y", "1"]),
    ),
)
metadata_leaf = st.dictionaries(st.sampled_from(MD_KEYS), md_condition, min_size=1, max_size=2).map(
    lambda d: {"metadata": d}
)
text_leaf = st.builds(
    lambda f, op, v: {f: {op: v}},
    st.sampled_from(["text", "keywords"]),
    st.sampled_from(["contains", "icontains"]),
    st.sampled_from(NEEDLES),
)
leaf = _pick(id_leaf, date_leaf, category_leaf, metadata_leaf, text_leaf)


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for part in parts:
        merged.update(part)
    return merged


filters = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.builds(
            lambda op, items: {op: items},
            st.sampled_from(["AND", "OR", "OR", "NOT"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.lists(inner, min_size=2, max_size=3).map(_merge),
    ),
    max_leaves=5,
)


def _date(moment: datetime, as_float: bool) -> datetime | float:
    return moment.timestamp() if as_float else moment


records_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "memory": st.sampled_from(TEXTS),
            **{f: st.sampled_from([None, "alex", "bob"]) for f in ID_FIELDS},
            "metadata": st.dictionaries(st.sampled_from(MD_KEYS), md_value, max_size=2),
            "categories": st.lists(category, max_size=2, unique=True),
            "created_at": st.builds(_date, st.sampled_from(MOMENTS), st.booleans()),
            "updated_at": st.one_of(
                st.none(), st.builds(_date, st.sampled_from(MOMENTS), st.booleans())
            ),
        }
    ),
    min_size=5,
    max_size=25,
)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    yield chromadb.EphemeralClient(settings=chromadb.config.Settings(anonymized_telemetry=False))


_names = itertools.count()


def _check(client: Any, records: list[dict[str, Any]], raws: list[Any]) -> None:
    """Index ``records`` once, then compare Chroma + residual with ``evaluate`` per filter."""
    for i, record in enumerate(records):
        record["id"] = f"m{i}"
    by_id = {r["id"]: r for r in records}
    name = f"prop-{next(_names)}"
    collection = client.create_collection(name, embedding_function=None)
    try:
        collection.add(
            ids=list(by_id),
            documents=[r["memory"] for r in records],
            metadatas=[chroma_metadata(r) for r in records],
            embeddings=[[1.0, float(i % 3)] for i in range(len(records))],
        )
        for raw in raws:
            node = parse_filter(raw)
            expected = {i for i, r in by_id.items() if node is None or evaluate(node, r)}
            chroma = to_chroma(node)
            found = collection.get(where=chroma.where, where_document=chroma.where_document)
            pushed = set(found["ids"])
            assert pushed >= expected, (raw, chroma, sorted(expected - pushed))
            got = {
                i for i in pushed if chroma.residual is None or evaluate(chroma.residual, by_id[i])
            }
            assert got == expected, (raw, chroma, sorted(got ^ expected))
    finally:
        client.delete_collection(name)


_SETTINGS = settings(
    max_examples=200,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _all_leaves() -> list[dict[str, Any]]:
    """Every operator with every vocabulary value, on every field."""
    leaves: list[dict[str, Any]] = []
    id_lists = [[], ["alex"], ["alex", "zed"], ID_VALUES]
    for field in ID_FIELDS:
        leaves += [{field: "*"}] + [{field: {op: v}} for op in ("eq", "ne") for v in ID_VALUES]
        leaves += [{field: {op: vs}} for op in ("in", "nin") for vs in id_lists]
    for field in ("created_at", "updated_at"):
        leaves += [{field: "*"}]
        leaves += [{field: {op: v}} for op in DATE_OPS for v in DATE_VALUES]
    for name in CATEGORIES:
        leaves += [{"categories": name}, {"categories": {"ne": name}}]
    leaves += [{"categories": "*"}, {"categories": CATEGORIES}]
    leaves += [{"categories": {op: vs}} for op in ("in", "nin") for vs in ([], CATEGORIES)]
    md: list[Any] = ["*", *MD_VALUES]
    md += [{op: v} for op in ("eq", "ne") for v in MD_VALUES]
    md += [{op: vs} for op in ("in", "nin") for vs in ([], [1.5, "x"], [True, 1, "1"], [1.0])]
    md += [{op: v} for op in ("gt", "gte", "lt", "lte") for v in NUMBERS]
    md += [{op: v} for op in ("contains", "icontains") for v in ("x", "X", "1")]
    leaves += [{"metadata": {"a": cond}} for cond in md]
    for field in ("text", "keywords"):
        leaves += [{field: {op: v}} for op in ("contains", "icontains") for v in NEEDLES]
    return leaves


def _cycled_records() -> list[dict[str, Any]]:
    """Enough records that every vocabulary value, null and missing key occurs."""
    ids: list[str | None] = [None, "alex", "bob"]
    md: list[Any] = [*MD_VALUES, None]
    updated: list[Any] = [*MOMENTS, None]
    return [
        {
            "memory": TEXTS[i % len(TEXTS)],
            **{f: ids[(i + j) % len(ids)] for j, f in enumerate(ID_FIELDS)},
            "metadata": {} if md[i % len(md)] is None else {"a": md[i % len(md)]},
            "categories": [[], ["food"], ["travel"], CATEGORIES][i % 4],
            "created_at": _date(MOMENTS[i % len(MOMENTS)], i % 2 == 0),
            "updated_at": updated[i % len(updated)],
        }
        for i in range(24)
    ]


def test_each_operator_and_its_negation(client: Any) -> None:
    leaves = _all_leaves()
    assert len(leaves) > 300
    _check(client, _cycled_records(), [f for leaf in leaves for f in (leaf, {"NOT": [leaf]})])


@_SETTINGS
@given(records=records_strategy, raw=filters)
def test_nested_filters(client: Any, records: list[dict[str, Any]], raw: Any) -> None:
    _check(client, records, [raw, {"NOT": [raw]}])
