"""The commands on memories: add, search, list, get, history, update and delete.

Each is a call of one public ``Memory`` method with the options parsed and the result shown
as a table, or as the method's own JSON with ``--json``; no decision is made here.
"""

from __future__ import annotations

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
    fail,
    id_column,
    json_object,
    json_option,
    open_memory,
    scope_ids,
    settings,
    show_add_result,
    show_message_result,
)
from memkit.models import MemoryRecord

MemoryId = Annotated[str, typer.Argument(help="the memory's id")]
Metadata = Annotated[str | None, typer.Option("--metadata", help="metadata as a JSON object")]
ExpirationDate = Annotated[
    str | None,
    typer.Option("--expiration-date", help="YYYY-MM-DD: hidden from search and list after it"),
]


@app.command()
def add(
    ctx: typer.Context,
    text: Annotated[str | None, typer.Argument(help="what to remember")] = None,
    messages: Annotated[
        str | None,
        typer.Option("--messages", help='chat messages as JSON: [{"role": ..., "content": ...}]'),
    ] = None,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    metadata: Metadata = None,
    no_infer: Annotated[
        bool, typer.Option("--no-infer", help="store the text verbatim, without extraction")
    ] = False,
    categories: Annotated[
        list[str] | None,
        typer.Option("--category", help="the memories' categories (repeat for several)"),
    ] = None,
    expiration_date: ExpirationDate = None,
    immutable: Annotated[
        bool, typer.Option("--immutable", help="never updated nor deleted by a spoken delete")
    ] = False,
    includes: Annotated[
        str | None, typer.Option("--includes", help="what to keep (steers extraction)")
    ] = None,
    excludes: Annotated[
        str | None, typer.Option("--excludes", help="what never to store (steers extraction)")
    ] = None,
    instructions: Annotated[
        str | None,
        typer.Option("--instructions", help="custom instructions for this add's extraction"),
    ] = None,
) -> None:
    """Remember what a text or a conversation says (needs a --user, --agent, --app or --run)."""
    if (text is None) == (messages is None):
        fail("give a TEXT or --messages, not both or neither")
    payload: Any = text if messages is None else json_option(messages, "--messages")
    meta = json_object(metadata, "--metadata")
    with open_memory(ctx) as memory:
        result = memory.add(
            payload,
            user_id=user,
            agent_id=agent,
            app_id=app_id,
            run_id=run,
            metadata=meta,
            infer=not no_infer,
            categories=categories or None,
            expiration_date=expiration_date,
            immutable=immutable,
            includes=includes,
            excludes=excludes,
            custom_instructions=instructions,
        )
    show_add_result(ctx, result)


@app.command()
def search(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="what to look for")],
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    filters: Filters = None,
    top_k: Annotated[int, typer.Option("--top-k", help="at most this many results")] = 10,
    threshold: Annotated[
        float | None, typer.Option("--threshold", help="leave out scores below this")
    ] = None,
    keyword_search: Annotated[
        bool, typer.Option("--keyword-search", help="favour memories sharing the query's words")
    ] = False,
    rerank: Annotated[
        bool | None, typer.Option("--rerank/--no-rerank", help="rerank the candidates")
    ] = None,
) -> None:
    """The memories most relevant to a query, best first."""
    where = json_object(filters, "--filters")
    with open_memory(ctx) as memory:
        result = memory.search(
            query,
            user_id=user,
            agent_id=agent,
            app_id=app_id,
            run_id=run,
            filters=where,
            top_k=top_k,
            threshold=threshold,
            keyword_search=keyword_search,
            rerank=rerank,
        )
    if settings(ctx).json:
        emit_json(result)
        return
    table = Table("score", id_column(), "memory", "scope")
    for hit in result.results:
        table.add_row(f"{hit.score:.3f}", hit.id, hit.memory, entity(hit.model_dump()))
    console().print(table if result.results else "No memories match.")


@app.command("list")
def list_memories(
    ctx: typer.Context,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    filters: Filters = None,
    page: Annotated[int, typer.Option("--page", help="page number, from 1")] = 1,
    page_size: Annotated[int, typer.Option("--page-size", help="memories per page")] = 20,
    categories: Annotated[
        list[str] | None,
        typer.Option("--category", help="only memories with this category (repeatable)"),
    ] = None,
    keywords: Annotated[
        str | None, typer.Option("--keywords", help="only memories containing these words")
    ] = None,
) -> None:
    """One page of memories, most recently updated first."""
    where = json_object(filters, "--filters")
    with open_memory(ctx) as memory:
        result = memory.get_all(
            filters=where,
            page=page,
            page_size=page_size,
            categories=categories or None,
            keywords=keywords,
            user_id=user,
            agent_id=agent,
            app_id=app_id,
            run_id=run,
        )
    if settings(ctx).json:
        emit_json(result)
        return
    pages = max(1, -(-result.count // result.page_size))
    table = Table(
        id_column(),
        "memory",
        "scope",
        "categories",
        "updated",
        caption=f"page {result.page} of {pages} · {result.count} memories",
    )
    for record in result.results:
        table.add_row(
            record.id,
            record.memory,
            entity(record.model_dump()),
            ", ".join(record.categories),
            f"{record.updated_at:%Y-%m-%d %H:%M}",
        )
    console().print(table)


def _show(record: MemoryRecord) -> None:
    table = Table("field", "value", show_header=False)
    for key, value in record.model_dump(mode="json").items():
        if value not in (None, [], {}):
            table.add_row(key, str(value))
    console().print(table)


@app.command()
def get(ctx: typer.Context, memory_id: MemoryId) -> None:
    """One memory by id."""
    with open_memory(ctx) as memory:
        record = memory.get(memory_id)
    if settings(ctx).json:
        emit_json(record)
    else:
        _show(record)


@app.command()
def history(ctx: typer.Context, memory_id: MemoryId) -> None:
    """Every change to a memory, oldest first (kept after it is deleted)."""
    with open_memory(ctx) as memory:
        entries = memory.history(memory_id)
    if settings(ctx).json:
        emit_json([entry.model_dump(mode="json") for entry in entries])
        return
    table = Table("when", "event", "old", "new")
    for entry in entries:
        table.add_row(
            f"{entry.created_at:%Y-%m-%d %H:%M:%S}",
            entry.event,
            entry.old_memory or "",
            entry.new_memory or "",
        )
    console().print(table)


@app.command()
def update(
    ctx: typer.Context,
    memory_id: MemoryId,
    text: Annotated[str | None, typer.Argument(help="the new text")] = None,
    metadata: Metadata = None,
    expiration_date: Annotated[
        str | None,
        typer.Option("--expiration-date", help="YYYY-MM-DD, or none to clear it"),
    ] = None,
) -> None:
    """Change a memory's text, its metadata (replaced), its expiration date, or several."""
    meta = json_object(metadata, "--metadata")
    if text is None and meta is None and expiration_date is None:
        fail("give a new TEXT, --metadata, --expiration-date, or several")
    with open_memory(ctx) as memory:
        if expiration_date is None:
            record = memory.update(memory_id, text, meta)
        else:
            expires = None if expiration_date.lower() == "none" else expiration_date
            record = memory.update(memory_id, text, meta, expiration_date=expires)
    if settings(ctx).json:
        emit_json(record)
    else:
        _show(record)


@app.command()
def delete(
    ctx: typer.Context,
    memory_id: Annotated[str | None, typer.Argument(help="the memory's id")] = None,
    delete_all: Annotated[
        bool, typer.Option("--all", help="every memory of the given scope")
    ] = False,
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    yes: Yes = False,
) -> None:
    """Delete one memory by id, or with --all every memory of a scope."""
    scope = scope_ids(user, agent, app_id, run)
    if delete_all == (memory_id is not None):
        fail("give a memory id, or --all with a scope")
    if memory_id is not None and scope:
        fail("a memory id is deleted alone; --user/--agent/--app/--run go with --all")
    if delete_all and not scope:
        fail("--all needs a scope: --user, --agent, --app or --run")
    if delete_all:
        confirm(f"Delete every memory of {entity(scope)}?", yes)
    with open_memory(ctx) as memory:
        result = (
            memory.delete(memory_id)
            if memory_id
            else memory.delete_all(user_id=user, agent_id=agent, app_id=app_id, run_id=run)
        )
    show_message_result(ctx, result, unit=" deleted")
