"""memkit's typed errors as HTTP answers: ``{"detail": <one line>, "error": <type>}``.

``detail`` is what the platform's client shows its user; ``error`` names memkit's exception
class so memkit's own client raises the same type the embedded ``Memory`` would.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from memkit.errors import (
    BatchLimitError,
    ExtractionError,
    ImmutableMemoryError,
    MemkitError,
    MemkitRuntimeError,
    MemoryNotFoundError,
    StoreLockedError,
)
from memkit.server._auth import key_from_header

__all__ = ["install_error_handlers", "status_for"]

# Most specific first: the first class the error is an instance of decides.
_STATUS: tuple[tuple[type[MemkitError], int], ...] = (
    (MemoryNotFoundError, 404),
    (ImmutableMemoryError, 409),
    (BatchLimitError, 413),
    (StoreLockedError, 503),
    (ExtractionError, 502),
    (MemkitRuntimeError, 503),
    (MemkitError, 400),
)


def status_for(error: MemkitError) -> int:
    return next(code for kind, code in _STATUS if isinstance(error, kind))


def _location(loc: tuple[object, ...]) -> str:
    return ".".join(str(part) for part in loc) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MemkitError)
    async def _memkit_error(request: Request, exc: MemkitError) -> JSONResponse:
        body = {"detail": " ".join(str(exc).split()), "error": type(exc).__name__}
        return JSONResponse(status_code=status_for(exc), content=body)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI reads the body before the key check runs: a request without a valid key
        # hears 401, not what was wrong with its body.
        try:
            key_from_header(request.app.state.keys, request.headers.get("Authorization"))
        except HTTPException as refused:
            return JSONResponse(
                status_code=refused.status_code,
                content={"detail": refused.detail},
                headers=refused.headers,
            )
        problems = [
            {"loc": _location(tuple(e.get("loc", ()))), "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        detail = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems[:5])
        return JSONResponse(
            status_code=400,
            content={
                "detail": f"invalid request: {detail}",
                "error": "InvalidInputError",
                "errors": problems,
            },
        )
