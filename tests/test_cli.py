"""The ``memkit`` command line: each command through typer's CliRunner on a temporary store
(the offline extractor, the default embedder), its ``--json`` output, its ``--help``, and
one-line errors; plus the installed console script in a subprocess."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner, Result

from memkit import Memory
from memkit.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(get_command(app).commands)  # type: ignore[attr-defined]
# The public modules (README.md, "Layout"); the CLI keeps to them (.importlinter checks it).
PUBLIC_MODULES = {
    "memkit",
    "memkit.config",
    "memkit.errors",
    "memkit.extract",
    "memkit.filters",
    "memkit.models",
    "memkit.testing",
    "memkit.server",
    "memkit.client",
    "memkit.mcp_server",
    "memkit.options",
}


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=input)


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def as_json(*args: str) -> Any:
    return json.loads(ok("--json", *args).stdout)


def one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("memkit: error: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return lines[0]


@pytest.fixture
def alex() -> dict[str, str]:
    """Two memories of alex, one of sam, added through the CLI; their ids by text."""
    ids = {}
    for text, user in [
        ("I am a vegetarian", "alex"),
        ("I live in Lisbon", "alex"),
        ("I play the cello", "sam"),
    ]:
        added = as_json("add", text, "--user", user, "--no-infer")
        ids[text] = added["results"][0]["id"]
    return ids


# ---- one test per command ----------------------------------------------------------------


def test_add_text_and_messages() -> None:
    table = ok("add", "I'm allergic to peanuts", "--user", "alex").stdout
    assert "ADD" in table
    added = as_json(
        "add",
        "--messages",
        json.dumps([{"role": "user", "content": "I love hiking in the Alps"}]),
        "--user",
        "alex",
        "--metadata",
        '{"source": "chat"}',
    )
    (event,) = added["results"]
    assert event["event"] == "ADD" and event["user_id"] == "alex"
    assert as_json("get", event["id"])["metadata"] == {"source": "chat"}


def test_add_no_infer_stores_verbatim() -> None:
    added = as_json("add", "Remember the milk", "--run", "r1", "--no-infer")
    assert added["results"][0]["memory"] == "Remember the milk"


def test_search(alex: dict[str, str]) -> None:
    hits = as_json("search", "what food does alex eat?", "--user", "alex", "--top-k", "1")
    assert [h["id"] for h in hits["results"]] == [alex["I am a vegetarian"]]
    assert "vegetarian" in ok("search", "diet", "--user", "alex").stdout
    none = as_json("search", "diet", "--user", "alex", "--threshold", "1.01")
    assert none["results"] == []
    filtered = as_json("search", "anything", "--filters", '{"user_id": "sam"}')
    assert {h["user_id"] for h in filtered["results"]} == {"sam"}


def test_list_pages(alex: dict[str, str]) -> None:
    first = as_json("list", "--user", "alex", "--page-size", "1")
    assert first["count"] == 2 and first["next"] == 2 and len(first["results"]) == 1
    second = as_json("list", "--user", "alex", "--page-size", "1", "--page", "2")
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {
        alex["I am a vegetarian"],
        alex["I live in Lisbon"],
    }
    table = ok("list", "--page-size", "2").stdout
    assert "page 1 of 2 · 3 memories" in table
    sam = as_json("list", "--filters", '{"user_id": "sam"}')
    assert [r["memory"] for r in sam["results"]] == ["I play the cello"]


def test_get(alex: dict[str, str]) -> None:
    memory_id = alex["I live in Lisbon"]
    assert as_json("get", memory_id)["memory"] == "I live in Lisbon"
    assert "Lisbon" in ok("get", memory_id).stdout


def test_update_and_history(alex: dict[str, str]) -> None:
    memory_id = alex["I live in Lisbon"]
    updated = as_json("update", memory_id, "I live in Porto", "--metadata", '{"moved": 2025}')
    assert updated["memory"] == "I live in Porto" and updated["metadata"] == {"moved": 2025}
    entries = as_json("history", memory_id)
    assert [e["event"] for e in entries] == ["ADD", "UPDATE"]
    assert entries[1]["old_memory"] == "I live in Lisbon"
    assert "Porto" in ok("history", memory_id).stdout
    assert "Porto" in ok("update", memory_id, "I live in Porto").stdout


def test_delete_one_and_all(alex: dict[str, str]) -> None:
    assert as_json("delete", alex["I live in Lisbon"])["count"] == 1
    refused = run("delete", "--all", "--user", "alex", input="n\n")
    assert refused.exit_code == 1 and as_json("list", "--user", "alex")["count"] == 1
    assert refused.stderr.endswith("memkit: error: not confirmed; nothing deleted\n")
    assert "deleted" in ok("delete", "--all", "--user", "alex", "--yes").stdout
    assert as_json("list", "--user", "alex")["count"] == 0
    asked = run("delete", "--all", "--user", "sam", input="y\n")
    assert asked.exit_code == 0 and as_json("list")["count"] == 0


def test_users(alex: dict[str, str]) -> None:
    users = as_json("users")
    assert {(u["id"], u["total_memories"]) for u in users["results"]} == {("alex", 2), ("sam", 1)}
    assert "alex" in ok("users").stdout


def test_export_and_import(alex: dict[str, str], tmp_path: Path) -> None:
    backup = tmp_path / "alex.jsonl"
    assert as_json("export", str(backup), "--user", "alex")["count"] == 2
    assert "Exported 3 memories" in ok("export", str(tmp_path / "all.jsonl")).stdout
    other = tmp_path / "other-store"
    loaded = as_json("--path", str(other), "import", str(backup))
    assert loaded["added"] == 2
    assert as_json("--path", str(other), "list")["count"] == 2
    again = ok("--path", str(other), "import", str(backup), "--on-conflict", "keep").stdout
    assert "2 skipped" in again


def test_stats(alex: dict[str, str]) -> None:
    stats = as_json("stats", "--recent", "3")
    assert stats["total_memories"] == 3
    assert stats["entities"] == {"user": 2} and stats["memories"] == {"user": 3}
    assert len(stats["activity"]) == 3 and stats["activity"][0]["kind"] == "users"
    table = ok("stats").stdout
    assert "3 memories" in table and "Recent activity" in table


def test_every_command_has_a_test() -> None:
    """A command added without a test of its own fails here."""
    tested = {"add", "search", "list", "get", "history", "update", "delete", "users"}
    tested |= {"export", "import", "stats"}
    # tests/test_cli_admin.py
    tested |= {"batch-update", "batch-delete", "delete-all", "delete-users", "reset"}
    tested |= {"activity", "check", "pending", "replay", "usage", "structured-export"}
    tested |= {"messages"}
    tested |= {"serve", "keys"}  # tests/test_cli_server.py
    tested |= {"mcp"}  # the mcp command's own tests
    assert set(COMMANDS) <= tested, set(COMMANDS) - tested
    assert tested - {"mcp"} <= set(COMMANDS)


# ---- global options ----------------------------------------------------------------------


def test_path_and_config_choose_the_store(tmp_path: Path) -> None:
    ok("--path", str(tmp_path / "a"), "add", "I like tea", "--user", "u", "--no-infer")
    assert as_json("--path", str(tmp_path / "a"), "list")["count"] == 1
    assert as_json("list")["count"] == 0  # $MEMKIT_HOME is another store
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"path": str(tmp_path / "a")}))
    assert as_json("--config", str(config), "list")["count"] == 1


# ---- help and errors ---------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = ok(command, "--help")
    assert "Usage:" in result.stdout
    summary = get_command(app).commands[command].help  # type: ignore[attr-defined]
    assert summary and summary.split("(")[0].strip()[:30] in " ".join(result.stdout.split())


def test_top_level_help_lists_every_command() -> None:
    text = ok("--help").stdout
    assert all(command in text for command in COMMANDS)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["search", "x", "--filters", "{bad"], "--filters is not valid JSON"),
        (["list", "--filters", "[1]"], "--filters must be a JSON object"),
        (["list", "--filters", '{"user_id": {"nope": 1}}'], "InvalidFilterError"),
        (["get", "no-such-id"], "MemoryNotFoundError"),
        (["history", "no-such-id"], "MemoryNotFoundError"),
        (["delete", "no-such-id"], "MemoryNotFoundError"),
        (["update", "no-such-id", "text"], "MemoryNotFoundError"),
        (["add", "I like tea"], "needs at least one of user_id"),
        (["add", "--messages", "[", "--user", "u"], "--messages is not valid JSON"),
        (["add", "x", "--user", "u", "--metadata", "1"], "--metadata must be a JSON object"),
        (["add", "--user", "u"], "give a TEXT or --messages"),
        (["update", "some-id"], "give a new TEXT, --metadata, --expiration-date, or several"),
        (["delete", "--all", "--yes"], "--all needs a scope"),
        (["delete"], "give a memory id, or --all"),
        (["delete", "some-id", "--user", "u"], "a memory id is deleted alone"),
        (["import", "/no/such/file.jsonl"], "no file"),
        (["--config", "/no/such/config.json", "list"], "--config"),
    ],
)
def test_user_errors_are_one_line(args: list[str], says: str) -> None:
    assert says in one_line_error(run(*args, input=""))


@pytest.mark.parametrize(
    "args",
    [["list", "--bogus"], ["search"], ["list", "--page", "x"], ["nope"]],
)
def test_click_errors_are_one_line_too(args: list[str]) -> None:
    one_line_error(run(*args), code=2)


def test_bad_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text("{not json")
    assert "not JSON" in one_line_error(run("--config", str(config), "list"))
    config.write_text('{"no_such_key": 1}')
    assert "ConfigError" in one_line_error(run("--config", str(config), "list"))


def test_bad_import_file(tmp_path: Path) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text("not an export\n")
    assert "InvalidImportError" in one_line_error(run("import", str(source)))


# ---- the public API only, and the installed script ---------------------------------------


def test_the_cli_imports_only_public_modules() -> None:
    """The .importlinter contract lists today's private modules; this catches new ones."""
    for module in (ROOT / "memkit" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name == "memkit" or name.startswith("memkit."):
                    public = name in PUBLIC_MODULES or name.startswith("memkit.cli")
                    assert public, f"{module.name} imports {name}"


def test_installed_console_script(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("memkit")
    assert script.exists(), "pip install -e '.[cli]' installs the memkit script"
    env = {"PATH": str(script.parent), "MEMKIT_HOME": str(tmp_path / "home")}
    shown = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert shown.returncode == 0 and "search" in shown.stdout
    failed = subprocess.run(
        [str(script), "get", "nope"], capture_output=True, text=True, env=env, timeout=120
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("memkit: error: MemoryNotFoundError")
    assert len(failed.stderr.strip().splitlines()) == 1


def test_a_runtime_failure_exits_3(tmp_path: Path) -> None:
    """A store another process holds: the call was fine, the store refused (retry later)."""
    store = tmp_path / "store"
    script = Path(sys.executable).with_name("memkit")
    with Memory(str(store)):
        failed = subprocess.run(
            [str(script), "--path", str(store), "list"],
            capture_output=True,
            text=True,
            env={"PATH": str(script.parent), "MEMKIT_HOME": str(tmp_path / "home")},
            timeout=120,
        )
    assert failed.returncode == 3
    assert failed.stderr.startswith("memkit: error: StoreLockedError")
    assert len(failed.stderr.strip().splitlines()) == 1
