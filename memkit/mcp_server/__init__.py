"""memkit over the Model Context Protocol (the ``mcp`` extra): memory tools for any MCP
client, bound to one user, agent, app or run.

    from memkit import Memory
    from memkit.mcp_server import build_server, serve

    serve(build_server(Memory(), user_id="alex"))              # stdio
    serve(build_server(Memory(), user_id="alex"), "http")      # http://127.0.0.1:8765/mcp

or from the shell: ``memkit mcp --user-id alex [--transport http --port 8765]``, which is
what a desktop client's configuration names:

    {"mcpServers": {"memkit": {"command": "memkit", "args": ["mcp", "--user-id", "alex"]}}}

The tools: add_memory, search_memories, list_memories, get_memory, update_memory,
delete_memory, delete_all_memories; each acts only in the configured scope (``ToolScope``).
"""

from __future__ import annotations

try:
    import mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from memkit.errors import MissingDependencyError

    raise MissingDependencyError(
        "memkit's MCP server needs the official MCP SDK: pip install 'memkit[mcp]'"
    ) from exc

from memkit.mcp_server._scope import ToolScope
from memkit.mcp_server._serve import DEFAULT_HOST, DEFAULT_PORT, Transport, http_url, serve
from memkit.mcp_server._tools import MemoryLike, build_server

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "MemoryLike",
    "ToolScope",
    "Transport",
    "build_server",
    "http_url",
    "serve",
]
