"""``/v1/memkit/``: every ``Memory`` method, called as given, for memkit's own client.

The platform's routes speak the platform's shapes and defaults (its client queues adds,
its reset deletes entity by entity). memkit's ``MemoryClient`` promises the embedded
``Memory``'s exact behaviour instead, results and errors alike, so it calls the method
itself: ``POST /v1/memkit/<method>/`` with the keyword arguments as a JSON object (values
JSON cannot say are tagged: ``memkit.client._wire``). The answer is the result's JSON with
its model's name; a memkit error is its class name, message and attributes, with the
status code the platform routes use for it.

``export`` writes into the answer (``output``: the JSON Lines) instead of a server file,
and ``import_`` reads the lines from the body: no route touches the server's files.
"""

from __future__ import annotations

import io
import json
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from memkit.client._wire import decode_arguments, encode_error, encode_result
from memkit.errors import InvalidInputError, MemkitError
from memkit.server._auth import Project, ProjectDep
from memkit.server._errors import status_for
from memkit.server._events import EventType

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


# Webhook events of the writing operations (the platform's three kinds).
_EVENTS: dict[Operation, EventType] = {
    Operation.add: "memory_add",
    Operation.replay: "memory_add",
    Operation.import_: "memory_add",
    Operation.update: "memory_update",
    Operation.batch_update: "memory_update",
    Operation.delete: "memory_delete",
    Operation.batch_delete: "memory_delete",
    Operation.delete_all: "memory_delete",
    Operation.delete_users: "memory_delete",
    Operation.reset: "memory_delete",
}

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
    return decode_arguments(body)


def _refused(exc: Exception, status: int) -> JSONResponse:
    return JSONResponse(status_code=status, content=encode_error(exc))


@router.post(
    "/{operation}/",
    summary="Call one Memory method with its keyword arguments",
    openapi_extra=_BODY,
)
async def call(operation: Operation, request: Request, project: ProjectDep) -> JSONResponse:
    try:
        arguments = await _arguments(request)
    except MemkitError as exc:
        return _refused(exc, status_for(exc))
    return await run_in_threadpool(_run, project, operation, arguments)


def _run(project: Project, operation: Operation, arguments: dict[str, Any]) -> JSONResponse:
    """The call, on a worker thread (Memory blocks), answered as the client expects."""
    output: io.StringIO | None = None
    if operation is Operation.export:
        output = io.StringIO()
        arguments["destination"] = output
    method = getattr(project.memory, operation.value)
    try:
        result = method(**arguments)
    except MemkitError as exc:
        return _refused(exc, status_for(exc))
    except (TypeError, ValueError, LookupError) as exc:
        return _refused(exc, 400)
    body = encode_result(result)
    if output is not None:
        body["output"] = output.getvalue()
    event = _EVENTS.get(operation)
    if event is not None:
        project.publish(event, {"operation": operation.value, "result": body["value"]})
    return JSONResponse(content=body)
