"""The CLI against a memkit server: with ``--host`` / ``--api-key`` (or ``$MEMKIT_HOST`` /
``$MEMKIT_API_KEY``) every memory command goes through ``memkit.client.MemoryClient`` to a
live server on loopback, and shows what it shows on a local store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import one_line_error, run
from typer.testing import Result

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer
from memkit.testing.openai_server import ScriptedOpenAI


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with LiveServer(ServerSettings(home=tmp_path_factory.mktemp("served"))) as server:
        yield server


@pytest.fixture
def remote(live: LiveServer, request: pytest.FixtureRequest) -> list[str]:
    """The global options that send a command to a fresh project of the live server."""
    project = "p_" + str(abs(hash(request.node.nodeid)) % 10**9)
    return ["--host", live.url, "--api-key", live.new_key(project)]


def ok_remote(remote: list[str], *args: str, input: str | None = None) -> Result:
    result = run(*remote, *args, input=input)
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def json_remote(remote: list[str], *args: str) -> object:
    return json.loads(ok_remote(remote, "--json", *args).stdout)


def test_every_memory_call_through_the_server(remote: list[str], tmp_path: Path) -> None:
    added = json_remote(remote, "add", "I like tea", "--user", "alex", "--no-infer")
    assert isinstance(added, dict)
    tea = added["results"][0]["id"]
    ok_remote(remote, "add", "I play the cello", "--user", "sam", "--no-infer")
    hits = json_remote(remote, "search", "tea", "--filters", '{"user_id": "alex"}')
    assert isinstance(hits, dict) and [h["id"] for h in hits["results"]] == [tea]
    assert "page 1 of 2 · 2 memories" in ok_remote(remote, "list", "--page-size", "1").stdout
    ok_remote(remote, "update", tea, "I like green tea")
    assert "green tea" in ok_remote(remote, "get", tea).stdout
    assert "UPDATE" in ok_remote(remote, "history", tea).stdout
    assert "sam" in ok_remote(remote, "users").stdout
    assert "Recent activity" in ok_remote(remote, "stats").stdout
    assert "update" in ok_remote(remote, "activity").stdout
    assert "healthy" in ok_remote(remote, "check", "--no-repair").stdout
    assert "llm_calls" in ok_remote(remote, "usage").stdout
    assert "Nothing pending" in ok_remote(remote, "pending").stdout
    ok_remote(remote, "messages", "append", "s1", "hello")
    assert "hello" in ok_remote(remote, "messages", "get", "s1").stdout
    backup = tmp_path / "backup.jsonl"
    assert "Exported 2 memories" in ok_remote(remote, "export", str(backup)).stdout
    batch = json.dumps([{"memory_id": tea, "metadata": {"cup": "big"}}])
    assert "(1)" in ok_remote(remote, "batch-update", "-", input=batch).stdout
    assert "(1)" in ok_remote(remote, "delete-users", "--user", "sam", "--yes").stdout
    assert "(1)" in ok_remote(remote, "delete-all", "--user", "alex", "--yes").stdout
    assert "2 added" in ok_remote(remote, "import", str(backup)).stdout
    assert "reset" in ok_remote(remote, "reset", "--yes").stdout
    assert "MemoryNotFoundError" in one_line_error(run(*remote, "get", tea))


def test_structured_export_by_id_from_a_server(tmp_path: Path, server: ScriptedOpenAI) -> None:
    """The server keeps an export for its project: made by one command, fetched by another."""
    settings = {"model": "m", "base_url": server.url, "api_key": "k", "timeout": 2.0}
    template = {"llm": {"provider": "openai", "config": settings}}
    with LiveServer(ServerSettings(home=tmp_path / "llm-server", memory=template)) as live:
        remote = ["--host", live.url, "--api-key", live.new_key("proj_llm")]
        ok_remote(remote, "add", "I play tennis", "--user", "alex", "--no-infer")
        server.reply({"sport": "tennis"})
        schema = '{"type": "object", "properties": {"sport": {"type": "string"}}}'
        made = ok_remote(remote, "structured-export", "--schema", schema, "--user", "alex")
        assert json.loads(made.stdout) == {"sport": "tennis"}
        export_id = made.stderr.removeprefix("export id: ").strip()
        fetched = ok_remote(remote, "structured-export", "--id", export_id)
        assert json.loads(fetched.stdout) == {"sport": "tennis"}


def test_a_project_sees_only_its_own_memories(live: LiveServer) -> None:
    mine = ["--host", live.url, "--api-key", live.new_key("proj_mine")]
    theirs = ["--host", live.url, "--api-key", live.new_key("proj_theirs")]
    ok_remote(mine, "add", "I like tea", "--user", "alex", "--no-infer")
    listed = json_remote(theirs, "list", "--user", "alex")
    assert isinstance(listed, dict) and listed["count"] == 0
    assert json_remote(mine, "list", "--user", "alex") != listed


def test_host_and_key_from_the_environment(
    remote: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MEMKIT_HOST", remote[1])
    monkeypatch.setenv("MEMKIT_API_KEY", remote[3])
    ok_remote([], "add", "I like tea", "--user", "alex", "--no-infer")
    assert json_remote(remote, "list")["count"] == 1  # type: ignore[index]


def test_refusals_are_one_line(live: LiveServer, tmp_path: Path) -> None:
    wrong = run("--host", live.url, "--api-key", "mk_wrong", "list")
    assert "AuthenticationError: invalid API key" in one_line_error(wrong)
    keyless = run("--host", live.url, "list")
    assert "AuthenticationError" in one_line_error(keyless)
    closed = run("--host", "http://127.0.0.1:9", "--api-key", "mk_x", "list")
    assert "ServerUnavailableError" in one_line_error(closed, code=3)
    both = run("--host", live.url, "--path", str(tmp_path), "list")
    assert "--path and --config name a local store" in one_line_error(both)
