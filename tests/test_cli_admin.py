"""The commands for the rest of ``Memory``'s calls (batches, deleting scopes and entities,
reset, activity, check, pending/replay, usage, structured export, transcripts) through
typer's CliRunner; that every public ``Memory`` method has a command; and the progress bars
of export and import."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from test_cli import as_json, ok, one_line_error, run
from typer.testing import Result

from memkit import Memory
from memkit.testing.openai_server import ScriptedOpenAI, ScriptedReply

# Memory's public methods and the command that makes each call.
COMMAND_OF = {
    "add": "add",
    "search": "search",
    "get_all": "list",
    "get": "get",
    "history": "history",
    "users": "users",
    "update": "update",
    "batch_update": "batch-update",
    "delete": "delete",
    "batch_delete": "batch-delete",
    "delete_all": "delete-all",
    "delete_users": "delete-users",
    "reset": "reset",
    "append_messages": "messages append",
    "get_messages": "messages get",
    "clear_messages": "messages clear",
    "activity": "activity",
    "check": "check",
    "pending": "pending",
    "replay": "replay",
    "usage": "usage",
    "export": "export",
    "import_": "import",
    "create_memory_export": "structured-export",
    "get_memory_export": "structured-export",
}
NOT_COMMANDS = {
    "from_config": "the constructor: the global --config is its argument",
    "close": "each command opens the store and closes it when done",
    "backend": "the storage internals, not an operation",
}


def test_every_public_memory_method_has_a_command() -> None:
    public = {
        name
        for name, _ in inspect.getmembers(Memory)
        if not name.startswith("_") and (callable(getattr(Memory, name)) or name == "backend")
    }
    assert public == set(COMMAND_OF) | set(NOT_COMMANDS)
    for command in set(COMMAND_OF.values()):
        assert "Usage:" in ok(*command.split(), "--help").stdout


def not_confirmed(result: Result) -> bool:
    """Refused at the prompt (which shares stderr's line: the answer is not echoed)."""
    assert result.exit_code == 1, (result.stdout, result.stderr)
    prompt, _, error = result.stderr.partition("[y/N]:")
    return (
        prompt.endswith("? ") and error.strip() == "memkit: error: not confirmed; nothing deleted"
    )


@pytest.fixture
def three() -> list[str]:
    """alex: tea and coffee (run r1), sam: cello; their ids in that order."""
    ids = []
    for text, scope in [
        ("I like tea", ["--user", "alex"]),
        ("I like coffee", ["--user", "alex", "--run", "r1"]),
        ("I play the cello", ["--user", "sam"]),
    ]:
        ids.append(as_json("add", text, *scope, "--no-infer")["results"][0]["id"])
    return ids


def test_batch_update_from_a_file_and_stdin(three: list[str], tmp_path: Path) -> None:
    items = tmp_path / "items.json"
    items.write_text(json.dumps([{"memory_id": three[0], "text": "I like green tea"}]))
    assert as_json("batch-update", str(items))["count"] == 1
    assert as_json("get", three[0])["memory"] == "I like green tea"
    piped = [{"memory_id": three[1], "metadata": {"cup": "big"}}]
    result = run("--json", "batch-update", "-", input=json.dumps(piped))
    assert result.exit_code == 0 and json.loads(result.stdout)["count"] == 1
    assert as_json("get", three[1])["metadata"] == {"cup": "big"}
    assert "Successfully updated 1 memories" in ok("batch-update", str(items)).stdout


def test_batch_delete_takes_ids_or_items(three: list[str], tmp_path: Path) -> None:
    items = tmp_path / "items.json"
    items.write_text(json.dumps([three[0], {"memory_id": three[1]}]))
    assert as_json("batch-delete", str(items))["count"] == 2
    assert as_json("list")["count"] == 1
    refused = run("batch-delete", str(items))  # unknown ids now: nothing deleted
    assert "MemoryNotFoundError" in one_line_error(refused)


def test_delete_all_by_ids_and_filters(three: list[str]) -> None:
    refused = run("delete-all", "--user", "alex", input="n\n")
    assert not_confirmed(refused) and as_json("list")["count"] == 3
    narrowed = '{"AND": [{"user_id": "alex"}, {"run_id": "r1"}]}'
    assert as_json("delete-all", "--filters", narrowed, "--yes")["count"] == 1
    assert as_json("delete-all", "--user", "alex", "--yes")["count"] == 1
    asked = run("delete-all", "--user", "sam", input="y\n")
    assert asked.exit_code == 0 and "(1)" in asked.stdout
    assert as_json("list")["count"] == 0


def test_delete_users_both_spellings(three: list[str]) -> None:
    assert as_json("delete-users", "--user", "sam", "--yes")["count"] == 1
    assert as_json("delete-users", "--type", "run", "--id", "r1", "--yes")["count"] == 1
    assert {u["id"] for u in as_json("users")["results"]} == {"alex"}
    assert "Entity deleted" in run("delete-users", "--user", "alex", input="y\n").stdout


def test_reset(three: list[str]) -> None:
    assert not_confirmed(run("reset", input="n\n"))
    assert as_json("reset", "--yes")["message"] == "Memory store reset successfully!"
    assert as_json("list")["count"] == 0


def test_activity(three: list[str]) -> None:
    ok("search", "tea", "--user", "alex")
    rows = as_json("activity", "--limit", "2")
    assert [row["kind"] for row in rows] == ["search", "add"]
    assert [row["kind"] for row in as_json("activity", "--kind", "add")] == ["add"] * 3
    assert "search" in ok("activity").stdout


def test_check(three: list[str]) -> None:
    health = as_json("check", "--no-repair")
    assert health["healthy"] is True and health["records"] == 3
    assert "healthy" in ok("check").stdout


def test_messages(tmp_path: Path) -> None:
    assert as_json("messages", "append", "s1", "hello")["count"] == 1
    convo = json.dumps([{"role": "assistant", "content": "hi!"}, {"role": "user", "content": "x"}])
    assert as_json("messages", "append", "s1", "--messages", convo)["count"] == 3
    last = as_json("messages", "get", "s1", "--last", "2")
    assert [(m["role"], m["content"]) for m in last] == [("assistant", "hi!"), ("user", "x")]
    assert "hello" in ok("messages", "get", "s1").stdout
    assert as_json("messages", "clear", "s1")["cleared"] is True
    assert as_json("messages", "get", "s1") == []


def _llm_config(tmp_path: Path, llm: ScriptedOpenAI) -> str:
    config = tmp_path / "llm.json"
    settings = {"model": "m", "base_url": llm.url, "api_key": "k", "timeout": 2.0}
    config.write_text(
        json.dumps(
            {"path": str(tmp_path / "llm-store"), "llm": {"provider": "openai", "config": settings}}
        )
    )
    return str(config)


def test_pending_replay_and_usage(tmp_path: Path, server: ScriptedOpenAI) -> None:
    config = _llm_config(tmp_path, server)
    server.reply(ScriptedReply.error(401, "bad key"))
    failed = run("--config", config, "add", "I live in Rome", "--user", "alex")
    assert "ExtractionError" in one_line_error(failed, code=3)
    (kept,) = as_json("--config", config, "pending")
    assert kept["messages"][0]["content"] == "I live in Rome"
    assert "401" in ok("--config", config, "pending").stdout or kept["error"]
    op = {"event": "ADD", "source": 1, "text": "Lives in Rome", "target": None, "categories": []}
    server.reply({"memories": [op], "forget": []})
    replayed = as_json("--config", config, "replay", kept["id"])
    assert [e["memory"] for e in replayed["results"]] == ["Lives in Rome"]
    assert as_json("--config", config, "pending") == []
    totals = as_json("--config", config, "usage")
    assert totals["adds"] == 2 and totals["llm_calls"] == 2
    assert "llm_calls" in ok("--config", config, "usage").stdout
    assert "no pending extraction" in one_line_error(run("--config", config, "replay", "nope"))


def test_structured_export(tmp_path: Path, server: ScriptedOpenAI) -> None:
    config = _llm_config(tmp_path, server)
    ok("--config", config, "add", "I play tennis", "--user", "alex", "--no-infer")
    schema = json.dumps({"type": "object", "properties": {"sport": {"type": "string"}}})
    server.reply({"sport": "tennis"})
    made = as_json("--config", config, "structured-export", "--schema", schema, "--user", "alex")
    assert made == {"sport": "tennis"}
    sent = server.chat_requests[-1].body["response_format"]["json_schema"]["schema"]
    assert sent["properties"] == {"sport": {"type": "string"}}
    without_llm = run("structured-export", "--schema", schema, "--user", "alex")
    assert "ConfigError" in one_line_error(without_llm)


def test_export_and_import_show_a_progress_bar(three: list[str], tmp_path: Path) -> None:
    backup = tmp_path / "all.jsonl"
    exported = run("--json", "export", str(backup))
    assert exported.exit_code == 0 and json.loads(exported.stdout)["count"] == 3
    assert "Exporting" in exported.stderr and "4/4" in exported.stderr  # header + 3
    assert len(backup.read_text().splitlines()) == 4
    imported = run("--json", "--path", str(tmp_path / "other"), "import", str(backup))
    assert json.loads(imported.stdout)["added"] == 3
    size = backup.stat().st_size
    assert "Importing" in imported.stderr and f"{size}/{size}" in imported.stderr
    assert "InvalidInputError" in one_line_error(run("export", str(tmp_path / "no" / "x.jsonl")))


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["batch-update", "/no/such.json"], "batch /no/such.json"),
        (["batch-update", "-"], "not JSON"),
        (["batch-delete", "-"], "not JSON"),
        (["delete-all", "--yes"], "delete-all needs a scope"),
        (["delete-all", "--filters", "[1]", "--yes"], "--filters must be a JSON object"),
        (["delete-users", "--yes"], "name an entity"),
        (["delete-users", "--type", "user", "--yes"], "--type and --id go together"),
        (["delete-users", "--type", "team", "--id", "x", "--yes"], "--type 'team'"),
        (["messages", "append", "s1"], "give a TEXT or --messages"),
        (["messages", "append", "s1", "--messages", "[x"], "--messages is not valid JSON"),
        (["structured-export"], "give --schema"),
        (["structured-export", "--schema", "[1]"], "--schema must be a JSON object"),
        (["replay", "nope"], "no pending extraction with id 'nope'"),
    ],
)
def test_errors_are_one_line(args: list[str], says: str) -> None:
    assert says in one_line_error(run(*args, input="{bad"))


def test_batch_must_be_a_list(tmp_path: Path) -> None:
    items: Any = {"memory_id": "x"}
    assert "expected a JSON list" in one_line_error(
        run("batch-delete", "-", input=json.dumps(items))
    )


def test_the_platform_options_of_add_list_search_and_update() -> None:
    added = as_json(
        "add",
        "I like tea",
        "--user",
        "alex",
        "--no-infer",
        "--category",
        "drinks",
        "--category",
        "food",
        "--immutable",
        "--expiration-date",
        "2999-01-01",
    )
    tea = added["results"][0]["id"]
    record = as_json("get", tea)
    assert record["categories"] == ["drinks", "food"] and record["immutable"] is True
    assert record["expiration_date"] == "2999-01-01"
    assert "ImmutableMemoryError" in one_line_error(run("update", tea, "I like coffee"))
    ok("add", "I play the cello", "--user", "alex", "--no-infer", "--category", "music")
    assert [r["id"] for r in as_json("list", "--category", "drinks")["results"]] == [tea]
    assert [r["id"] for r in as_json("list", "--keywords", "tea")["results"]] == [tea]
    hits = as_json("search", "tea", "--user", "alex", "--keyword-search", "--no-rerank")
    assert hits["results"][0]["id"] == tea
    swim = as_json(
        "add", "I swim", "--user", "sam", "--no-infer", "--expiration-date", "2000-01-01"
    )
    assert as_json("list", "--user", "sam")["count"] == 0  # expired: hidden
    cleared = as_json("update", swim["results"][0]["id"], "--expiration-date", "none")
    assert cleared["expiration_date"] is None
    assert as_json("list", "--user", "sam")["count"] == 1
    with_steering = run("add", "I like tea", "--user", "u", "--no-infer", "--includes", "food")
    assert "infer=False" in one_line_error(with_steering)


def test_import_of_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "latin1.jsonl"
    source.write_bytes('{"format": "café"}\n'.encode("latin-1"))
    said = one_line_error(run("import", str(source)))
    assert "is not UTF-8 text" in said and "Importing" not in said


def test_check_of_a_drifted_index_fails_then_repairs() -> None:
    # $MEMKIT_HOME, the CLI's store, held open: the commands share this process's store
    with Memory() as memory:
        added = memory.add(["Owns a cat", "Plays chess"], user_id="u", infer=False)
        memory.backend.sync_index()
        memory.backend.index._collection.delete(ids=[added.results[0].id])  # behind its back
        drifted = run("--json", "check", "--no-repair")
        assert "the store is not healthy" in one_line_error(drifted)
        assert json.loads(drifted.stdout)["indexed"] == 1
        repaired = as_json("check")
    assert repaired["healthy"] is True and repaired["repaired"]["upserted"] == 1
