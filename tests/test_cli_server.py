"""``memkit serve`` and ``memkit keys``: a real server started by the command in a
subprocess on a free loopback port, keys made, listed and revoked by the CLI against the
same home, and a revoked key refused by a server on that home."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from test_cli import as_json, ok, one_line_error, run

from memkit.server import SETTINGS_ENV, ServerSettings
from memkit.testing.live_server import LiveServer, free_port, serve_command

SCRIPT = Path(sys.executable).with_name("memkit")


def key_for(home: Path, project: str) -> str:
    made = as_json("keys", "create", "--project", project, "--home", str(home))
    assert made["project_id"] == project and made["key"].startswith(made["prefix"])
    key: str = made["key"]
    return key


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[str]]]:
    """``memkit serve --port <free> --home <tmp>`` in a subprocess: (url, home, process)."""
    home, port = tmp_path / "server", free_port()
    env = {**os.environ, "MEMKIT_HOME": str(tmp_path / "memkit-home")}
    argv = [
        str(SCRIPT),
        "serve",
        "--port",
        str(port),
        "--home",
        str(home),
        "--log-level",
        "warning",
    ]
    with serve_command(argv, port, env=env) as (url, process):
        yield url, home, process


def test_serve_answers_with_a_key_from_keys_create(
    served: tuple[str, Path, subprocess.Popen[str]],
) -> None:
    url, home, process = served
    key = key_for(home, "proj_a")
    assert (
        httpx.get(f"{url}/v1/ping/", headers={"Authorization": f"Token {key}"}).status_code == 200
    )
    assert httpx.get(f"{url}/v1/ping/").status_code == 401
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    said = process.stderr.read() if process.stderr else ""
    assert f"memkit server on {url}" in said and "memkit keys create --project" in said


def test_keys_round_trip_and_a_revoked_key_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "server"
    key = key_for(home, "proj_a")
    key_for(home, "proj_b")
    shown = ok("keys", "create", "--project", "proj_a", "--name", "ci", "--home", str(home)).stdout
    assert "key: mk_" in shown and "shown only once" in shown
    listed = as_json("keys", "list", "--home", str(home))
    assert [(k["project_id"], k["revoked"]) for k in listed] == [
        ("proj_a", False),
        ("proj_b", False),
        ("proj_a", False),
    ]
    assert all("key" not in k for k in listed)  # never the key itself
    only_a = as_json("keys", "list", "--project", "proj_a", "--home", str(home))
    assert [k["name"] for k in only_a] == ["default", "ci"]
    table = ok("keys", "list", "--home", str(home)).stdout
    assert "proj_b" in table and listed[0]["prefix"] in table
    with LiveServer(ServerSettings(home=home)) as live:
        ping = f"{live.url}/v1/ping/"
        headers = {"Authorization": f"Token {key}"}
        assert httpx.get(ping, headers=headers).status_code == 200
        revoked = as_json("keys", "revoke", listed[0]["id"], "--home", str(home))
        assert revoked["revoked"] is True and revoked["revoked_at"]
        assert httpx.get(ping, headers=headers).status_code == 401
    assert "Revoked key" in ok("keys", "revoke", listed[0]["id"], "--home", str(home)).stdout
    assert as_json("keys", "list", "--home", str(home))[0]["revoked"] is True


def test_keys_home_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMKIT_SERVER_HOME", str(tmp_path / "env-home"))
    key_for(tmp_path / "env-home", "proj_env")
    assert [k["project_id"] for k in as_json("keys", "list")] == ["proj_env"]
    assert (tmp_path / "env-home" / "server.db").is_file()


def test_keys_default_home_is_under_the_memkit_home(memkit_home: Path) -> None:
    as_json("keys", "create", "--project", "proj_default")
    assert (memkit_home / "server" / "server.db").is_file()


def test_more_workers_need_shared_backends() -> None:
    said = one_line_error(run("serve", "--workers", "2"))
    assert "--workers 2 needs a --config with a Chroma server and PostgreSQL" in said


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["keys", "create", "--project", "Bad-Name"], "ConfigError: project id 'Bad-Name'"),
        (["keys", "create", "--project", "ok_name", "--name", " "], "a key's name"),
        (["keys", "revoke", "no-such-key"], "no API key has id 'no-such-key'"),
        (["keys", "create"], "Missing option '--project'"),
        (["serve", "--workers", "0"], "--workers"),
    ],
)
def test_errors_are_one_line(args: list[str], says: str) -> None:
    code = 2 if says.startswith(("Missing", "--workers")) else 1
    assert says in one_line_error(run(*args), code=code)


def test_a_bad_template_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"no_such_key": 1}))
    said = one_line_error(run("--config", str(config), "keys", "list", "--home", str(tmp_path)))
    assert "ConfigError" in said


@pytest.mark.parametrize(
    "command", [["serve"], ["keys"], ["keys", "create"], ["keys", "list"], ["keys", "revoke"]]
)
def test_help(command: list[str]) -> None:
    assert "Usage:" in ok(*command, "--help").stdout


def test_serve_off_loopback_warns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bind itself is uvicorn's (run for real above); here, what serve hands it."""
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    result = run("serve", "--host", "0.0.0.0", "--port", "8123", "--home", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.startswith("warning: listening on 0.0.0.0, not loopback")
    ((_, options),) = calls
    assert (options["host"], options["port"]) == ("0.0.0.0", 8123)


def test_more_workers_start_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a Chroma server and PostgreSQL in the template, each worker rebuilds the
    settings from the environment (the scale-out test runs such workers for real)."""
    calls: list[tuple[tuple[object, ...], dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: calls.append((args, kwargs)))
    monkeypatch.delenv(SETTINGS_ENV, raising=False)
    config = tmp_path / "shared.json"
    shared = {
        "vector_store": {"provider": "chroma", "config": {"host": "127.0.0.1", "port": 9}},
        "record_store": {"url": "postgresql+psycopg://u@127.0.0.1:9/db"},
    }
    config.write_text(json.dumps(shared))
    result = run("--config", str(config), "serve", "--workers", "3", "--home", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    ((args, options),) = calls
    assert args == ("memkit.server:create_app_from_env",)
    assert options["factory"] is True and options["workers"] == 3
    carried = ServerSettings.from_env()
    assert carried.shared_backends and carried.home == tmp_path
    assert carried.memory["record_store"] == shared["record_store"]
