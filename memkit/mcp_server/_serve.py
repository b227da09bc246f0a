"""Running a tools server on one of MCP's transports.

stdio is what desktop clients and IDEs spawn: the protocol owns stdout, so nothing else may
be printed there (the SDK moves file descriptor 1 aside while it serves, and logs go to
stderr). Streamable HTTP serves ``http://HOST:PORT/mcp`` and binds loopback by default:
the tools carry no authentication of their own, so a wider bind is the caller's choice
(``memkit serve`` is the server with API keys).
"""

from __future__ import annotations

from typing import Literal

from mcp.server.mcpserver import MCPServer

from memkit.errors import InvalidInputError

Transport = Literal["stdio", "http"]
TRANSPORTS: tuple[Transport, ...] = ("stdio", "http")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
HTTP_PATH = "/mcp"


def serve(
    server: MCPServer,
    transport: Transport = "stdio",
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
) -> None:
    """Serve until the client closes stdin (stdio) or the process is interrupted (http)."""
    if transport == "stdio":
        server.run("stdio")
    elif transport == "http":
        if not 0 < port < 65536:
            raise InvalidInputError(f"port must be between 1 and 65535, got {port}")
        server.run("streamable-http", host=host, port=port, streamable_http_path=HTTP_PATH)
    else:
        raise InvalidInputError(
            f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}"
        )


def http_url(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> str:
    """Where a streamable HTTP client connects."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{HTTP_PATH}"
