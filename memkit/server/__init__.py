"""memkit's server (the ``server`` extra): the hosted platform's REST API on your machine.

    memkit keys create --project myapp      # prints a key once
    memkit serve --port 8000

then ``MemoryClient(api_key=key, host="http://127.0.0.1:8000")``, from memkit or from the
platform's own ``mem0ai`` package. Modules: ``_settings`` (what a server is started with),
``_keys`` (hashed API keys), ``_projects`` (a store per project), ``_auth`` (every route's
key check), ``_errors`` (typed errors as status codes), ``_events`` (what webhooks hear),
and one module per group of routes.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from memkit.errors import MissingDependencyError

    raise MissingDependencyError(
        "memkit's server needs fastapi and uvicorn: pip install 'memkit[server]'"
    ) from exc

from memkit.server._app import create_app, create_app_from_env
from memkit.server._keys import ApiKey, KeyCheck, KeyStore
from memkit.server._settings import SETTINGS_ENV, ServerSettings
from memkit.server._webhooks import WebhookDispatcher, verify_signature

__all__ = [
    "SETTINGS_ENV",
    "ApiKey",
    "KeyCheck",
    "KeyStore",
    "ServerSettings",
    "WebhookDispatcher",
    "create_app",
    "create_app_from_env",
    "verify_signature",
]
