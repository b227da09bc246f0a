"""Fuzzing every public parameter of every public ``Memory`` method (issue 12).

Each call gets adversarial values: lone surrogates, NUL bytes, huge strings, ``"*"``,
nested and wide filters, huge integers, non-finite floats and out-of-range dates, 10,000
categories, odd metadata and plain wrong types. The contract checked on every example:

- the call returns a correct result or raises a ``memkit.errors.MemkitError`` subclass;
- a refused call leaves every content table of the SQL file unchanged, row for row;
- after an accepted call the store still reads (every page, every id, a search per user,
  index == records) and still opens again (close + a new ``Memory`` on the same path).

Filters too large for one process to survive safely (1,000-level nesting, 10,000 branches)
run in a child process each, so a crash there fails one test instead of the whole run.
The number of examples tried goes to ``tests/.reliability/figures.json``.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import (
    all_records,
    assert_healthy,
    content_snapshot,
    open_memory,
    record_figures,
)

from memkit import Memory
from memkit._inputs import check_categories
from memkit.errors import MemkitError, MemoryNotFoundError
from memkit.filters._language import FIELDS, OPERATORS, evaluate, parse_filter

# ------------------------------------------------------------------------------ values


class Big:
    """A large value built when the call is made: hypothesis keeps reprs of its examples."""

    def __init__(self, name: str, make: Callable[[], Any]) -> None:
        self.name, self.make = name, make

    def __repr__(self) -> str:
        return f"Big({self.name!r})"


UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
EVERY = ("every",)  # batch_update of every memory in the store


class Existing(int):
    """Stands for the n-th memory id of the store when the call is made."""

    def __repr__(self) -> str:
        return f"Existing({int(self)})"


HUGE = Big("100k x", lambda: "x" * 100_000)
HUGE_TEXT = Big("fact + 100k words", lambda: "fact " + "word " * 20_000)
NASTY_STRINGS = [
    "",
    " ",
    "\t\n ",
    "*",
    "**",
    "a*",
    "%",
    "_",
    "\ud800",
    "a\ud800b",
    "\udfff",
    "\x00",
    "a\x00b",
    "fact \x00 nul",
    "\u202e\ufeff",
    "ẞ",
    "🙂",
    "x" * 255,
    "x" * 256,
    "x" * 4097,
    HUGE,
    "'; DROP TABLE memories; --",
    "null",
    "alex",
    "Alex",
    "alex ",
    " alex",
    "fact alex",
]
WRONG_TYPES = [
    None,
    0,
    -1,
    1.5,
    math.nan,
    math.inf,
    True,
    False,
    b"bytes",
    bytearray(b"x"),
    [],
    {},
    ["alex"],
    {"a": 1},
    ("t",),
    {1, 2},
    object(),
    date(2024, 1, 1),
]
HUGE_INTS = [0, 1, 2, 999, 1000, 1001, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63)]
ODD_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 1e12, 1e308, 5e-324, -1.0, 1e11]
EXTREME_DATES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "1970-01-01T00:00:00+00:00",
    "2024-02-30",
    "2024-07-31",
    "2024-07-31T12:00:00+05:30",
    "not a date",
    "",
    datetime.min,
    datetime.max,
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    date.min,
    date.max,
]
MANY_CATEGORIES = Big("10k categories", lambda: [f"c{i}" for i in range(10_000)])

any_text = st.text(st.characters(exclude_categories=()), max_size=12)
strings = st.one_of(st.sampled_from(NASTY_STRINGS), any_text)
wrong = st.sampled_from(WRONG_TYPES)
ints = st.one_of(st.integers(-3, 5), st.sampled_from(HUGE_INTS), st.integers())
floats = st.one_of(st.sampled_from(ODD_FLOATS), st.floats())
offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
datetimes = st.datetimes(timezones=st.one_of(st.none(), offsets))
dates = st.one_of(st.sampled_from(EXTREME_DATES), datetimes, datetimes.map(datetime.isoformat))
anything = st.one_of(strings, wrong, ints, floats, dates)

# Each parameter has values a store must accept, odd as some are (GOOD), and values it may
# refuse (BAD). An example is all good, good but one bad parameter, or bad all over.
GOOD_IDS = ["alex", "Alex", "alex ", " alex", "*", "sam", "r1", "app", "🙂", "ẞ", "x" * 255]
good_ids = st.sampled_from(GOOD_IDS)
bad_ids = st.one_of(strings, wrong)

good_memory_ids = st.integers(0, 10**6).map(Existing)
batch_memory_ids = st.integers(0, 7).map(Existing)  # the store keeps at least 8 memories
bad_memory_ids = st.one_of(st.sampled_from([UNKNOWN_ID, "*", "%", "", " "]), strings, wrong)

GOOD_TEXTS = ["fact alex likes tea", "fact *", "fact 🙂 ẞ", "fact \x00 nul", "  fact padded  "]
good_texts = st.one_of(
    st.sampled_from([*GOOD_TEXTS, HUGE_TEXT]), st.text(max_size=12).map("fact {}".format)
)
bad_texts = st.one_of(strings, wrong)

valid_keys = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,10}", fullmatch=True)
scalars = st.one_of(
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)
good_metadata = st.one_of(
    st.none(),
    st.just({"topic": "food"}),
    st.dictionaries(valid_keys, scalars, max_size=4),
    st.just(Big("64 keys", lambda: {f"k{i}": i for i in range(64)})),
    st.just(Big("4096-char value", lambda: {"k": "v" * 4096})),
)
meta_keys = st.one_of(
    st.sampled_from(
        ["topic", "k", "a.b", "a-b", "_x", ".x", "-x", "k" * 65, "", "*", "é", "\ud800"]
    ),
    strings,
    st.integers(),
)
meta_values = st.one_of(
    strings, ints, floats, st.booleans(), st.none(), dates, st.lists(st.integers(), max_size=3)
)
bad_metadata = st.one_of(
    wrong,
    st.dictionaries(meta_keys, meta_values, max_size=4),
    st.just(Big("65 keys", lambda: {f"k{i}": i for i in range(65)})),
    st.just(Big("10k keys", lambda: {f"k{i}": i for i in range(10_000)})),
    st.just(Big("5 x 4000 chars", lambda: {f"k{i}": "v" * 4000 for i in range(5)})),
    st.just({"nested": {"a": {"b": 1}}}),
)
good_categories = st.one_of(
    st.none(),
    st.lists(st.sampled_from(["food_preferences", "travel", "🙂", "*", " x "]), max_size=3),
)
bad_categories = st.one_of(
    wrong,
    strings,
    st.lists(strings, max_size=5),
    st.just(MANY_CATEGORIES),
    st.just(["a:b"]),
)
good_timestamps = st.one_of(
    st.none(),
    st.floats(0, 4e9),
    st.datetimes(
        datetime(1971, 1, 1), datetime(2100, 1, 1), timezones=st.one_of(st.none(), offsets)
    ),
)
bad_timestamps = st.one_of(floats, ints, dates, wrong)

roles = st.sampled_from(["user", "assistant"])
good_message = st.fixed_dictionaries({"role": roles, "content": good_texts})
bad_message = st.fixed_dictionaries(
    {
        "role": st.sampled_from(["user", "assistant", "system", "tool", "bogus", "", None, 1]),
        "content": st.one_of(strings, wrong),
    },
    optional={"name": st.one_of(strings, wrong), "metadata": st.one_of(bad_metadata, wrong)},
)
good_messages = st.one_of(good_texts, good_message, st.lists(good_message, min_size=1, max_size=4))
bad_messages = st.one_of(
    strings,
    wrong,
    bad_message,
    st.lists(st.one_of(bad_message, strings, wrong), max_size=4),
    st.just(
        Big("300 messages", lambda: [{"role": "user", "content": f"fact {i}"} for i in range(300)])
    ),
)

# ---- filters: the v2 language, and everything just outside it
GOOD_LEAVES = [
    {"user_id": "alex"},
    {"user_id": "Alex"},
    {"user_id": "*"},
    {"user_id": {"eq": "*"}},
    {"user_id": {"in": ["*", "alex ", "🙂"]}},
    {"agent_id": "sam"},
    {"run_id": "*"},
    {"app_id": {"ne": "app"}},
    {"categories": {"contains": "food_preferences"}},
    {"categories": {"in": ["travel", "food_preferences"]}},
    {"created_at": {"gte": "2024-01-01"}},
    {"created_at": {"lte": "2100-01-01T00:00:00+14:00"}},
    {"updated_at": {"gt": "1971-01-01", "lt": "2100-12-31"}},
    {"metadata": {"topic": "food"}},
    {"metadata": {"n": {"gte": 1}}},
    {"keywords": {"icontains": "TEA"}},
    {"text": {"contains": "\x00"}},
    {"keywords": {"icontains": "ẞ"}},
]
FIELD_NAMES = [*sorted(FIELDS), "bogus", "", "*", "$and", "memory", "id"]
OP_NAMES = [*sorted(OPERATORS), "exists", "bogus", "$eq", "regex", ""]
filter_scalar = st.one_of(strings, ints, floats, st.booleans(), st.none(), dates)
filter_value = st.one_of(
    filter_scalar,
    st.lists(filter_scalar, max_size=4),
    st.dictionaries(
        st.sampled_from(OP_NAMES),
        st.one_of(filter_scalar, st.lists(filter_scalar, max_size=4)),
        max_size=3,
    ),
)
bad_leaves = st.one_of(
    st.dictionaries(st.sampled_from(FIELD_NAMES), filter_value, min_size=1, max_size=3),
    st.dictionaries(meta_keys, filter_value, max_size=2).map(lambda m: {"metadata": m}),
    st.sampled_from(
        [
            {"created_at": {"gte": "0001-01-01T00:00:00+14:00"}},
            {"created_at": {"lte": "9999-12-31T23:59:59-14:00"}},
            {"created_at": {"gt": 1e12}},
            {"updated_at": {"lt": math.nan}},
            {"categories": {"in": MANY_CATEGORIES}},
            {"user_id": {"in": Big("10k ids", lambda: [f"u{i}" for i in range(10_000)])}},
            {"keywords": {"icontains": "\ud800"}},
            {"user_id": "\ud800"},
            {"metadata": {"topic": {"ne": None}}},
        ]
    ),
)


def _combine(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    lists = st.lists(children, max_size=4)
    return st.one_of(
        lists.map(lambda xs: {"AND": xs}),
        lists.map(lambda xs: {"OR": xs}),
        lists.map(lambda xs: {"NOT": xs}),
        st.tuples(children, children).map(lambda ab: {**ab[0], **ab[1]}),
    )


def _malformed(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        _combine(children),
        children.map(lambda x: {"AND": x}),  # a dict where a list belongs
        children.map(lambda x: {"NOT": [x], "user_id": "alex"}),
    )


good_filters = st.one_of(
    st.none(), st.just({}), st.recursive(st.sampled_from(GOOD_LEAVES), _combine, max_leaves=8)
)
bad_filters = st.one_of(
    wrong,
    st.recursive(st.one_of(bad_leaves, st.sampled_from(GOOD_LEAVES)), _malformed, max_leaves=10),
)

good_version = st.sampled_from(["v2", "v1"])
bad_version = st.sampled_from(["v3", None, 2, "*"])


def ids_params() -> dict[str, tuple[Any, Any]]:
    return {name: (good_ids, bad_ids) for name in ("user_id", "agent_id", "app_id", "run_id")}


def kwargs_of(
    params: dict[str, tuple[Any, Any]], required: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments: all good, good but one bad parameter, or each one either."""

    def dicts(pick: Callable[[tuple[Any, Any]], Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries(
            {k: pick(v) for k, v in params.items() if k in required},
            optional={k: pick(v) for k, v in params.items() if k not in required},
        )

    good = dicts(lambda gb: gb[0])
    one_bad = st.tuples(
        good,
        st.sampled_from(sorted(params)).flatmap(lambda k: st.tuples(st.just(k), params[k][1])),
    ).map(lambda g_kb: {**g_kb[0], g_kb[1][0]: g_kb[1][1]})
    any_mix = dicts(lambda gb: st.one_of(gb[0], gb[1]))
    return st.one_of(good, good, one_bad, one_bad, any_mix)


batch_bad_items = st.one_of(
    wrong,
    strings,
    st.lists(st.one_of(st.fixed_dictionaries({"memory_id": bad_memory_ids}), wrong), max_size=4),
    st.sampled_from([1001, 10_000]).map(lambda n: ("repeat", n)),
)


def batch_items(*, with_text: bool) -> st.SearchStrategy[Any]:
    item_params = {
        "memory_id": (batch_memory_ids, bad_memory_ids),
        "bogus": (st.nothing(), anything),
    }
    if with_text:
        item_params |= {"text": (good_texts, bad_texts), "metadata": (good_metadata, bad_metadata)}
    required = ("memory_id", "text") if with_text else ("memory_id",)
    valid_item = st.fixed_dictionaries(
        {k: item_params[k][0] for k in required},
        optional={k: item_params[k][0] for k in item_params if k not in required},
    )
    good_item = st.one_of(valid_item, valid_item, valid_item, kwargs_of(item_params, required))
    every = st.just(EVERY) if with_text else st.just(("repeat", 1))
    distinct = st.lists(good_item, min_size=1, max_size=6, unique_by=lambda d: repr(d["memory_id"]))
    return st.one_of(distinct, every, batch_bad_items)


# ------------------------------------------------------------------------------ harness

SEED = [
    ({"user_id": "alex"}, ["fact alex likes tea", "fact alex plays chess"], {"topic": "food"}),
    ({"user_id": "Alex"}, ["fact Alex owns a cat"], None),
    ({"user_id": "alex "}, ["fact alex-with-space hikes"], None),
    ({"user_id": "*"}, ["fact the star user"], None),
    ({"agent_id": "sam"}, ["fact sam is a helpful bot"], {"n": 1}),
    ({"user_id": "alex", "run_id": "r1"}, ["fact alex booked a trip"], None),
    ({"app_id": "app", "user_id": "bo"}, ["fact bo paints"], {"flag": True}),
]
EXAMPLES = 60
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


class Harness:
    """One store for a method's examples; replaced by a fresh one after a failing example,
    so that hypothesis can shrink a failure instead of meeting a store an earlier example
    broke."""

    def __init__(self, root: Path, method: str) -> None:
        self.root = root
        self.name = self.method = method
        self.generation = 0
        self.counts = {"tried": 0, "accepted": 0, "refused": 0, "reopened": 0}
        self.started = time.perf_counter()
        self.memory: Memory | None = None
        self.fresh()

    @property
    def path(self) -> Path:
        return self.root / f"store-{self.generation}"

    def fresh(self) -> None:
        if self.memory is not None:
            # A broken store may fail to close; the next one is new.
            with contextlib.suppress(Exception):
                self.memory.close()
        self.generation += 1
        self.memory = open_memory(self.path)
        self.seed()

    def seed(self) -> None:
        assert self.memory is not None
        for scope, texts, meta in SEED:
            role = "assistant" if "agent_id" in scope else "user"
            self.memory.add(
                [{"role": role, "content": t} for t in texts],
                infer=False,
                metadata=meta,
                categories=["food_preferences"] if meta else None,
                **scope,
            )
        self.memory.append_messages("s1", [{"role": "user", "content": "hello"}])

    def ids(self) -> list[str]:
        assert self.memory is not None
        return sorted(self.memory.backend.records.stamps())

    def resolve(self, value: Any) -> Any:
        """Markers in an example become the values they stand for, now."""
        if isinstance(value, Big):
            return value.make()
        if isinstance(value, Existing):
            ids = self.ids()
            return ids[value % len(ids)] if ids else UNKNOWN_ID
        if value == EVERY:
            return [{"memory_id": i, "text": f"fact rewritten {i[:8]}"} for i in self.ids()]
        if isinstance(value, tuple) and len(value) == 2 and value[0] == "repeat":
            ids = self.ids() or [UNKNOWN_ID]
            return [{"memory_id": ids[i % len(ids)]} for i in range(value[1])]
        if type(value) is list:
            return [self.resolve(v) for v in value]
        if type(value) is dict:
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def call(
        self,
        args: tuple[Any, ...],
        kwargs: Mapping[str, Any],
        check: Callable[[Harness, Any, tuple[Any, ...], dict[str, Any]], None] | None = None,
    ) -> bool:
        """Whether the call was accepted."""
        try:
            return self._call(args, kwargs, check)
        except BaseException:
            self.fresh()
            raise

    def _call(self, args: tuple[Any, ...], kwargs: Mapping[str, Any], check: Any) -> bool:
        assert self.memory is not None
        if len(self.ids()) < 8:
            self.seed()
        args = tuple(self.resolve(a) for a in args)
        kwargs = {k: self.resolve(v) for k, v in kwargs.items()}
        self.counts["tried"] += 1
        before = content_snapshot(self.path)
        try:
            result = getattr(self.memory, self.method)(*args, **kwargs)
        except MemkitError:
            self.counts["refused"] += 1
            after = content_snapshot(self.path)
            for table in before:
                assert after[table] == before[table], f"a refused {self.method} changed {table}"
            assert_healthy(self.memory)
            return False
        self.counts["accepted"] += 1
        if check is not None:
            check(self, result, args, kwargs)
        records = assert_healthy(self.memory)
        self.memory.close()
        self.memory = open_memory(self.path)
        self.counts["reopened"] += 1
        assert {i: r.model_dump() for i, r in all_records(self.memory).items()} == {
            i: r.model_dump() for i, r in records.items()
        }
        assert_healthy(self.memory)
        return True

    def finish(self) -> None:
        if self.memory is not None:
            self.memory.close()
        seconds = round(time.perf_counter() - self.started, 1)
        record_figures(f"fuzz_api.{self.name}", {**self.counts, "seconds": seconds})
        print(f"fuzz {self.name}: {self.counts} in {seconds}s")


@pytest.fixture
def harness(request, tmp_path):
    made: list[Harness] = []

    def make(method: str) -> Harness:
        made.append(Harness(tmp_path, method))
        return made[-1]

    yield make
    for h in made:
        h.finish()


# ------------------------------------------------------------------------------ result checks


def _matches(record: Any, filters: Any, scope: Mapping[str, Any]) -> bool:
    node = parse_filter(filters)
    fields = record.model_dump()
    if node is not None and not evaluate(node, fields):
        return False
    return all(fields[k] == v for k, v in scope.items() if v is not None)


def _scope(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: kwargs.get(k) for k in ("user_id", "agent_id", "app_id", "run_id")}


def check_add(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    for event in result.results:
        assert event.event in ("ADD", "UPDATE", "DELETE", "NONE")
        if event.event in ("ADD", "UPDATE"):
            stored = h.memory.get(event.id)
            assert stored.memory == event.memory
        elif event.event == "DELETE":
            with pytest.raises(MemoryNotFoundError):
                h.memory.get(event.id)


def check_search(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    # ``limit`` is the platform's older name of ``top_k``; None leaves ``top_k`` in charge.
    limit = kwargs.get("limit")
    top_k = limit if limit is not None else kwargs.get("top_k", 10)
    hits = result.results
    assert len(hits) <= top_k
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores), scores
    if kwargs.get("threshold") is not None:
        assert all(s >= kwargs["threshold"] for s in scores)
    assert len({hit.id for hit in hits}) == len(hits)
    for hit in hits:
        assert _matches(hit, kwargs.get("filters"), _scope(kwargs)), hit


def check_get_all(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    page_size = kwargs.get("page_size", 100)
    assert len(result.results) <= page_size
    assert result.count >= len(result.results)
    wanted = kwargs.get("categories")
    for record in result.results:
        assert _matches(record, kwargs.get("filters"), _scope(kwargs)), record
        if wanted is not None:
            assert set(record.categories) & set(check_categories(wanted))
        if kwargs.get("keywords") is not None:
            assert _matches(record, {"keywords": {"icontains": kwargs["keywords"]}}, {})
    stamps = [r.updated_at for r in result.results]
    assert stamps == sorted(stamps, reverse=True)


def check_batch_update(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    assert result.count == len(kwargs["memories"])
    for item in kwargs["memories"]:
        record = h.memory.get(item["memory_id"])
        if item.get("text") is not None:
            assert record.memory == item["text"].strip()
        if item.get("metadata") is not None:
            assert record.metadata == item["metadata"]


def check_update(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    text = kwargs.get("text", kwargs.get("data"))
    if text is not None:
        assert result.memory == text.strip()
    assert h.memory.get(result.id).model_dump() == result.model_dump()
    assert h.memory.history(result.id)[-1].event == "UPDATE"


def check_gone(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    ids = [args[0]] if args else [item["memory_id"] for item in kwargs["memories"]]
    for memory_id in ids:
        with pytest.raises(MemoryNotFoundError):
            h.memory.get(memory_id)
        assert h.memory.history(memory_id)[-1].event == "DELETE"


def check_scope_empty(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    for name, value in kwargs.items():
        if value is not None:
            assert h.memory.get_all(**{name: value}).count == 0


def check_history(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert result and all(entry.memory_id == args[0] for entry in result)
    stamps = [entry.created_at for entry in result]
    assert stamps == sorted(stamps)
    assert result[0].event == "ADD"


def check_users(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert result.count == len(result.results)
    assert all(e.total_memories >= 1 and e.id == e.name for e in result.results)


def check_reset(h: Harness, result: Any, args: Any, kwargs: dict[str, Any]) -> None:
    assert h.memory is not None
    assert h.memory.get_all().count == 0


# ------------------------------------------------------------------------------ the tests
# ------------------------------------------------------------------------------ the tests


def test_add(harness):
    h = harness("add")
    params = {
        "messages": (good_messages, bad_messages),
        **ids_params(),
        "metadata": (good_metadata, bad_metadata),
        "infer": (st.just(False), st.sampled_from([True, None, 0, "yes"])),
        "categories": (good_categories, bad_categories),
        "timestamp": (good_timestamps, bad_timestamps),
        "version": (good_version, bad_version),
        "bogus": (st.nothing(), anything),
    }

    @FUZZ
    @given(kwargs=kwargs_of(params, required=("messages", "user_id")))
    def run(kwargs):
        h.call((), kwargs, check_add)

    run()


def test_add_timestamps(harness):
    """A valid add whose only odd value is its timestamp: every instant is read back or refused."""
    h = harness("add.timestamp")
    h.method = "add"

    @FUZZ
    @given(timestamp=st.one_of(st.sampled_from([*EXTREME_DATES, *ODD_FLOATS]), bad_timestamps))
    def run(timestamp):
        h.call(("fact with a time",), {"user_id": "alex", "infer": False, "timestamp": timestamp})

    run()


def test_search(harness):
    h = harness("search")
    params = {
        "query": (st.one_of(st.sampled_from(["fact", "tea", "alex", "*"]), good_texts), bad_texts),
        **ids_params(),
        "filters": (good_filters, bad_filters),
        "top_k": (st.integers(1, 1000), st.one_of(ints, wrong)),
        "threshold": (st.one_of(st.none(), st.floats(0, 1)), st.one_of(floats, ints, wrong)),
        "limit": (st.integers(1, 1000), st.one_of(ints, wrong)),
        "version": (good_version, bad_version),
        "rerank": (st.booleans(), anything),
        "bogus": (st.nothing(), anything),
    }

    @FUZZ
    @given(kwargs=kwargs_of(params, required=("query",)))
    def run(kwargs):
        h.call((), kwargs, check_search)

    run()


def test_get_all(harness):
    h = harness("get_all")
    params = {
        **ids_params(),
        "filters": (good_filters, bad_filters),
        "categories": (good_categories, bad_categories),
        "keywords": (
            st.sampled_from(["fact", "TEA", "🙂", "*", "%", "_"]),
            st.one_of(strings, wrong),
        ),
        "page": (st.one_of(st.integers(1, 5), st.sampled_from([10**6, 2**31])), ints),
        "page_size": (st.integers(1, 1000), st.one_of(ints, wrong)),
        "version": (good_version, bad_version),
        "bogus": (st.nothing(), anything),
    }

    @FUZZ
    @given(kwargs=kwargs_of(params))
    def run(kwargs):
        h.call((), kwargs, check_get_all)

    run()


@pytest.mark.parametrize("method", ["get", "history", "delete"])
def test_by_id(harness, method):
    h = harness(method)
    checks = {"get": None, "history": check_history, "delete": check_gone}

    @FUZZ
    @given(memory_id=st.one_of(good_memory_ids, bad_memory_ids))
    def run(memory_id):
        h.call((memory_id,), {}, checks[method])

    run()


def test_update(harness):
    h = harness("update")
    params = {
        "memory_id": (good_memory_ids, bad_memory_ids),
        "text": (good_texts, bad_texts),
        "metadata": (good_metadata, bad_metadata),
        "data": (good_texts, bad_texts),
    }

    @FUZZ
    @given(kwargs=kwargs_of(params, required=("memory_id",)))
    def run(kwargs):
        h.call((), kwargs, check_update)

    run()


@pytest.mark.parametrize("method", ["batch_update", "batch_delete"])
def test_batches(harness, method):
    h = harness(method)
    check = check_batch_update if method == "batch_update" else check_gone

    @FUZZ
    @given(items=batch_items(with_text=method == "batch_update"))
    def run(items):
        h.call((), {"memories": items}, check)

    run()


@pytest.mark.parametrize("method", ["delete_all", "delete_users"])
def test_scoped_deletes(harness, method):
    h = harness(method)

    @FUZZ
    @given(kwargs=kwargs_of(ids_params()))
    def run(kwargs):
        h.call((), kwargs, check_scope_empty if method == "delete_users" else None)

    run()


def test_users_and_reset(harness):
    users, reset = harness("users"), harness("reset")
    users.call((), {}, check_users)
    reset.call((), {}, check_reset)
    reset.call((), {}, check_reset)  # twice: resetting an empty store
    users.call((), {}, check_users)


def test_transcripts(harness):
    h = harness("transcripts")
    sessions = st.sampled_from(["s1", "S1", "s1 ", "*", "🙂"])

    @FUZZ
    @given(
        method=st.sampled_from(["append_messages", "get_messages", "clear_messages"]),
        kwargs=kwargs_of(
            {
                "session_id": (sessions, st.one_of(strings, wrong)),
                "messages": (good_messages, bad_messages),
                "last": (st.one_of(st.none(), st.integers(0, 10)), st.one_of(ints, wrong)),
            },
            required=("session_id",),
        ),
    )
    def run(method, kwargs):
        h.method = method
        wanted = {"append_messages": ("messages",), "get_messages": ("last",)}.get(method, ())
        call_kwargs = {k: v for k, v in kwargs.items() if k == "session_id" or k in wanted}
        if method == "append_messages":
            call_kwargs.setdefault("messages", "hello")
        if h.call((), call_kwargs) and method == "append_messages":
            assert h.memory is not None
            assert h.memory.get_messages(call_kwargs["session_id"])

    run()


# ---- filters too big to risk in the test process itself

FILTER_CHILD = textwrap.dedent(
    """
    import sys
    from memkit import Memory
    from memkit.errors import MemkitError
    from memkit.testing import HashEmbedder

    def nest(op, depth):
        node = {"user_id": "alex"}
        for _ in range(depth):
            node = {op: [node]}
        return node

    def wide(op, n):
        return {op: [{"user_id": f"u{i}"} for i in range(n)] + [{"user_id": "alex"}]}

    cases = {
        "and-1000-deep": lambda: nest("AND", 1000),
        "or-1000-deep": lambda: nest("OR", 1000),
        "not-1000-deep": lambda: nest("NOT", 1000),
        "and-100000-deep": lambda: nest("AND", 100_000),
        "or-10000-wide": lambda: wide("OR", 10_000),
        "and-10000-wide": lambda: wide("AND", 10_000),
        "not-10000-wide": lambda: wide("NOT", 10_000),
        "in-100000-values": lambda: {"user_id": {"in": [f"u{i}" for i in range(100_000)]}},
        "metadata-10000-keys": lambda: {"metadata": {f"k{i}": i for i in range(10_000)}},
        "categories-10000-all": lambda: {"categories": [f"c{i}" for i in range(10_000)]},
        "categories-10000-in": lambda: {"categories": {"in": [f"c{i}" for i in range(10_000)]}},
        "categories-param-10000": lambda: None,
    }
    memory = Memory(path=sys.argv[1], embedder=HashEmbedder())
    memory.add(["fact alex likes tea", "fact alex plays chess"], user_id="alex", infer=False)
    memory.add("fact sam likes coffee", user_id="sam", infer=False)
    case = sys.argv[2]
    filters = cases[case]()
    many = [f"c{i}" for i in range(10_000)]
    calls = {
        "get_all": lambda: memory.get_all(filters=filters, categories=None if filters else many),
        "search": lambda: memory.search("tea", filters=filters),
        "search_alex": lambda: memory.search("tea", user_id="alex", filters=filters),
        "get_all_alex": lambda: memory.get_all(user_id="alex", filters=filters),
    }
    for name, call in calls.items():
        print(name, "...", flush=True)
        try:
            call()
            print(name, "accepted", flush=True)
        except MemkitError as exc:
            print(name, "refused", type(exc).__name__, flush=True)
        except BaseException as exc:
            print(name, "UNTYPED", type(exc).__name__, str(exc)[:200], flush=True)
    assert memory.get_all().count == 3
    assert memory.search("tea", user_id="alex").results
    memory.close()
    print("HEALTHY", flush=True)
    """
)
BIG_FILTERS = [
    "and-1000-deep",
    "or-1000-deep",
    "not-1000-deep",
    "and-100000-deep",
    "or-10000-wide",
    "and-10000-wide",
    "not-10000-wide",
    "in-100000-values",
    "metadata-10000-keys",
    "categories-10000-all",
    "categories-10000-in",
    "categories-param-10000",
]


@pytest.mark.parametrize("case", BIG_FILTERS)
def test_big_filters_in_a_child_process(tmp_path, case):
    """Each is answered or refused with a typed error; none crashes the process or hangs."""
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", FILTER_CHILD, str(tmp_path / "store"), case],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = round(time.perf_counter() - started, 1)
    record_figures(f"fuzz_api.big_filter.{case}", {"tried": 4, "seconds": seconds})
    report = f"rc={child.returncode}\n{child.stdout}\n{child.stderr[-2000:]}"
    assert child.returncode == 0, report
    assert "UNTYPED" not in child.stdout, report
    assert child.stdout.rstrip().endswith("HEALTHY"), report
    assert seconds < 60, report
    shutil.rmtree(tmp_path / "store", ignore_errors=True)
