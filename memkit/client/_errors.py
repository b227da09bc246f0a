"""The client's own failures: the ones an embedded ``Memory`` cannot have.

Everything the server reports as a memkit error is raised as that very type
(``memkit.client._wire.rebuild_error``); these cover the link itself.
"""

from __future__ import annotations

from memkit.errors import ConfigError, MemkitRuntimeError

__all__ = ["AuthenticationError", "ServerError", "ServerUnavailableError"]


class AuthenticationError(ConfigError):
    """No API key, or the server refused it (unknown, revoked, or another project's)."""


class ServerError(MemkitRuntimeError):
    """The server failed in a way that names no memkit error (a 5xx, a proxy's page)."""


class ServerUnavailableError(MemkitRuntimeError):
    """The server could not be reached, or did not answer in time."""
