"""``/v1/memkit/``: every ``Memory`` method, called as given, for memkit's own client.

The platform's routes speak the platform's shapes and defaults (its client queues adds,
its reset deletes entity by entity). memkit's ``MemoryClient`` promises the embedded
``Memory``'s exact behaviour instead, results and errors alike, so it calls the method
itself: ``POST /v1/memkit/<method>/`` with the keyword arguments as a JSON object (values
JSON cannot say are tagged: ``memkit.client._wire``). The answer is the result's JSON with
its model's name; a memkit error is its class name, message and attributes, with the
status code the platform routes use for it.

``export`` answers with the JSON Lines themselves (``application/x-ndjson``; the
``ExportResult`` in the ``X-Memkit-Result`` header) instead of writing a server file, and
``import_`` takes the lines in the body: no route touches the server's files.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from memkit.client._wire import RESULT_HEADER, decode_arguments, encode_error, encode_result
from memkit.errors import InvalidInputError, MemkitError
from memkit.models import ID_FIELDS
from memkit.server._auth import Project, ProjectDep
from memkit.server._errors import status_for
from memkit.server._platform_events import (
    publish_add,
    publish_bulk_delete,
    publish_deleted,
    publish_update,
    publish_updates,
)

__all__ = ["Operation", "router"]

router = APIRouter(prefix="/v1/memkit", tags=["memkit"])


class Operation(StrEnum):
    """The ``Memory`` methods a client may call (every public one but ``close``)."""

    add = "add"
    search = "search"
    get_all = "get_all"
    get = "get"
    update = "update"
    batch_update = "batch_update"
    batch_delete = "batch_delete"
    history = "history"
    users = "users"
    delete = "delete"
    delete_all = "delete_all"
    delete_users = "delete_users"
    reset = "reset"
    append_messages = "append_messages"
    get_messages = "get_messages"
    clear_messages = "clear_messages"
    activity = "activity"
    check = "check"
    pending = "pending"
    replay = "replay"
    usage = "usage"
    export = "export"
    import_ = "import_"
    create_memory_export = "create_memory_export"
    get_memory_export = "get_memory_export"


_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "the method's keyword arguments, by name",
                    "additionalProperties": True,
                }
            }
        },
    }
}


async def _arguments(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)  # NaN and Infinity included: Memory's checks refuse them
    except ValueError as exc:
        raise InvalidInputError(f"the request body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInputError("the request body is nested too deeply") from exc
    return decode_arguments(body)


def _refused(exc: Exception, status: int) -> JSONResponse:
    return JSONResponse(status_code=status, content=encode_error(exc))


@router.post(
    "/{operation}/",
    summary="Call one Memory method with its keyword arguments",
    openapi_extra=_BODY,
)
async def call(operation: Operation, request: Request, project: ProjectDep) -> Response:
    try:
        arguments = await _arguments(request)
    except MemkitError as exc:
        return _refused(exc, status_for(exc))
    return await run_in_threadpool(_run, project, operation, arguments)


def _run(project: Project, operation: Operation, arguments: dict[str, Any]) -> Response:
    """The call, on a worker thread (Memory blocks), answered as the client expects."""
    output: io.StringIO | None = None
    if operation is Operation.export:
        output = io.StringIO()
        arguments["destination"] = output
    elif operation is Operation.import_:
        source = arguments.get("source")
        # A path (or anything but the lines) would be read from the server's own disk:
        # another project's backup, or any file's existence. The client sends the lines.
        if not (isinstance(source, list) and all(isinstance(line, str) for line in source)):
            refused = InvalidInputError(
                "import_'s source must be the file's lines (a JSON array of strings): "
                "the server reads no files"
            )
            return _refused(refused, 400)
    method = getattr(project.memory, operation.value)
    before = project.memory.get_all(page_size=1).count if operation is Operation.reset else 0
    try:
        result = method(**arguments)
    except MemkitError as exc:
        return _refused(exc, status_for(exc))
    except (TypeError, ValueError, LookupError) as exc:
        return _refused(exc, 400)
    body = encode_result(result)
    if operation is Operation.reset:
        publish_bulk_delete(project, {}, before)
    else:
        _publish(project, operation, arguments, result)
    if output is not None:
        return Response(
            content=output.getvalue(),
            media_type="application/x-ndjson",
            headers={RESULT_HEADER: json.dumps(body)},  # ASCII: json escapes the rest
        )
    return JSONResponse(content=body)


def _publish(
    project: Project, operation: Operation, arguments: dict[str, Any], result: Any
) -> None:
    """The webhook events of a write, exactly as the platform's routes send them
    (``_platform_events``), so a subscriber cannot tell which client wrote."""
    if operation in (Operation.add, Operation.replay):
        publish_add(project, result)
    elif operation is Operation.update:
        publish_update(project, result)
    elif operation is Operation.batch_update:
        publish_updates(project, arguments["memories"])
    elif operation is Operation.delete:
        publish_deleted(project, [arguments["memory_id"]])
    elif operation is Operation.batch_delete:
        publish_deleted(project, [str(item["memory_id"]) for item in arguments["memories"]])
    elif operation in (Operation.delete_all, Operation.delete_users):
        selection = {k: arguments[k] for k in (*ID_FIELDS, "filters") if arguments.get(k)}
        publish_bulk_delete(project, selection, result.count)
