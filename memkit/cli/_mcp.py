"""``memkit mcp``: the store's memories as MCP tools for one user, agent, app or run.

    memkit mcp --user-id alex                                  # stdio, for a desktop client
    memkit mcp --user-id alex --transport http --port 8765     # http://127.0.0.1:8765/mcp

The store is the global ``--path`` / ``--config`` one (also accepted after ``mcp``), opened
once for the server's life.
Over stdio the protocol owns stdout: the store is opened with Python's stdout sent to
stderr, and everything said to a person goes to stderr.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack, redirect_stdout
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from memkit.cli._app import app
from memkit.cli._common import fail, one_line_errors, open_memory, settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class TransportChoice(StrEnum):
    stdio = "stdio"
    http = "http"


@app.command("mcp")
def mcp_command(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user-id", "--user", "-u", help="user id")] = None,
    agent: Annotated[str | None, typer.Option("--agent-id", "--agent", help="agent id")] = None,
    app_id: Annotated[str | None, typer.Option("--app-id", "--app", help="app id")] = None,
    run: Annotated[str | None, typer.Option("--run-id", "--run", help="run id")] = None,
    transport: Annotated[
        TransportChoice,
        typer.Option("--transport", "-t", help="stdio (spawned by a client) or streamable http"),
    ] = TransportChoice.stdio,
    host: Annotated[
        str, typer.Option("--host", help="http: the address to bind (loopback by default)")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="http: the port to listen on")] = 8765,
    path: Annotated[
        Path | None, typer.Option("--path", help="store directory (as memkit --path)")
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Memory configuration JSON (as memkit --config)")
    ] = None,
) -> None:
    """Serve memory tools (add, search, list, get, update, delete) to an MCP client.

    The tools work in one scope: --user-id, --agent-id, --app-id and/or --run-id.

    On a server instead of a local store: memkit --host URL --api-key KEY mcp --user-id alex
    """
    try:
        from memkit.mcp_server import ToolScope, build_server, http_url, serve
    except ImportError as exc:
        fail(str(exc))
    _store_options(ctx, path, config)
    with one_line_errors():
        scope = ToolScope.of(user_id=user, agent_id=agent, app_id=app_id, run_id=run)
    if transport is TransportChoice.http:
        if not 0 < port < 65536:
            fail(f"--port must be between 1 and 65535, got {port}")
        if host not in LOOPBACK:
            typer.echo(
                f"memkit: warning: the MCP tools have no authentication and {host} is not "
                "loopback; anyone who reaches it can read and delete these memories",
                err=True,
            )
    with ExitStack() as stack:
        with redirect_stdout(sys.stderr):
            memory = stack.enter_context(open_memory(ctx))
        server = build_server(memory, **scope.ids())
        if transport is TransportChoice.stdio:
            serve(server, "stdio")
        else:
            typer.echo(
                f"memkit: MCP tools for {scope.describe()} at {http_url(host, port)}", err=True
            )
            serve(server, "http", host=host, port=port)


def _store_options(ctx: typer.Context, path: Path | None, config: Path | None) -> None:
    """``--path`` / ``--config`` given after ``mcp`` (where an MCP client's configuration
    usually puts them) count as the global options."""
    if path is None and config is None:
        return
    root = ctx.find_root()
    current = settings(ctx)
    root.obj = replace(current, path=path or current.path, config=config or current.config)
