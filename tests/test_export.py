"""Export and import (JSON Lines with history and vectors), and the platform's structured
export, through the public API, sync and async."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from memkit import AsyncMemory, ConfigError, InvalidInputError, Memory
from memkit.errors import ExtractionError, InvalidFilterError, InvalidImportError, MetadataError
from memkit.testing import HashEmbedder, SyncView
from memkit.testing.openai_server import ScriptedReply

T0 = 1_700_000_000.0  # 2023-11-14, so the test's dates are not "now"


def seed(memory: Any) -> dict[str, str]:
    """Memories with every kind of field and history: updates, a metadata-only update,
    a deleted neighbour, each entity id, explicit categories and old timestamps."""
    tea = memory.add(
        "I like green tea",
        user_id="alex",
        infer=False,
        metadata={"source": "chat", "n": 3, "score": 0.5, "ok": True},
        timestamp=T0,
    ).results[0]
    home = memory.add("I live in Paris", user_id="alex", run_id="r1", infer=False).results[0]
    memory.update(home.id, "I live in Berlin")
    memory.update(home.id, metadata={"moved": "2024"})
    agent = memory.add(
        "I answer in French", agent_id="helper", app_id="app", infer=False, categories=["style"]
    ).results[0]
    gone = memory.add("temporary note", user_id="alex", infer=False).results[0]
    memory.delete(gone.id)
    other = memory.add("Bob drinks coffee", user_id="bob", infer=False).results[0]
    return {"tea": tea.id, "home": home.id, "agent": agent.id, "gone": gone.id, "bob": other.id}


def snapshot(memory: Any) -> dict[str, Any]:
    """Every field of every memory, and its history without the store-local row numbers."""
    records = memory.get_all(page_size=1000).results
    return {
        r.id: (
            r.model_dump(mode="json"),
            [h.model_dump(mode="json", exclude={"id"}) for h in memory.history(r.id)],
        )
        for r in records
    }


def export_text(memory: Any, **options: Any) -> str:
    out = io.StringIO()
    memory.export(out, **options)
    return out.getvalue()


def body(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()[1:]]


# ---- through every deployment: sync, async, PostgreSQL, Chroma server + PostgreSQL --------


def test_export_then_import_into_an_emptied_store_restores_every_field(memory, tmp_path):
    ids = seed(memory)
    before = snapshot(memory)
    path = tmp_path / "backup.jsonl"
    result = memory.export(str(path))
    assert result.count == 4 and result.embeddings
    header = json.loads(path.read_text().splitlines()[0])
    assert header["format"] == "memkit.export" and header["version"] == 1
    assert header["count"] == 4 and header["embedder"] == result.embedder
    assert header["memkit_version"]
    assert ids["gone"] not in {line["id"] for line in body(path.read_text())}

    assert memory.import_(str(path)).skipped == 4  # the store already holds it all: a no-op
    assert snapshot(memory) == before

    memory.reset()
    restored = memory.import_(str(path))
    assert (restored.total, restored.added, restored.skipped) == (4, 4, 0)
    assert restored.re_embedded == 0  # same embedder: the file's vectors are used
    assert snapshot(memory) == before
    hits = memory.search("where does alex live?", user_id="alex").results
    assert hits[0].id == ids["home"]
    again = memory.import_(str(path))
    assert (again.added, again.skipped, again.history_added) == (0, 4, 0)
    assert snapshot(memory) == before


def test_export_selects_with_get_alls_filters_and_ids(memory):
    ids = seed(memory)
    alex = body(export_text(memory, user_id="alex"))
    assert {line["id"] for line in alex} == {ids["tea"], ids["home"]}
    styled = body(export_text(memory, filters={"categories": {"contains": "style"}}))
    assert [line["id"] for line in styled] == [ids["agent"]]
    both = body(export_text(memory, filters={"OR": [{"user_id": "bob"}, {"run_id": "r1"}]}))
    assert {line["id"] for line in both} == {ids["bob"], ids["home"]}
    assert body(export_text(memory, filters={"user_id": "nobody"})) == []
    with pytest.raises(InvalidFilterError):
        memory.export(io.StringIO(), filters={"colour": "red"})


# ---- embedded <-> server: nothing is lost ------------------------------------------------


@pytest.fixture
def server_memory(chroma_server, postgres_url) -> Iterator[Memory]:
    _, port = chroma_server
    chroma = {"host": "127.0.0.1", "port": port, "collection_name": f"exp-{uuid.uuid4().hex[:8]}"}
    memory = Memory(
        config={
            "vector_store": {"provider": "chroma", "config": chroma},
            "record_store": {"url": postgres_url},
        }
    )
    yield memory
    memory.close()


def test_round_trip_embedded_to_server_and_back_loses_nothing(server_memory, tmp_path):
    embedded = Memory(path=str(tmp_path / "embedded"))
    seed(embedded)
    first = export_text(embedded)
    assert server_memory.import_(io.StringIO(first)).added == 4
    assert snapshot(server_memory) == snapshot(embedded)
    assert server_memory.check().healthy  # the server's index took every memory

    second = export_text(server_memory)
    # Line for line the same file (the header differs only in its export time).
    assert first.splitlines()[1:] == second.splitlines()[1:]
    back = Memory(path=str(tmp_path / "restored"))
    assert back.import_(io.StringIO(second)).added == 4
    assert snapshot(back) == snapshot(embedded)
    assert export_text(back).splitlines()[1:] == first.splitlines()[1:]
    query = "what does alex drink?"
    assert [h.id for h in back.search(query, user_id="alex").results] == [
        h.id for h in embedded.search(query, user_id="alex").results
    ]
    embedded.close()
    back.close()


# ---- into a non-empty store: ids kept, conflicts decided -----------------------------------


@pytest.fixture(params=["sync", "async"])
def pair(request, tmp_path) -> Iterator[tuple[Any, Any]]:
    """Two stores, driven through Memory or AsyncMemory."""
    if request.param == "sync":
        a, b = Memory(path=str(tmp_path / "a")), Memory(path=str(tmp_path / "b"))
        yield a, b
        a.close()
        b.close()
        return
    a, b = AsyncMemory(path=str(tmp_path / "a")), AsyncMemory(path=str(tmp_path / "b"))
    yield SyncView(a), SyncView(b)
    a.sync.close()
    b.sync.close()


def test_import_into_a_non_empty_store_keeps_ids_and_adds_no_duplicates(pair):
    source, target = pair
    ids = seed(source)
    target.add("I own a bike", user_id="alex", infer=False)
    text = export_text(source)
    result = target.import_(io.StringIO(text))
    assert (result.added, result.skipped, result.conflicts) == (4, 0, 0)
    assert target.get(ids["home"]) == source.get(ids["home"])
    assert target.get_all(user_id="alex").count == 3
    assert target.import_(io.StringIO(text)).skipped == 4
    assert target.get_all(page_size=1000).count == 5


def test_conflicts_follow_on_conflict(pair):
    source, target = pair
    ids = seed(source)
    text = export_text(source)
    target.import_(io.StringIO(text))

    # The store edited after the export: "newer" keeps the store's later edit.
    target.update(ids["tea"], "I like black tea")
    kept = target.import_(io.StringIO(text))
    assert (kept.conflicts, kept.conflict_ids, kept.skipped) == (1, [ids["tea"]], 3)
    assert target.get(ids["tea"]).memory == "I like black tea"
    assert target.import_(io.StringIO(text), on_conflict="keep").conflicts == 1
    with pytest.raises(InvalidImportError) as error:
        target.import_(io.StringIO(text), on_conflict="error")
    assert error.value.line is not None and ids["tea"] in str(error.value)
    replaced = target.import_(io.StringIO(text), on_conflict="replace")
    assert (replaced.replaced, replaced.skipped) == (1, 3)
    assert target.get(ids["tea"]) == source.get(ids["tea"])
    # The store's own update stays in the history, beside the file's entries.
    events = [(h.event, h.new_memory) for h in target.history(ids["tea"])]
    assert events == [("ADD", "I like green tea"), ("UPDATE", "I like black tea")]

    # The file edited later than the store: "newer" takes the file's version.
    source.update(ids["home"], "I live in Rome")
    newer = target.import_(io.StringIO(export_text(source)))
    assert (newer.replaced, newer.history_added) == (1, 1)
    assert target.get(ids["home"]) == source.get(ids["home"])
    assert [h.new_memory for h in target.history(ids["home"])][-1] == "I live in Rome"
    with pytest.raises(InvalidInputError, match="on_conflict"):
        target.import_(io.StringIO(text), on_conflict="merge")


def test_immutable_and_expiration_date_travel_and_an_immutable_memory_is_not_replaced(pair):
    source, target = pair
    ids = seed(source)
    lines = export_text(source).splitlines()
    number = next(i for i, line in enumerate(lines) if ids["tea"] in line) + 1
    assert json.loads(lines[number - 1])["immutable"] is False
    fixed = _edit(lines, number, immutable=True, expiration_date="2030-01-31")
    assert target.import_(fixed).added == 4
    record = target.get(ids["tea"])
    assert (record.immutable, record.expiration_date) == (True, "2030-01-31")
    assert [json.loads(x) for x in export_text(target).splitlines()[1:]] == [
        json.loads(x) for x in fixed[1:]
    ]
    later = _edit(fixed, number, memory="I like oolong", hash=None, updated_at="2099-01-01")
    result = target.import_(later)  # "newer", but the store's memory is immutable
    assert (result.conflicts, result.skipped) == (1, 3)
    assert target.get(ids["tea"]).memory == "I like green tea"
    assert target.import_(later, on_conflict="replace").replaced == 1
    assert target.get(ids["tea"]).memory == "I like oolong"
    with pytest.raises(InvalidImportError, match="YYYY-MM-DD") as raised:
        target.import_(_edit(lines, number, expiration_date="next week"))
    assert raised.value.line == number


# ---- vectors: used when the embedder matches, else recomputed -----------------------------


def test_another_embedders_export_is_re_embedded(tmp_path):
    source = Memory(path=str(tmp_path / "onnx"))
    ids = seed(source)
    target = Memory(path=str(tmp_path / "hash"), embedder=HashEmbedder())
    result = target.import_(io.StringIO(export_text(source)))
    assert (result.added, result.re_embedded) == (4, 4)
    assert target.search("coffee", user_id="bob").results[0].id == ids["bob"]
    back = Memory(path=str(tmp_path / "again"))
    assert back.import_(io.StringIO(export_text(target))).re_embedded == 4
    assert snapshot(back) == snapshot(source)
    for memory in (source, target, back):
        memory.close()


def test_an_export_without_vectors_is_smaller_and_re_embedded_on_import(tmp_path):
    source = Memory(path=str(tmp_path / "a"))
    seed(source)
    full, bare = export_text(source), export_text(source, embeddings=False)
    assert all("embedding" not in line for line in body(bare))
    assert len(bare) < len(full) / 3  # a 384-dim vector is about 2 KB a line
    target = Memory(path=str(tmp_path / "b"))
    assert target.import_(io.StringIO(bare)).re_embedded == 4
    assert snapshot(target) == snapshot(source)
    source.close()
    target.close()


# ---- every line checked first; a bad one names its line and writes nothing ------------------


def _lines_of(memory: Any) -> list[str]:
    seed(memory)
    return export_text(memory).splitlines()


def _edit(lines: list[str], number: int, **changes: Any) -> list[str]:
    value = json.loads(lines[number - 1])
    value.update(changes)
    return [*lines[: number - 1], json.dumps(value), *lines[number:]]


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [
        (lambda ls: _edit(ls, 3, metadata={"a": {"nested": 1}}), MetadataError, "metadata"),
        (lambda ls: _edit(ls, 3, memory="x\x00y"), InvalidInputError, "NUL"),
        (lambda ls: _edit(ls, 3, memory="a new text"), InvalidInputError, "hash"),
        (lambda ls: _edit(ls, 3, id="not-a-uuid"), InvalidInputError, "id"),
        (lambda ls: _edit(ls, 3, created_at="yesterday"), InvalidInputError, "timestamp"),
        (
            lambda ls: _edit(ls, 3, user_id=None, agent_id=None, app_id=None, run_id=None),
            InvalidInputError,
            "user_id",
        ),
        (lambda ls: _edit(ls, 3, colour="red"), InvalidInputError, "unknown keys"),
        (lambda ls: _edit(ls, 3, categories=["a:b"]), InvalidInputError, "categories"),
        (lambda ls: _edit(ls, 3, history=[{"event": "MOVE", "created_at": T0}]), None, "event"),
        (lambda ls: _edit(ls, 3, embedding="AAAA"), InvalidInputError, "dimensions"),
        (lambda ls: [*ls[:2], "{not json", *ls[3:]], None, "JSON"),
        (lambda ls: [*ls[:2], ls[1], *ls[3:]], None, "already on line 2"),
    ],
)
def test_a_bad_line_is_named_and_nothing_is_written(pair, change, error, words):
    source, target = pair
    lines = change(_lines_of(source))
    target.add("already here", user_id="zoe", infer=False)
    with pytest.raises(InvalidImportError, match=words) as raised:
        target.import_(lines)
    if error is not None:  # the error add/update would raise, kept as the cause
        assert isinstance(raised.value.__cause__, error)
    assert raised.value.line == 3 and str(raised.value).startswith("line 3: ")
    assert target.get_all(page_size=1000).count == 1


def test_a_truncated_or_foreign_file_is_refused(pair, tmp_path):
    source, target = pair
    lines = _lines_of(source)
    with pytest.raises(InvalidImportError, match="truncated"):
        target.import_(lines[:-1])
    with pytest.raises(InvalidImportError, match="no header"):
        target.import_([])
    with pytest.raises(InvalidImportError, match="not a memkit export"):
        target.import_(['{"format": "csv"}'])
    newer = json.loads(lines[0]) | {"version": 2}
    with pytest.raises(InvalidImportError, match="upgrade memkit"):
        target.import_([json.dumps(newer), *lines[1:]])
    with pytest.raises(InvalidInputError, match="no file"):
        target.import_(str(tmp_path / "missing.jsonl"))
    with pytest.raises(InvalidInputError, match="destination"):
        source.export(str(tmp_path / "no-such-dir" / "x.jsonl"))
    with pytest.raises(InvalidInputError, match="destination"):
        source.export(42)
    assert target.get_all().count == 0


def test_a_file_export_is_written_whole_and_blank_lines_are_ignored(tmp_path):
    memory = Memory(path=str(tmp_path / "a"))
    seed(memory)
    path = tmp_path / "out.jsonl"
    memory.export(path)  # a pathlib.Path is a path too
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []
    text = path.read_text()
    target = Memory(path=str(tmp_path / "b"))
    with Path(path).open() as stream:
        assert target.import_(stream).added == 4
    assert target.import_(io.StringIO(text.replace("\n", "\n\n"))).skipped == 4
    memory.close()
    target.close()


# ---- the platform's structured export --------------------------------------------------------


class Profile(BaseModel):
    full_name: str | None = None
    drinks: list[str] = []
    city: str | None = None


@pytest.fixture(params=["sync", "async"])
def llm_memory(request, server, tmp_path) -> Iterator[Any]:
    config = {
        "llm": {
            "provider": "openai",
            "config": {
                "model": "test-model",
                "base_url": server.url,
                "api_key": "k",
                "timeout": 2.0,
                "max_retries": 0,
            },
        }
    }
    if request.param == "sync":
        memory = Memory(path=str(tmp_path / "s"), config=config, embedder=HashEmbedder())
        yield memory
        memory.close()
        return
    amemory = AsyncMemory(path=str(tmp_path / "s"), config=config, embedder=HashEmbedder())
    yield SyncView(amemory)
    amemory.sync.close()


def test_create_memory_export_fills_the_schema_from_the_scopes_memories(llm_memory, server):
    llm_memory.add("I like green tea", user_id="alex", infer=False)
    llm_memory.add("I live in Berlin", user_id="alex", infer=False)
    llm_memory.add("I drink coffee", user_id="bob", infer=False)
    server.reply({"full_name": None, "drinks": ["green tea"], "city": "Berlin"})
    # The platform's documented call: a JSON schema and filters in the v2 language.
    job = llm_memory.create_memory_export(
        schema=Profile.model_json_schema(), filters={"AND": [{"user_id": "alex"}]}
    )
    assert job.message.startswith("Memory export request received")
    exported = llm_memory.get_memory_export(memory_export_id=job.id)
    assert exported == {"full_name": None, "drinks": ["green tea"], "city": "Berlin"}
    request = server.chat_requests[-1]
    sent = request.body
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == Profile.model_json_schema()
    prompt = " ".join(m["content"] for m in sent["messages"])
    assert "I live in Berlin" in prompt and "I like green tea" in prompt
    assert "coffee" not in prompt  # bob's memories are outside the filter
    # The latest export for the same filters, without its id.
    assert llm_memory.get_memory_export(filters={"AND": [{"user_id": "alex"}]}) == exported
    with pytest.raises(InvalidInputError, match="no memory export"):
        llm_memory.get_memory_export(memory_export_id=str(uuid.uuid4()))
    llm_memory.reset()
    with pytest.raises(InvalidInputError, match="no memory export"):
        llm_memory.get_memory_export(memory_export_id=job.id)


def test_a_structured_export_is_kept_in_the_store_for_every_process(server, tmp_path):
    """A server's workers are separate processes on one store: an export one made, another
    returns. Here, the same store reopened by a new Memory."""
    config = {
        "llm": {
            "provider": "openai",
            "config": {"model": "m", "base_url": server.url, "api_key": "k", "max_retries": 0},
        }
    }
    first = Memory(path=str(tmp_path / "s"), config=config, embedder=HashEmbedder())
    first.add("I like green tea", user_id="alex", infer=False)
    server.reply({"full_name": None, "drinks": ["green tea"]})
    job = first.create_memory_export(schema=Profile.model_json_schema(), user_id="alex")
    first.close()
    second = Memory(path=str(tmp_path / "s"), config=config, embedder=HashEmbedder())
    assert second.get_memory_export(job.id) == {"full_name": None, "drinks": ["green tea"]}
    assert second.get_memory_export(user_id="alex") == {"full_name": None, "drinks": ["green tea"]}
    second.close()


def test_a_pydantic_schema_validates_the_answer_with_one_repair(llm_memory, server):
    llm_memory.add("My name is Alex Doe", user_id="alex", infer=False)
    server.reply({"full_name": 42}, {"full_name": "Alex Doe", "drinks": []})
    job = llm_memory.create_memory_export(
        Profile, user_id="alex", export_instructions="Use full names."
    )
    assert llm_memory.get_memory_export(job.id) == {
        "full_name": "Alex Doe",
        "drinks": [],
        "city": None,
    }
    assert len(server.chat_requests) == 2
    assert "Use full names." in server.chat_requests[0].body["messages"][0]["content"]
    assert "invalid" in server.chat_requests[1].body["messages"][-1]["content"]
    server.reply(ScriptedReply.text("not json"), ScriptedReply.text("[]"))
    with pytest.raises(ExtractionError, match="invalid twice"):
        llm_memory.create_memory_export(Profile, user_id="alex")


def test_structured_export_without_an_llm_is_refused(memory):
    memory.add("I like tea", user_id="alex", infer=False)
    with pytest.raises(ConfigError, match="needs an LLM"):
        memory.create_memory_export(Profile.model_json_schema(), filters={"user_id": "alex"})
    with pytest.raises(InvalidInputError):
        memory.create_memory_export(Profile, filters={"user_id": "alex"}, colour="red")


def test_structured_export_leaves_out_expired_memories_and_refuses_project_ids(llm_memory, server):
    llm_memory.add("I like green tea", user_id="alex", infer=False)
    llm_memory.add("My trial ends soon", user_id="alex", infer=False, expiration_date="2001-01-01")
    server.reply({"full_name": None, "drinks": ["green tea"]})
    llm_memory.create_memory_export(Profile, user_id="alex")
    prompt = " ".join(m["content"] for m in server.chat_requests[-1].body["messages"])
    assert "green tea" in prompt and "trial" not in prompt  # as get_all: expired is out
    # A store is one project: org_id / project_id would be accepted and ignored, so refused.
    for key in ("org_id", "project_id"):
        with pytest.raises(InvalidInputError, match=key):
            llm_memory.create_memory_export(Profile, user_id="alex", **{key: "p1"})
        with pytest.raises(InvalidInputError, match=key):
            llm_memory.get_memory_export(user_id="alex", **{key: "p1"})
