"""The rest of ``Memory``'s calls: batches, deleting scopes and entities, reset, and the
store's own bookkeeping (activity, health, kept extractions, LLM usage).

Like ``_memories``, each command is one public ``Memory`` call with its options parsed;
the destructive ones (``delete-all``, ``delete-users``, ``reset``) ask first unless
``--yes``, on stderr, so ``--json`` output stays clean.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from memkit.cli._app import app
from memkit.cli._common import (
    Agent,
    App,
    Filters,
    Run,
    User,
    Yes,
    confirm,
    console,
    emit_json,
    entity,
    error_console,
    fail,
    id_column,
    json_object,
    json_option,
    open_memory,
    scope_ids,
    settings,
    show_add_result,
    show_message_result,
    when,
)

BatchSource = Annotated[
    str, typer.Argument(help="a JSON file holding a list of items, or - for stdin")
]
ENTITY_TYPES = ("user", "agent", "app", "run")
TOKENS = ("prompt_tokens", "completion_tokens")


def read_json_source(source: str, what: str) -> Any:
    """The JSON in a file, or on stdin for ``-``; one line naming the source if it is not."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"{what} {source}: {exc.strerror or exc}")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail(f"{what} {source}: not JSON ({exc.msg} at line {exc.lineno})")


def _items(source: str) -> list[Any]:
    items = read_json_source(source, "batch")
    if not isinstance(items, list):
        fail(f"batch {source}: expected a JSON list of items")
    return items


@app.command("batch-update")
def batch_update(ctx: typer.Context, source: BatchSource) -> None:
    """Update up to 1000 memories at once, all or nothing.

    Items: {"memory_id": ..., "text"?: ..., "metadata"?: {...}, "expiration_date"?: ...}.
    """
    items = _items(source)
    with open_memory(ctx) as memory:
        result = memory.batch_update(items)
    show_message_result(ctx, result)


@app.command("batch-delete")
def batch_delete(ctx: typer.Context, source: BatchSource) -> None:
    """Delete up to 1000 memories at once, all or nothing (an unknown id deletes none).

    Items: {"memory_id": ...} or plain id strings.
    """
    items = [{"memory_id": item} if isinstance(item, str) else item for item in _items(source)]
    with open_memory(ctx) as memory:
        result = memory.batch_delete(items)
    show_message_result(ctx, result)


@app.command("delete-all")
def delete_all(
    ctx: typer.Context,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    filters: Filters = None,
    yes: Yes = False,
) -> None:
    """Delete every memory of a scope: ids and/or --filters (which must pin an entity id)."""
    where = json_object(filters, "--filters")
    scope = scope_ids(user, agent, app_id, run)
    if not scope and where is None:
        fail("delete-all needs a scope: --user, --agent, --app, --run or --filters")
    named = entity(scope) + (f" {filters}" if where is not None else "")
    confirm(f"Delete every memory of {named.strip()}?", yes)
    with open_memory(ctx) as memory:
        result = memory.delete_all(filters=where, **scope)
    show_message_result(ctx, result)


@app.command("delete-users")
def delete_users(
    ctx: typer.Context,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    kind: Annotated[
        str | None, typer.Option("--type", help="entity type: user, agent, app or run")
    ] = None,
    entity_id: Annotated[str | None, typer.Option("--id", help="entity id (with --type)")] = None,
    yes: Yes = False,
) -> None:
    """Remove entities with all their memories (the platform's delete entity)."""
    scope = scope_ids(user, agent, app_id, run)
    if (kind is None) != (entity_id is None):
        fail("--type and --id go together")
    if kind is not None and entity_id is not None:
        if kind not in ENTITY_TYPES:
            fail(f"--type {kind!r}: use {', '.join(ENTITY_TYPES)}")
        if f"{kind}_id" in scope:
            fail(f"give the {kind} once: --{kind} or --type {kind} --id")
        scope[f"{kind}_id"] = entity_id
    if not scope:
        fail("name an entity: --user, --agent, --app, --run, or --type with --id")
    confirm(f"Delete {entity(scope)} and all its memories?", yes)
    with open_memory(ctx) as memory:
        result = memory.delete_users(**scope)
    show_message_result(ctx, result)


@app.command()
def reset(ctx: typer.Context, yes: Yes = False) -> None:
    """Delete every memory, its history and the activity log of the store."""
    confirm("Delete every memory of this store, with its history?", yes)
    with open_memory(ctx) as memory:
        result = memory.reset()
    show_message_result(ctx, result)


@app.command()
def activity(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="at most this many")] = 20,
    kind: Annotated[
        str | None, typer.Option("--kind", help="only this operation, e.g. add or search")
    ] = None,
) -> None:
    """The most recent operations, newest first: kind, scope, counts, latency, error."""
    with open_memory(ctx) as memory:
        rows = memory.activity(limit=limit, kind=kind)
    if settings(ctx).json:
        emit_json(rows)
        return
    table = Table("when", "kind", "scope", "counts", "ms", "tokens", "error")
    for row in rows:
        counts = row.get("counts") or {}
        tokens = (counts.get("prompt_tokens") or 0) + (counts.get("completion_tokens") or 0)
        table.add_row(
            when(row["created_at"]),
            str(row["kind"]),
            entity(row.get("scope") or {}),
            " ".join(f"{k}={v}" for k, v in counts.items() if v and k not in TOKENS),
            f"{row['latency_ms']:.0f}" if row.get("latency_ms") is not None else "",
            str(tokens or ""),
            str(row.get("error") or ""),
        )
    console().print(table if rows else "No operations yet.")


@app.command()
def check(
    ctx: typer.Context,
    no_repair: Annotated[
        bool, typer.Option("--no-repair", help="only read: do not replay or reconcile")
    ] = False,
) -> None:
    """The store's health (repairing what it can unless --no-repair); exit 1 when unhealthy."""
    with open_memory(ctx) as memory:
        health = memory.check(repair=not no_repair)
    if settings(ctx).json:
        emit_json(health)
    else:
        table = Table("field", "value", show_header=False)
        for key, value in health.model_dump(mode="json").items():
            table.add_row(key, json.dumps(value) if isinstance(value, dict | list) else str(value))
        console().print(table)
    if not health.healthy:
        fail("the store is not healthy: see the check above (without --no-repair it repairs)")


@app.command()
def pending(ctx: typer.Context) -> None:
    """Adds whose extraction failed for good, kept for `memkit replay`."""
    with open_memory(ctx) as memory:
        rows = memory.pending()
    if settings(ctx).json:
        emit_json(rows)
        return
    table = Table(id_column(), "created", "messages", "error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            when(row.get("created_at")),
            str(len(row.get("messages") or [])),
            str(row.get("error") or ""),
        )
    console().print(table if rows else "Nothing pending.")


@app.command()
def replay(
    ctx: typer.Context,
    pending_id: Annotated[str, typer.Argument(help="a kept add's id (from `memkit pending`)")],
) -> None:
    """Run a kept add again, now that the model is reachable."""
    with open_memory(ctx) as memory:
        result = memory.replay(pending_id)
    show_add_result(ctx, result)


@app.command()
def usage(ctx: typer.Context) -> None:
    """LLM totals over the store's activity: adds, calls, tokens, time waiting."""
    with open_memory(ctx) as memory:
        totals = memory.usage()
    if settings(ctx).json:
        emit_json(totals)
        return
    table = Table("total", "value", show_header=False)
    for key, value in totals.items():
        table.add_row(key, str(value))
    console().print(table)


@app.command("structured-export")
def structured_export(
    ctx: typer.Context,
    schema: Annotated[
        str | None,
        typer.Option("--schema", help="a JSON schema: a file, - for stdin, or inline JSON"),
    ] = None,
    export_id: Annotated[
        str | None, typer.Option("--id", help="fetch an export made earlier, by its id")
    ] = None,
    instructions: Annotated[
        str | None, typer.Option("--instructions", help="guidance for the LLM")
    ] = None,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    filters: Filters = None,
) -> None:
    """The platform's structured export: the LLM fills a JSON schema from the memories."""
    if (schema is None) == (export_id is None):
        fail("give --schema to make an export, or --id to fetch one")
    where = json_object(filters, "--filters")
    scope = scope_ids(user, agent, app_id, run)
    loaded: Any = None
    if schema is not None:
        in_file = schema == "-" or Path(schema).is_file()
        loaded = (
            read_json_source(schema, "--schema") if in_file else json_option(schema, "--schema")
        )
        if not isinstance(loaded, dict):
            fail("--schema must be a JSON object (a JSON schema)")
    with open_memory(ctx) as memory:
        if loaded is not None:
            job = memory.create_memory_export(
                loaded, filters=where, export_instructions=instructions, **scope
            )
            export_id = job.id
            # stdout is the object; the id (for --id against a server) goes to stderr
            error_console().print(f"export id: {export_id}", highlight=False)
        result = memory.get_memory_export(export_id)
    emit_json(result)


messages_app = typer.Typer(
    name="messages",
    help="Session transcripts (short-term memory): append, show and clear.",
    no_args_is_help=True,
)
app.add_typer(messages_app)
Session = Annotated[str, typer.Argument(help="the session's id")]


@messages_app.command("append")
def messages_append(
    ctx: typer.Context,
    session: Session,
    text: Annotated[str | None, typer.Argument(help="one message's text")] = None,
    role: Annotated[str, typer.Option("--role", help="the message's role")] = "user",
    messages: Annotated[
        str | None,
        typer.Option("--messages", help='messages as JSON: [{"role": ..., "content": ...}]'),
    ] = None,
) -> None:
    """Keep messages in a session's transcript (long-term memory is `memkit add`)."""
    if (text is None) == (messages is None):
        fail("give a TEXT or --messages, not both or neither")
    payload: Any = [{"role": role, "content": text}]
    if messages == "-":
        payload = read_json_source(messages, "--messages")
    elif messages is not None:
        payload = json_option(messages, "--messages")
    with open_memory(ctx) as memory:
        memory.append_messages(session, payload)
        count = len(memory.get_messages(session))
    if settings(ctx).json:
        emit_json({"session_id": session, "count": count})
    else:
        console().print(f"Session {session} holds {count} messages", highlight=False)


@messages_app.command("get")
def messages_get(
    ctx: typer.Context,
    session: Session,
    last: Annotated[int | None, typer.Option("--last", help="only the newest N")] = None,
) -> None:
    """A session's transcript, oldest first."""
    with open_memory(ctx) as memory:
        rows = memory.get_messages(session, last=last)
    if settings(ctx).json:
        emit_json([row.model_dump(mode="json") for row in rows])
        return
    table = Table("when", "role", "content")
    for row in rows:
        table.add_row(f"{row.created_at:%Y-%m-%d %H:%M:%S}", row.role, row.content)
    console().print(table if rows else "No messages.")


@messages_app.command("clear")
def messages_clear(ctx: typer.Context, session: Session) -> None:
    """Forget a session's transcript."""
    with open_memory(ctx) as memory:
        memory.clear_messages(session)
    if settings(ctx).json:
        emit_json({"session_id": session, "cleared": True})
    else:
        console().print(f"Cleared session {session}", highlight=False)
