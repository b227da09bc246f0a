"""What crosses the wire between ``MemoryClient`` and the server's ``/v1/memkit/`` routes.

The client promises the embedded ``Memory``'s behaviour, errors included, so arguments
travel as they were given: plain JSON where JSON says the same thing, and a tagged object
(``{"$memkit": kind, ...}``) where it would not (a ``datetime``, a ``date``, "leave it
as it is", a value JSON cannot hold). The server turns tags back into those values and
calls ``Memory`` with them, so ``Memory``'s own checks decide, on both sides alike: a
metadata value JSON cannot hold reaches them as an object of a foreign type, and is
refused there with the same error type it would be refused with in process.

Results travel as the model's JSON with its class name, and errors as the exception's
class name, message and attributes; both are rebuilt into the real types here.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from memkit import errors, models
from memkit.options import KEEP, Keep

__all__ = [
    "ERROR_ATTRIBUTES",
    "RESULT_HEADER",
    "Opaque",
    "decode_arguments",
    "decode_result",
    "encode_arguments",
    "encode_error",
    "encode_result",
    "rebuild_error",
]

TAG = "$memkit"
# export's answer is the JSON Lines; its result travels in this header.
RESULT_HEADER = "X-Memkit-Result"
# Attributes memkit's exceptions carry beside their message (errors.py).
ERROR_ATTRIBUTES = ("memory_id", "pending_id", "usage", "path", "reason", "line", "field")
# Builtin errors a Memory call may raise for a call memkit does not check itself.
_BUILTIN_ERRORS: dict[str, type[Exception]] = {
    "TypeError": builtins.TypeError,
    "ValueError": builtins.ValueError,
    "KeyError": builtins.KeyError,
    "LookupError": builtins.LookupError,
}
# Results whose rows carry datetimes (activity, pending): turned back into datetimes.
_DATETIME_KEYS = ("created_at",)


class Opaque:
    """A value the client could not put into JSON, standing in for it on the server: its
    type is foreign to every check, so ``Memory`` refuses it as it refuses the original."""

    def __init__(self, type_name: str, text: str) -> None:
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return self.text


# ---- arguments ----------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Keep):
        return {TAG: "keep"}
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, date):
        return {TAG: "date", "value": value.isoformat()}
    if isinstance(value, type) and issubclass(value, BaseModel):
        # A schema given as a model class (create_memory_export): its JSON schema.
        return {TAG: "schema", "value": value.model_json_schema()}
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        encoded = {k: _encode(v) for k, v in value.items()}
        return {TAG: "dict", "value": encoded} if TAG in value else encoded
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    return {TAG: "opaque", "type": type(value).__name__, "repr": repr(value)}


def encode_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _encode(value) for name, value in arguments.items()}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    kind = value.get(TAG)
    if kind is None:
        return {k: _decode(v) for k, v in value.items()}
    if kind == "keep":
        return KEEP
    if kind == "datetime":
        return datetime.fromisoformat(value["value"])
    if kind == "date":
        return date.fromisoformat(value["value"])
    if kind == "schema":
        return value["value"]
    if kind == "dict":
        return {k: _decode(v) for k, v in value["value"].items()}
    return Opaque(str(value.get("type")), str(value.get("repr")))


def decode_arguments(body: Any) -> dict[str, Any]:
    """The server's side: a request body back into arguments. A malformed tag is the
    caller's mistake (400), never the server's."""
    if not isinstance(body, dict) or not all(isinstance(k, str) for k in body):
        raise errors.InvalidInputError("the request body must be a JSON object of arguments")
    try:
        return {name: _decode(value) for name, value in body.items()}
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise errors.InvalidInputError(f"a tagged argument ({TAG}) is malformed: {exc}") from exc
    except RecursionError as exc:
        raise errors.InvalidInputError("the arguments are nested too deeply") from exc


# ---- results ------------------------------------------------------------------------------


def encode_result(value: Any) -> dict[str, Any]:
    """``{"model": name, "many": bool, "value": json}``, or ``{"value": json}`` for plain data."""
    if isinstance(value, BaseModel):
        return {"model": type(value).__name__, "value": value.model_dump(mode="json")}
    if isinstance(value, list) and value and all(isinstance(v, BaseModel) for v in value):
        kinds = {type(v).__name__ for v in value}
        if len(kinds) == 1:
            return {
                "model": kinds.pop(),
                "many": True,
                "value": [v.model_dump(mode="json") for v in value],
            }
    return {"value": _plain(value)}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {TAG: "datetime", "value": value.isoformat()}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _model(name: Any) -> type[BaseModel]:
    model = getattr(models, str(name), None)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise errors.MemkitRuntimeError(f"the server answered with an unknown result {name!r}")
    return model


def decode_result(body: Any) -> Any:
    if not isinstance(body, dict) or "value" not in body:
        raise errors.MemkitRuntimeError("the server's answer is not a memkit result")
    value = body["value"]
    if "model" not in body:
        return _decode(value)
    model = _model(body["model"])
    if body.get("many"):
        return [model.model_validate(v) for v in value]
    return model.model_validate(value)


# ---- errors -------------------------------------------------------------------------------


def encode_error(exc: Exception) -> dict[str, Any]:
    attributes = {
        name: _plain(getattr(exc, name)) for name in ERROR_ATTRIBUTES if hasattr(exc, name)
    }
    return {
        "detail": " ".join(str(exc).split()),
        "error": type(exc).__name__,
        "message": str(exc),
        "attributes": attributes,
    }


def _error_class(name: Any) -> type[Exception] | None:
    found = getattr(errors, str(name), None)
    if isinstance(found, type) and issubclass(found, errors.MemkitError):
        return found
    return _BUILTIN_ERRORS.get(str(name))


def rebuild_error(body: Any, fallback: type[Exception]) -> Exception:
    """The exception the server's body names, with its message and attributes; a body
    that names none (or one memkit does not know) gives ``fallback``."""
    if not isinstance(body, dict):
        return fallback(str(body))
    message = str(body.get("message") or body.get("detail") or "the server refused the call")
    kind = _error_class(body.get("error"))
    if kind is None:
        return fallback(message)
    # The class's own __init__ would format the message again: set it as it was sent.
    exc = kind.__new__(kind)
    Exception.__init__(exc, message)
    attributes = body.get("attributes")
    for name, value in (attributes if isinstance(attributes, dict) else {}).items():
        if name in ERROR_ATTRIBUTES:
            setattr(exc, name, tuple(value) if name == "path" else value)
    return exc
