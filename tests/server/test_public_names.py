"""The public names of the server, client, MCP server and the signature types, pinned: a
name added or dropped is a decision, made here on purpose (STYLE.md, public API)."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "memkit.client": [
        "AsyncMemoryClient",
        "AuthenticationError",
        "MemoryClient",
        "ServerError",
        "ServerUnavailableError",
    ],
    "memkit.server": [
        "ApiKey",
        "KeyCheck",
        "KeyStore",
        "SETTINGS_ENV",
        "ServerSettings",
        "WebhookDispatcher",
        "create_app",
        "create_app_from_env",
        "verify_signature",
    ],
    "memkit.mcp_server": [
        "DEFAULT_HOST",
        "DEFAULT_PORT",
        "MemoryLike",
        "ToolScope",
        "Transport",
        "build_server",
        "http_url",
        "serve",
    ],
    "memkit.options": [
        "ConflictPolicy",
        "KEEP",
        "Keep",
        "OutputFormat",
        "V10",
        "V11",
        "check_destination",
        "import_lines",
        "text_destination",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    imported = importlib.import_module(module)
    assert sorted(imported.__all__) == sorted(PUBLIC[module])
    for name in imported.__all__:
        assert hasattr(imported, name), f"{module}.{name} is listed but missing"
