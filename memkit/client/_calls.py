"""One description of every call, shared by ``MemoryClient`` and ``AsyncMemoryClient``.

A client method hands its arguments here and gets a :class:`Call` back: the request to
send and what to do with the answer. The two clients differ only in how they send it
(httpx's ``Client`` or ``AsyncClient``), so their behaviour cannot drift apart.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from memkit.client._errors import AuthenticationError, ServerError
from memkit.client._wire import RESULT_HEADER, decode_result, encode_arguments, rebuild_error
from memkit.errors import InvalidInputError
from memkit.options import check_destination, import_lines, text_destination

__all__ = ["DEFAULT_HOST", "Call", "ClientSettings", "borrow_docstrings", "prepare"]

DEFAULT_HOST = "http://127.0.0.1:8000"
API_KEY_ENV = "MEMKIT_API_KEY"
HOST_ENV = "MEMKIT_HOST"


@dataclass(frozen=True)
class ClientSettings:
    """Where the server is and how to talk to it; the key and host default to the
    environment (``MEMKIT_API_KEY``, ``MEMKIT_HOST``), so code need not hold a secret."""

    base_url: str
    headers: dict[str, str]
    timeout: float

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """TLS verification for https hosts, with one context per process: building it
        reads the CA bundle (~0.1 s), which every new client would pay again. A plain
        http host has no TLS to verify (and redirects are not followed)."""
        return _default_ssl_context() if self.base_url.startswith("https://") else False

    @classmethod
    def resolve(
        cls,
        api_key: str | None,
        host: str | None,
        timeout: float,
        headers: Mapping[str, str] | None,
    ) -> ClientSettings:
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if not key:
            raise AuthenticationError(
                f"no API key: pass api_key= (memkit --api-key) or set {API_KEY_ENV} "
                "(create one with `memkit keys create`)"
            )
        url = host if host is not None else os.environ.get(HOST_ENV, DEFAULT_HOST)
        if not url.startswith(("http://", "https://")):
            raise InvalidInputError(f"host must be an http:// or https:// URL, got {url!r}")
        return cls(
            base_url=url.rstrip("/"),
            headers={**dict(headers or {}), "Authorization": f"Token {key}"},
            timeout=timeout,
        )


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


@dataclass(frozen=True)
class Call:
    """One request and the step that turns its answer into the method's result."""

    path: str
    content: bytes
    finish: Callable[[httpx.Response], Any]

    method: str = "POST"
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)


def _arguments(local_vars: Mapping[str, Any]) -> dict[str, Any]:
    """A method's ``locals()``: its parameters, with ``**platform_options`` spread out."""
    arguments = {k: v for k, v in local_vars.items() if k != "self"}
    extra = arguments.pop("platform_options", None) or {}
    return {**arguments, **extra}


def answer(response: httpx.Response) -> Any:
    """The method's result, or the exception the server reported, as its real type."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code in (401, 403):
        detail = body.get("detail") if isinstance(body, dict) else response.text
        raise AuthenticationError(str(detail or "the server refused the API key"))
    if response.is_error:
        if not isinstance(body, dict):
            raise ServerError(f"the server answered {response.status_code}: {response.text[:200]}")
        raise rebuild_error(body, ServerError)
    return decode_result(body)


def _written(destination: Any, text: str) -> None:
    """The export's lines into a stream as given, or a file written whole or not at all."""
    with text_destination(destination) as out:
        out.write(text)


def _export_finish(destination: Any) -> Callable[[httpx.Response], Any]:
    def finish(response: httpx.Response) -> Any:
        if response.is_error:
            return answer(response)  # raises
        result = decode_result(json.loads(response.headers[RESULT_HEADER]))
        _written(destination, response.text)
        return result

    return finish


def prepare(operation: str, local_vars: Mapping[str, Any]) -> Call:
    """The request for ``Memory.<operation>`` called with these arguments.

    The local parts of a call stay local: ``export`` checks its destination here and
    writes it once the server answers; ``import_`` reads its source here (a path on this
    machine, a stream or lines) and sends the lines.
    """
    arguments = _arguments(local_vars)
    finish: Callable[[httpx.Response], Any] = answer
    if operation == "export":
        destination = arguments.pop("destination")
        check_destination(destination)
        finish = _export_finish(destination)
    elif operation == "import_":
        arguments["source"] = [text for _, text in import_lines(arguments["source"])]
    body = json.dumps(encode_arguments(arguments)).encode()
    return Call(path=f"/v1/memkit/{operation}/", content=body, finish=finish)


def borrow_docstrings(client: type, embedded: type) -> None:
    """Give each client method the docstring of the method it mirrors, so ``help()`` and
    editors say what the call does rather than how it travels."""
    for name, method in vars(client).items():
        mirrored = getattr(embedded, name, None)
        if callable(method) and not name.startswith("_") and mirrored is not None:
            method.__doc__ = method.__doc__ or mirrored.__doc__
