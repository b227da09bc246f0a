"""The commands on the whole store: users, export, import and stats.

Export and import run as one call each (``Memory.export`` / ``Memory.import_`` write or
load the file whole, in one transaction); their progress bar on stderr is measured from
outside, through the stream each is given (``_progress``), so stdout keeps only the result.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Annotated, Literal, cast

import typer
from rich.table import Table

from memkit.cli._app import app
from memkit.cli._common import (
    Agent,
    App,
    Filters,
    Run,
    User,
    console,
    emit_json,
    entity,
    fail,
    json_object,
    open_memory,
    settings,
    when,
)
from memkit.cli._progress import LineCounter, tracked
from memkit.options import text_destination

OnConflict = Literal["newer", "keep", "replace", "error"]  # Memory.import_'s policies
CONFLICT_POLICIES = ("newer", "keep", "replace", "error")

# Recent operations ``stats`` shows; the activity log keeps more (Memory.activity).
RECENT_ACTIVITY = 10


@app.command()
def users(ctx: typer.Context) -> None:
    """Every user, agent, app and run that has memories."""
    with open_memory(ctx) as memory:
        result = memory.users()
    if settings(ctx).json:
        emit_json(result)
        return
    table = Table("type", "id", "memories", "first", "last")
    for info in result.results:
        table.add_row(
            info.type,
            info.id,
            str(info.total_memories),
            f"{info.created_at:%Y-%m-%d %H:%M}",
            f"{info.updated_at:%Y-%m-%d %H:%M}",
        )
    console().print(table)


@app.command()
def export(
    ctx: typer.Context,
    destination: Annotated[Path, typer.Argument(help="the JSON Lines file to write")],
    user: User = None,
    agent: Agent = None,
    app_id: App = None,
    run: Run = None,
    filters: Filters = None,
    no_embeddings: Annotated[
        bool, typer.Option("--no-embeddings", help="leave the vectors out (smaller file)")
    ] = False,
) -> None:
    """Write memories with their history to a file (all of them without a scope: a backup)."""
    where = json_object(filters, "--filters")
    scope = {"user_id": user, "agent_id": agent, "app_id": app_id, "run_id": run}
    with open_memory(ctx) as memory:
        if destination.is_dir() or not destination.parent.is_dir():
            # memkit's own one-line refusal names the problem
            memory.export(destination, filters=where, embeddings=False, **scope)
        total = memory.get_all(filters=where, page_size=1, **scope).count
        with tracked("Exporting", total + 1) as (bar, task), text_destination(destination) as out:
            counted = cast(IO[str], LineCounter(out, lambda lines: bar.advance(task, lines)))
            result = memory.export(counted, filters=where, embeddings=not no_embeddings, **scope)
            bar.update(task, total=result.count + 1, completed=result.count + 1)
    if settings(ctx).json:
        emit_json(result)
    else:
        console().print(f"Exported {result.count} memories to {destination}")


@app.command("import")
def import_(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="a file written by `memkit export`")],
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict",
            help="an id the store holds with other content: newer, keep, replace or error",
        ),
    ] = "newer",
) -> None:
    """Load a file written by export (idempotent: what the store holds as is is skipped)."""
    if on_conflict not in CONFLICT_POLICIES:
        raise typer.BadParameter(
            f"{on_conflict!r}: use {', '.join(CONFLICT_POLICIES)}", param_hint="--on-conflict"
        )
    policy = cast(OnConflict, on_conflict)
    with open_memory(ctx) as memory:
        if not source.is_file():
            memory.import_(source, on_conflict=policy)  # memkit's own one-line refusal
        with (
            tracked("Importing", None) as (bar, task),
            bar.open(source, "r", encoding="utf-8", task_id=task) as lines,
        ):
            try:
                result = memory.import_(lines, on_conflict=policy)
            except UnicodeDecodeError as exc:
                fail(f"InvalidImportError: {source} is not UTF-8 text ({exc.reason})")
    if settings(ctx).json:
        emit_json(result)
        return
    console().print(
        f"Imported {result.total} memories: {result.added} added, {result.replaced} "
        f"replaced, {result.skipped} skipped, {result.conflicts} conflicts"
    )


@app.command()
def stats(
    ctx: typer.Context,
    recent: Annotated[
        int, typer.Option("--recent", help="how many recent operations to show")
    ] = RECENT_ACTIVITY,
) -> None:
    """Memories per entity type and the most recent operations."""
    with open_memory(ctx) as memory:
        total = memory.get_all(page_size=1).count
        entities = memory.users()
        activity = memory.activity(limit=recent)
    kinds = Counter(info.type for info in entities.results)
    per_type: Counter[str] = Counter()
    for info in entities.results:
        per_type[info.type] += info.total_memories
    if settings(ctx).json:
        emit_json(
            {
                "total_memories": total,
                "entities": dict(kinds),
                "memories": dict(per_type),
                "activity": activity,
            }
        )
        return
    counts = Table("type", "entities", "memories", title=f"{total} memories")
    for kind in sorted(kinds):
        counts.add_row(kind, str(kinds[kind]), str(per_type[kind]))
    recent_ops = Table("when", "kind", "scope", "counts", "ms", "error", title="Recent activity")
    for row in activity:
        recent_ops.add_row(
            when(row["created_at"]),
            str(row["kind"]),
            entity(row.get("scope") or {}),
            " ".join(f"{k}={v}" for k, v in (row.get("counts") or {}).items() if v),
            f"{row['latency_ms']:.0f}" if row.get("latency_ms") is not None else "",
            str(row.get("error") or ""),
        )
    output = console()
    output.print(counts)
    output.print(recent_ops)
