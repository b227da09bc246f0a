"""Total validation at the boundary (memkit.bounds).

Two halves: what lies beyond a bound is refused with a typed error and leaves the store as it
was; what lies at the bound is stored, indexed, read back through Chroma and the record store,
and survives a reopen. The second half is what proves each bound sits below the first size
at which something downstream broke.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import pytest

from memkit import Memory
from memkit.bounds import (
    MAX_CATEGORIES,
    MAX_CATEGORY_LENGTH,
    MAX_FILTER_CONDITIONS,
    MAX_FILTER_DEPTH,
    MAX_FILTER_VALUES,
    MAX_ID_LENGTH,
    MAX_MESSAGES,
    MAX_PAGE,
    MAX_TEXT_LENGTH,
)
from memkit.errors import InvalidFilterError, InvalidInputError, MemkitUsageError, MetadataError
from memkit.search import _exact as exact
from memkit.testing import HashEmbedder

SURROGATE = "\ud800"


@pytest.fixture
def mem(tmp_path: Any) -> Any:
    memory = Memory(tmp_path / "store", embedder=HashEmbedder())
    memory.add("I like green tea", user_id="alex", infer=False)
    yield memory
    memory.close()


def snapshot(memory: Memory) -> str:
    """Every memory and its history, as JSON: what 'unchanged' means."""
    records = memory.backend.records
    rows = sorted(records.get_many(list(records.stamps())).values(), key=lambda m: m.id)
    return json.dumps(
        [
            [
                m.to_model().model_dump(mode="json"),
                [h.model_dump(mode="json") for h in memory.history(m.id)],
            ]
            for m in rows
        ]
    )


def nested(depth: int) -> dict[str, Any]:
    return functools.reduce(lambda inner, _: {"AND": [inner]}, range(depth), {"user_id": "alex"})


REFUSED: list[tuple[str, Any, type[Exception]]] = [
    # the cases
    (
        "timestamp 1e12",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp=1e12),
        InvalidInputError,
    ),
    (
        "timestamp before year 1 in UTC",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp="0001-01-01T00:00:00+14:00"),
        InvalidInputError,
    ),
    (
        "timestamp after 9999 in UTC",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp="9999-12-31T23:59:59-14:00"),
        InvalidInputError,
    ),
    (
        "timestamp inf",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp=float("inf")),
        InvalidInputError,
    ),
    (
        "timestamp huge int",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp=10**400),
        InvalidInputError,
    ),
    (
        "timestamp negative",
        lambda m: m.add("x y", user_id="u", infer=False, timestamp=-1),
        InvalidInputError,
    ),
    (
        "category surrogate",
        lambda m: m.add("x y", user_id="u", infer=False, categories=[SURROGATE]),
        InvalidInputError,
    ),
    (
        "too many categories",
        lambda m: m.add(
            "x y", user_id="u", infer=False, categories=[f"c{i}" for i in range(10_000)]
        ),
        InvalidInputError,
    ),
    (
        "category too long",
        lambda m: m.add(
            "x y", user_id="u", infer=False, categories=["c" * (MAX_CATEGORY_LENGTH + 1)]
        ),
        InvalidInputError,
    ),
    ("1,000-level filter", lambda m: m.get_all(filters=nested(1000)), InvalidFilterError),
    (
        "10,000-branch OR filter",
        lambda m: m.get_all(filters={"OR": [{"user_id": f"u{i}"} for i in range(10_000)]}),
        InvalidFilterError,
    ),
    (
        "filter too deep",
        lambda m: m.get_all(filters=nested(MAX_FILTER_DEPTH + 1)),
        InvalidFilterError,
    ),
    (
        "filter too wide",
        lambda m: m.search(
            "tea", filters={"OR": [{"user_id": f"u{i}"} for i in range(MAX_FILTER_CONDITIONS + 1)]}
        ),
        InvalidFilterError,
    ),
    (
        "filter lists too many values",
        lambda m: m.get_all(
            filters={
                "OR": [{"user_id": {"in": [f"u{i}-{j}" for j in range(1000)]}} for i in range(11)]
            }
        ),
        InvalidFilterError,
    ),
    (
        "10,000 categories in a filter (one index field each)",
        lambda m: m.get_all(filters={"categories": {"in": [f"c{i}" for i in range(10_000)]}}),
        InvalidFilterError,
    ),
    (
        "257 categories in a search filter",
        lambda m: m.search("tea", filters={"categories": [f"c{i}" for i in range(257)]}),
        InvalidFilterError,
    ),
    (
        "update with an unhashable id",
        lambda m: m.update(bytearray(b"x"), "fact"),
        InvalidInputError,
    ),
    # strings no store can hold
    (
        "message surrogate",
        lambda m: m.add(f"I like {SURROGATE}", user_id="u", infer=False),
        InvalidInputError,
    ),
    (
        "message NUL",
        lambda m: m.add("I like \x00 tea", user_id="u", infer=False),
        InvalidInputError,
    ),
    (
        "message name surrogate",
        lambda m: m.add([{"role": "user", "content": "hi there", "name": SURROGATE}], user_id="u"),
        InvalidInputError,
    ),
    (
        "message too long",
        lambda m: m.add("x" * (MAX_TEXT_LENGTH + 1), user_id="u", infer=False),
        InvalidInputError,
    ),
    (
        "too many messages",
        lambda m: m.add([{"role": "user", "content": "hi"}] * (MAX_MESSAGES + 1), user_id="u"),
        InvalidInputError,
    ),
    (
        "user_id surrogate",
        lambda m: m.add("hi there", user_id=SURROGATE, infer=False),
        InvalidInputError,
    ),
    ("user_id NUL", lambda m: m.add("hi there", user_id="a\x00b", infer=False), InvalidInputError),
    ("user_id too long", lambda m: m.get_all(user_id="u" * (MAX_ID_LENGTH + 1)), InvalidInputError),
    (
        "agent_id surrogate in search",
        lambda m: m.search("tea", agent_id=SURROGATE),
        InvalidInputError,
    ),
    ("memory id surrogate", lambda m: m.get(SURROGATE), InvalidInputError),
    ("memory id NUL in delete", lambda m: m.delete("a\x00"), InvalidInputError),
    ("memory id surrogate in history", lambda m: m.history(SURROGATE), InvalidInputError),
    (
        "memory id surrogate in batch",
        lambda m: m.batch_delete([{"memory_id": SURROGATE}]),
        InvalidInputError,
    ),
    ("filter surrogate", lambda m: m.get_all(filters={"user_id": SURROGATE}), InvalidFilterError),
    (
        "filter metadata key surrogate",
        lambda m: m.get_all(filters={"metadata": {SURROGATE: "x"}}),
        InvalidFilterError,
    ),
    (
        "filter metadata NUL",
        lambda m: m.get_all(filters={"metadata": {"k": "a\x00"}}),
        InvalidFilterError,
    ),
    (
        "metadata surrogate",
        lambda m: m.add("x y", user_id="u", infer=False, metadata={"k": SURROGATE}),
        MetadataError,
    ),
    (
        "metadata NUL",
        lambda m: m.add("x y", user_id="u", infer=False, metadata={"k": "a\x00"}),
        MetadataError,
    ),
    ("query surrogate", lambda m: m.search(SURROGATE, user_id="alex"), InvalidInputError),
    (
        "query too long",
        lambda m: m.search("q" * (MAX_TEXT_LENGTH + 1), user_id="alex"),
        InvalidInputError,
    ),
    (
        "threshold NaN",
        lambda m: m.search("tea", user_id="alex", threshold=float("nan")),
        InvalidInputError,
    ),
    ("page huge", lambda m: m.get_all(user_id="alex", page=10**30), InvalidInputError),
    (
        "page past the bound",
        lambda m: m.get_all(user_id="alex", page=MAX_PAGE + 1),
        InvalidInputError,
    ),
    (
        "keywords surrogate",
        lambda m: m.get_all(user_id="alex", keywords=SURROGATE),
        InvalidFilterError,
    ),
    ("session surrogate", lambda m: m.append_messages(SURROGATE, "hello"), InvalidInputError),
    (
        "transcript metadata surrogate",
        lambda m: m.append_messages(
            "s", [{"role": "user", "content": "hi", "metadata": {"k": SURROGATE}}]
        ),
        InvalidInputError,
    ),
]


@pytest.mark.parametrize(("case", "call", "error"), REFUSED, ids=[c[0] for c in REFUSED])
def test_beyond_a_bound_is_refused_and_changes_nothing(
    mem: Memory, case: str, call: Any, error: type
) -> None:
    memory_id = mem.get_all(user_id="alex").results[0].id
    mem.update(memory_id, "I like green tea a lot")  # some history too
    before = snapshot(mem)
    with pytest.raises(error) as info:
        call(mem)
    assert isinstance(info.value, MemkitUsageError)
    assert snapshot(mem) == before
    assert [r.memory for r in mem.get_all(user_id="alex").results] == ["I like green tea a lot"]
    assert mem.search("tea", user_id="alex").results


def reopened(memory: Memory) -> Memory:
    path = memory.config.path
    memory.close()
    return Memory(path, embedder=HashEmbedder())


@pytest.mark.parametrize("through", ["record store", "chroma"])
def test_what_sits_at_every_bound_is_stored_indexed_read_and_reopened(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, through: str
) -> None:
    if through == "chroma":  # scopes answered by Chroma, not the record store's exact path
        monkeypatch.setattr(exact, "EXACT_LIMIT", 0)
    memory = Memory(tmp_path / "store", embedder=HashEmbedder())
    user = "ü" * MAX_ID_LENGTH
    categories = [f"{i:02d}" + "é" * (MAX_CATEGORY_LENGTH - 2) for i in range(MAX_CATEGORIES)]
    long_text = ("tea " * (MAX_TEXT_LENGTH // 4))[:MAX_TEXT_LENGTH]
    added = memory.add(long_text, user_id=user, infer=False, categories=categories, timestamp=0)
    late = memory.add("late tea", user_id=user, infer=False, timestamp="9998-12-31T09:59:59-14:00")
    messages = [{"role": "user", "content": f"fact {i} tea"} for i in range(MAX_MESSAGES)]
    many = memory.add(messages, user_id=user, infer=False)
    assert len(many.results) == MAX_MESSAGES
    wide = {"OR": [{"metadata": {f"k{i}": {"eq": "x"}}} for i in range(MAX_FILTER_CONDITIONS - 1)]}
    wide["OR"].append({"categories": {"contains": categories[0]}})
    deep = functools.reduce(
        lambda inner, i: {("AND", "OR", "NOT")[i % 2]: [inner]},
        range(MAX_FILTER_DEPTH),
        {"categories": {"contains": categories[-1]}},
    )
    listed = {
        "OR": [
            {"user_id": {"in": [user, *[f"u{i}-{j}" for j in range(999)]]}}
            for i in range(MAX_FILTER_VALUES // 1000)
        ]
    }

    def check(store: Memory) -> None:
        ids = {added.results[0].id, late.results[0].id}
        got = store.get(added.results[0].id)
        assert got.memory == long_text.strip() and sorted(got.categories) == sorted(categories)
        assert got.created_at.year == 1970
        assert store.get(late.results[0].id).created_at.year == 9998
        assert store.get_all(user_id=user, page_size=1000).count == MAX_MESSAGES + 2
        assert store.get_all(user_id=user, page=MAX_PAGE).results == []
        assert [r.id for r in store.get_all(filters=wide).results] == [added.results[0].id]
        assert [r.id for r in store.search("tea", filters=wide).results] == [added.results[0].id]
        assert store.get_all(filters=deep).count == 1
        assert store.get_all(filters=listed).count == MAX_MESSAGES + 2
        hits = store.search("late tea", user_id=user, top_k=1000)
        assert ids <= {h.id for h in hits.results}

    check(memory)
    memory = reopened(memory)
    check(memory)
    memory.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_model_reply_is_cut_to_what_the_store_can_hold(tmp_path: Any, mode: str) -> None:
    """JSON escapes give a model's reply NULs and lone surrogates that no caller could send."""
    from memkit import AsyncMemory
    from memkit.testing.openai_server import ScriptedOpenAI

    with ScriptedOpenAI() as server:
        config = {
            "llm": {
                "provider": "openai",
                "config": {"model": "m", "base_url": server.url, "api_key": "k", "timeout": 2.0},
            },
            "categories": [f"cat{i}" for i in range(100)],
        }
        memory = Memory(tmp_path / "llm", config=config, embedder=HashEmbedder())
        fact = {
            "event": "ADD",
            "source": 1,
            "text": "Likes\x00 green tea\ud800",
            "target": None,
            "categories": [SURROGATE, "bad:name", *[f"cat{i}" for i in range(100)]],
        }
        empty = {**fact, "text": "\x00\ud800 ", "categories": []}
        server.reply({"memories": [fact, empty], "forget": [], "erase_all": []})
        messages = [{"role": "user", "content": "I like green tea"}]
        if mode == "sync":
            result = memory.add(messages, user_id="alex")
        else:
            result = asyncio.run(AsyncMemory(memory=memory).add(messages, user_id="alex"))
        assert [(e.event, e.memory) for e in result.results] == [("ADD", "Likes green tea")]
        stored = memory.get(result.results[0].id)
        assert stored.categories == [f"cat{i}" for i in range(MAX_CATEGORIES)]
        memory = reopened(memory)
        assert [r.memory for r in memory.search("tea", user_id="alex").results] == [
            "Likes green tea"
        ]
        memory.close()


def test_a_store_path_must_be_a_path(tmp_path: Any) -> None:
    from memkit import AsyncMemory
    from memkit.errors import ConfigError

    memory = Memory(tmp_path / "s", embedder=HashEmbedder())
    with pytest.raises(ConfigError, match="path must be a directory path"):
        AsyncMemory(memory)  # type: ignore[arg-type]  # meant AsyncMemory(memory=...)
    memory.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]


@pytest.mark.parametrize(
    "config",
    [
        {"custom_instructions": f"Only remember pets {SURROGATE}"},
        {"categories": {"pets": "Animals\x00"}},
        {"categories": ["p" * (MAX_CATEGORY_LENGTH + 1)]},
        {"llm": {"provider": "openai", "config": {"model": f"m{SURROGATE}"}}},
    ],
)
def test_a_configuration_holds_only_storable_strings(tmp_path: Any, config: Any) -> None:
    from memkit.errors import ConfigError

    with pytest.raises(ConfigError):
        Memory(tmp_path / "s", config=config, embedder=HashEmbedder())
    assert not (tmp_path / "s").exists()


def test_reading_more_of_a_transcript_than_sql_can_count_reads_it_all(mem: Memory) -> None:
    mem.append_messages("s1", ["hello", "again"])
    assert [m.content for m in mem.get_messages("s1", last=2**63)] == ["hello", "again"]
