"""``memkit mcp`` and ``memkit.mcp_server`` through the official MCP SDK's own clients.

The command runs in a subprocess on a temporary store, over stdio (``stdio_client``) and
over streamable HTTP on a free loopback port (``streamable_http_client``); each time a
``ClientSession`` lists the tools, adds, searches, lists, gets and deletes, and a memory of
another user, written to the same store beforehand, can be neither seen nor deleted.
In-process (``mcp.Client`` on ``build_server``): tool errors, the confirm guard, the
user-and-agent scope, the scope's filter, and the same tools on a ``MemoryClient`` talking
to a live ``memkit serve``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult, TextContent
from typer.testing import CliRunner

from memkit import Memory
from memkit.cli import app
from memkit.errors import InvalidInputError
from memkit.mcp_server import ToolScope, build_server
from memkit.testing import HashEmbedder

ROOT = Path(__file__).resolve().parent.parent
CLI = ["-c", "from memkit.cli import app; app()"]
TOOLS = {
    "add_memory",
    "search_memories",
    "list_memories",
    "get_memory",
    "update_memory",
    "delete_memory",
    "delete_all_memories",
}
CHILD_ENV = {"ANONYMIZED_TELEMETRY": "False", "MEM0_TELEMETRY": "False"}


def payload(result: CallToolResult) -> dict[str, Any]:
    """A successful tool result's JSON, checked to be the same as text and as structure."""
    assert not result.is_error, result.content
    (block,) = result.content
    assert isinstance(block, TextContent)
    assert json.loads(block.text) == result.structured_content
    assert result.structured_content is not None
    return result.structured_content


def tool_error(result: CallToolResult) -> str:
    assert result.is_error
    (block,) = result.content
    assert isinstance(block, TextContent)
    return block.text


def store_with_bob(path: Path) -> str:
    """A store holding one memory of bob's; its id."""
    with Memory(str(path)) as memory:
        added = memory.add("I play chess every sunday", user_id="bob", infer=False)
    return added.results[0].id


async def round_trip(session: ClientSession, bob_id: str) -> None:
    """What an agent does through the tools, scoped to alex, with bob's memory next door."""
    initialized = await session.initialize()
    assert initialized.server_info.name == "memkit"
    assert "user_id='alex'" in (initialized.instructions or "")
    listed_tools = await session.list_tools()
    assert {tool.name for tool in listed_tools.tools} == TOOLS
    assert all(tool.description for tool in listed_tools.tools)

    added = payload(await session.call_tool("add_memory", {"text": "I am a vegetarian"}))
    (event,) = added["results"]
    assert event["event"] == "ADD" and event["user_id"] == "alex"
    alex_id = event["id"]

    found = payload(await session.call_tool("search_memories", {"query": "vegetarian food"}))
    assert [hit["id"] for hit in found["results"]] == [alex_id]
    chess = payload(await session.call_tool("search_memories", {"query": "chess sunday"}))
    assert [hit["id"] for hit in chess["results"]] in ([], [alex_id])  # never bob's

    page = payload(await session.call_tool("list_memories", {}))
    assert page["count"] == 1 and [r["id"] for r in page["results"]] == [alex_id]
    assert payload(await session.call_tool("get_memory", {"memory_id": alex_id}))["id"] == alex_id

    # bob's memory is in the same store, but not in alex's scope: it does not exist here.
    for tool in ("get_memory", "delete_memory"):
        refused = tool_error(await session.call_tool(tool, {"memory_id": bob_id}))
        assert "MemoryNotFoundError" in refused and bob_id in refused

    deleted = payload(await session.call_tool("delete_memory", {"memory_id": alex_id}))
    assert deleted["message"] == "Memory deleted successfully!"
    assert payload(await session.call_tool("list_memories", {}))["count"] == 0


def bob_is_intact(path: Path, bob_id: str) -> None:
    with Memory(str(path)) as memory:
        assert memory.get(bob_id).memory == "I play chess every sunday"
        assert memory.get_all(user_id="alex").count == 0


# ---- the command over both transports ---------------------------------------------------


async def test_stdio_round_trip(tmp_path: Path) -> None:
    store = tmp_path / "store"
    bob_id = store_with_bob(store)
    params = StdioServerParameters(
        command=sys.executable,
        args=[*CLI, "mcp", "--path", str(store), "--user-id", "alex"],
        env=CHILD_ENV,
        cwd=str(ROOT),
    )
    with (tmp_path / "stderr.log").open("w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await round_trip(session, bob_id)
    bob_is_intact(store, bob_id)


def test_stdio_writes_only_protocol_to_stdout(tmp_path: Path) -> None:
    """Every stdout line is a JSON-RPC message: a client spawning the command sees nothing
    else, from the store's opening to the server's exit."""
    process = subprocess.Popen(
        [sys.executable, *CLI, "mcp", "--path", str(tmp_path / "store"), "--user", "alex"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, **CHILD_ENV},
    )
    assert process.stdin is not None and process.stdout is not None
    hello = {"capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}}
    requests = [
        {"method": "initialize", "params": {"protocolVersion": "2025-06-18", **hello}},
        {"method": "notifications/initialized"},
        {
            "method": "tools/call",
            "params": {"name": "add_memory", "arguments": {"text": "I live in Lisbon"}},
        },
        {"method": "tools/list"},
    ]
    lines: list[str] = []
    try:
        for number, request in enumerate(requests):
            message = {"jsonrpc": "2.0", **request}
            if "notifications/" not in request["method"]:
                message["id"] = number
            process.stdin.write(json.dumps(message) + "\n")
            process.stdin.flush()
            if "id" in message:  # a request: wait for its answer (stdout is line-framed)
                lines.append(process.stdout.readline())
        process.stdin.close()
        lines.extend(process.stdout.readlines())
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    replies = [json.loads(line) for line in lines]
    assert [reply.get("id") for reply in replies] == [0, 2, 3]
    assert all(reply["jsonrpc"] == "2.0" and "result" in reply for reply in replies)
    assert replies[1]["result"]["structuredContent"]["results"][0]["user_id"] == "alex"
    assert len(replies[2]["result"]["tools"]) == len(TOOLS)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def http_command(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """``memkit mcp --transport http`` on a free loopback port: (url, store, bob's id)."""
    store = tmp_path / "store"
    bob_id = store_with_bob(store)
    port = free_port()
    errlog = (tmp_path / "stderr.log").open("w")
    command = [sys.executable, *CLI, "--path", str(store), "mcp", "-u", "alex"]
    process = subprocess.Popen(
        [*command, "--transport", "http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=errlog,
        cwd=ROOT,
        env={**os.environ, **CHILD_ENV},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "stderr.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "memkit mcp did not listen in time"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", store, bob_id
    finally:
        process.terminate()
        process.wait(timeout=30)
        errlog.close()
    assert f"at http://127.0.0.1:{port}/mcp" in (tmp_path / "stderr.log").read_text()
    bob_is_intact(store, bob_id)  # once the command has let go of the store


async def test_streamable_http_round_trip(http_command: tuple[str, Path, str]) -> None:
    url, _, bob_id = http_command
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await round_trip(session, bob_id)


def test_command_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    no_scope = runner.invoke(app, ["--path", str(tmp_path), "mcp"])
    assert no_scope.exit_code == 1
    assert no_scope.stderr.strip() == (
        "memkit: error: InvalidInputError: the MCP tools need a scope: at least one of "
        "user_id, agent_id, app_id, run_id"
    )
    bad = runner.invoke(app, ["mcp", "-u", "alex", "--transport", "carrier-pigeon"])
    assert bad.exit_code == 2 and len(bad.stderr.strip().splitlines()) == 1
    port = runner.invoke(app, ["mcp", "-u", "alex", "--transport", "http", "--port", "0"])
    assert port.exit_code == 1 and "--port" in port.stderr
    shown = runner.invoke(app, ["mcp", "--help"])
    assert shown.exit_code == 0 and "--user-id" in shown.stdout and "--transport" in shown.stdout


# ---- build_server in process --------------------------------------------------------------


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[Memory]:
    with Memory(str(tmp_path / "store"), embedder=HashEmbedder()) as memory:
        yield memory


def test_a_scope_is_required(memory: Memory) -> None:
    with pytest.raises(InvalidInputError, match="at least one of user_id"):
        build_server(memory)
    with pytest.raises(InvalidInputError, match="user_id must be a non-empty string"):
        build_server(memory, user_id="  ")


def test_the_scope_as_a_filter() -> None:
    assert ToolScope.of(user_id="alex").filter() == {"user_id": "alex"}
    assert ToolScope.of(user_id="alex", run_id="r1").filter({"categories": {"in": ["x"]}}) == {
        "AND": [{"user_id": "alex"}, {"run_id": "r1"}, {"categories": {"in": ["x"]}}]
    }
    both = ToolScope.of(user_id="alex", agent_id="helper", app_id="a")
    assert both.filter() == {
        "OR": [
            {"AND": [{"user_id": "alex"}, {"app_id": "a"}]},
            {"AND": [{"agent_id": "helper"}, {"app_id": "a"}]},
        ]
    }
    assert both.contains({"user_id": "alex", "app_id": "a"})
    assert both.contains({"agent_id": "helper", "app_id": "a", "user_id": None})
    assert not both.contains({"user_id": "alex", "app_id": "b"})
    assert not both.contains({"user_id": "bob", "app_id": "a"})


async def test_bad_calls_are_tool_errors(memory: Memory) -> None:
    from mcp import Client

    async with Client(build_server(memory, user_id="alex")) as client:
        neither = tool_error(await client.call_tool("add_memory", {}))
        assert "give either `text` or `messages`" in neither
        empty = tool_error(await client.call_tool("add_memory", {"text": "   "}))
        assert "InvalidInputError" in empty
        bad_filter = await client.call_tool(
            "search_memories", {"query": "x", "filters": {"created_at": {"gte": "soon"}}}
        )
        assert "InvalidFilterError" in tool_error(bad_filter)
        assert tool_error(bad_filter).endswith("(at created_at.gte)")  # the caller's own path
        wrong_type = await client.call_tool("list_memories", {"page": 0})
        assert "page" in tool_error(wrong_type)
        missing = tool_error(await client.call_tool("get_memory", {"memory_id": "nope"}))
        assert "MemoryNotFoundError: no memory with id 'nope'" in missing


async def test_filters_narrow_within_the_scope(memory: Memory) -> None:
    from mcp import Client

    memory.add("Likes green tea", user_id="alex", metadata={"topic": "food"}, infer=False)
    memory.add("Flies to Oslo in May", user_id="alex", metadata={"topic": "travel"}, infer=False)
    memory.add("Likes black tea", user_id="bob", metadata={"topic": "food"}, infer=False)
    async with Client(build_server(memory, user_id="alex")) as client:
        food = {"metadata": {"topic": "food"}}
        listed = payload(await client.call_tool("list_memories", {"filters": food}))
        assert [r["memory"] for r in listed["results"]] == ["Likes green tea"]
        # A filter naming another user cannot widen the scope: it is ANDed with it.
        bob = {"user_id": "bob"}
        assert payload(await client.call_tool("list_memories", {"filters": bob}))["count"] == 0
        hits = payload(
            await client.call_tool("search_memories", {"query": "tea", "filters": {"NOT": [food]}})
        )
        assert [hit["metadata"]["topic"] for hit in hits["results"]] in ([], ["travel"])
        paged = payload(await client.call_tool("list_memories", {"page_size": 1, "page": 2}))
        assert paged["count"] == 2 and paged["previous"] == 1 and len(paged["results"]) == 1


async def test_update_and_delete_all_stay_in_scope(memory: Memory) -> None:
    from mcp import Client

    bob = memory.add("Plays chess", user_id="bob", infer=False).results[0].id
    async with Client(build_server(memory, user_id="alex")) as client:
        added = payload(await client.call_tool("add_memory", {"text": "Likes tea", "infer": False}))
        alex = added["results"][0]["id"]
        updated = payload(
            await client.call_tool("update_memory", {"memory_id": alex, "text": "Likes coffee"})
        )
        assert updated["memory"] == "Likes coffee"
        refused = await client.call_tool("update_memory", {"memory_id": bob, "text": "Quits"})
        assert "MemoryNotFoundError" in tool_error(refused)

        unconfirmed = tool_error(await client.call_tool("delete_all_memories", {}))
        assert "confirm=true" in unconfirmed
        assert memory.get_all(user_id="alex").count == 1
        done = payload(await client.call_tool("delete_all_memories", {"confirm": True}))
        assert done["count"] == 1
    assert memory.get_all(user_id="alex").count == 0
    assert memory.get(bob).memory == "Plays chess"


async def test_a_user_and_agent_scope_holds_both_sides(memory: Memory) -> None:
    """With both ids, add keeps the user's words under the user and the agent's under the
    agent (DESIGN.md); the tools see both, and not another user's."""
    from mcp import Client

    memory.add("Is allergic to nuts", user_id="bob", infer=False)
    server = build_server(memory, user_id="alex", agent_id="helper")
    conversation = [
        {"role": "user", "content": "My sister lives in Porto"},
        {"role": "assistant", "content": "I will answer in Portuguese from now on"},
    ]
    async with Client(server) as client:
        added = payload(
            await client.call_tool("add_memory", {"messages": conversation, "infer": False})
        )
        owners = {(e["user_id"], e["agent_id"]) for e in added["results"]}
        assert owners == {(None, "helper"), ("alex", None)}
        listed = payload(await client.call_tool("list_memories", {}))
        assert listed["count"] == 2
        hits = payload(await client.call_tool("search_memories", {"query": "nuts allergic"}))
        assert all(hit["user_id"] != "bob" for hit in hits["results"])
        done = payload(await client.call_tool("delete_all_memories", {"confirm": True}))
        assert done["count"] == 2
    assert memory.get_all(user_id="bob").count == 1


async def test_tools_tell_an_agent_what_they_do(memory: Memory) -> None:
    from mcp import Client

    async with Client(build_server(memory, run_id="r1")) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == TOOLS
    for name in ("search_memories", "list_memories", "get_memory"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.read_only_hint
    for name in ("delete_memory", "delete_all_memories"):
        annotations = tools[name].annotations
        assert annotations is not None and annotations.destructive_hint
    assert "before answering" in (tools["search_memories"].description or "")
    assert tools["get_memory"].input_schema["required"] == ["memory_id"]


async def test_tools_on_a_memkit_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``memory`` may be memkit's MemoryClient: the same tools on a ``memkit serve``."""
    from mcp import Client

    from memkit.client import MemoryClient
    from memkit.server import ServerSettings
    from memkit.testing.live_server import LiveServer

    monkeypatch.setenv("MEM0_TELEMETRY", "False")
    with (
        LiveServer(ServerSettings(home=tmp_path / "server")) as live,
        MemoryClient(api_key=live.new_key("proj_a"), host=live.url) as remote,
    ):
        bob = remote.add("Plays chess", user_id="bob", infer=False).results[0].id
        async with Client(build_server(remote, user_id="alex")) as client:
            added = payload(
                await client.call_tool("add_memory", {"text": "Likes tea", "infer": False})
            )
            alex = added["results"][0]["id"]
            found = payload(await client.call_tool("search_memories", {"query": "tea"}))
            assert [hit["id"] for hit in found["results"]] == [alex]
            refused = tool_error(await client.call_tool("delete_memory", {"memory_id": bob}))
            assert "MemoryNotFoundError" in refused
            done = payload(await client.call_tool("delete_all_memories", {"confirm": True}))
            assert done["count"] == 1
        assert remote.get(bob).memory == "Plays chess"
        assert remote.get_all(user_id="alex").count == 0
