"""``memkit serve`` and ``memkit keys``: a memkit server over one directory, and its keys.

Both resolve the same ``ServerSettings``: ``--home`` (else ``$MEMKIT_SERVER_HOME``, else
``<memkit home>/server``), ``--database-url`` for the server's own tables, and the global
``--config`` JSON as the template every project's ``Memory`` is made from. So the keys a
``memkit keys create`` writes are the ones the ``memkit serve`` on the same home checks.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from memkit.cli._app import app
from memkit.cli._common import (
    console,
    emit_json,
    error_console,
    fail,
    id_column,
    load_config,
    one_line_errors,
    settings,
)

HOME_ENV = "MEMKIT_SERVER_HOME"

Home = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar=HOME_ENV,
        help="the server's directory: keys, webhooks, embedded project stores "
        "(default: <memkit home>/server)",
    ),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="SQLAlchemy URL of the server's own tables (default: the template's "
        "PostgreSQL, else SQLite under --home)",
    ),
]

keys_app = typer.Typer(
    name="keys",
    help="API keys of a memkit server: create, list and revoke (shown once, stored hashed).",
    no_args_is_help=True,
)
app.add_typer(keys_app)


def server_settings(ctx: typer.Context, home: Path | None, database_url: str | None) -> Any:
    """The ``ServerSettings`` the options name (typed ``Any``: the server extra is optional)."""
    server = _server_module()
    options = settings(ctx)
    data: dict[str, Any] = {}
    if home is not None:
        data["home"] = str(home)
    if options.config is not None:
        data["memory"] = load_config(options.config)
    if database_url is not None:
        data["database_url"] = database_url
    with one_line_errors():
        return server.ServerSettings.load(data)


def _server_module() -> Any:
    """``memkit.server``, imported late: the rest of the CLI works without the extra."""
    with one_line_errors():
        import memkit.server as server
    return server


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="worker processes (more than 1 needs Chroma + PostgreSQL)"
        ),
    ] = 1,
    home: Home = None,
    database_url: DatabaseUrl = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level")] = "info",
) -> None:
    """Run the memkit server: the hosted platform's REST API, one store per project.

    Each project's Memory is made from the global --config (memkit --config FILE serve).

    With a Chroma server and PostgreSQL in it, --workers N share the stores.
    """
    server = _server_module()
    options = server_settings(ctx, home, database_url)
    if workers > 1 and not options.shared_backends:
        fail(
            f"--workers {workers} needs a --config with a Chroma server and PostgreSQL: "
            "embedded stores belong to one process"
        )
    import uvicorn

    err = error_console()
    if not _is_loopback(host):
        err.print(f"warning: listening on {host}, not loopback: anyone who can reach it may try")
    shown = f"[{host}]" if ":" in host else host
    err.print(f"memkit server on http://{shown}:{port} (home {options.home}, {workers} worker(s))")
    err.print(f"make a key: memkit keys create --project myapp --home {options.home}")
    with one_line_errors():
        if workers == 1:
            uvicorn.run(server.create_app(options), host=host, port=port, log_level=log_level)
            return
        os.environ[server.SETTINGS_ENV] = options.to_env()
        uvicorn.run(
            "memkit.server:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
        )


def _key_row(key: Any) -> dict[str, Any]:
    row: dict[str, Any] = key.model_dump(mode="json")
    row["revoked"] = key.revoked
    return row


@contextmanager
def _keys(ctx: typer.Context, home: Path | None, database_url: str | None) -> Iterator[Any]:
    """The server's ``KeyStore`` (typed ``Any``: the server extra is optional), closed
    after; its errors are one line."""
    options = server_settings(ctx, home, database_url)
    with one_line_errors():
        options.home.mkdir(parents=True, exist_ok=True)
        store = _server_module().KeyStore(options.keys_url())
        try:
            yield store
        finally:
            store.close()


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    project: Annotated[str, typer.Option("--project", help="the key's project (made if new)")],
    name: Annotated[str, typer.Option("--name", help="a label to tell keys apart")] = "default",
    home: Home = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key for a project; the key is printed once and never stored."""
    with _keys(ctx, home, database_url) as store:
        key, secret = store.create_key(project, name)
    if settings(ctx).json:
        emit_json({**_key_row(key), "key": secret})
        return
    output = console()
    output.print(f"key: {secret}", highlight=False)
    output.print(f"id: {key.id}  project: {key.project_id}  name: {key.name}", highlight=False)
    output.print("Keep the key now: it is shown only once.")


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option("--project", help="only this project")] = None,
    home: Home = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every key (or a project's), revoked ones included; never the keys themselves."""
    with _keys(ctx, home, database_url) as store:
        keys = store.list_keys(project)
    if settings(ctx).json:
        emit_json([_key_row(key) for key in keys])
        return
    table = Table(id_column(), "project", "name", "prefix", "created", "revoked")
    for key in keys:
        table.add_row(
            key.id,
            key.project_id,
            key.name,
            key.prefix + "…",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console().print(table if keys else "No API keys yet: memkit keys create --project NAME")


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="the key's id (from `memkit keys list`)")],
    home: Home = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: every request sending it is refused from now on."""
    with _keys(ctx, home, database_url) as store:
        key = store.revoke_key(key_id)
    if settings(ctx).json:
        emit_json(_key_row(key))
    else:
        console().print(f"Revoked key {key.id} of project {key.project_id}", highlight=False)
