"""memkit's own client for a ``memkit serve``: ``Memory``'s methods over HTTP.

    from memkit.client import MemoryClient
    memory = MemoryClient(api_key="mk_...", host="http://127.0.0.1:8000")
    memory.add("I'm a vegetarian", user_id="alex")

``MemoryClient`` mirrors ``Memory`` and ``AsyncMemoryClient`` mirrors ``AsyncMemory``:
same methods, parameters, result models and exception types, so moving from the embedded
library to a server changes one line.
"""

from memkit.client._async import AsyncMemoryClient
from memkit.client._errors import AuthenticationError, ServerError, ServerUnavailableError
from memkit.client._sync import MemoryClient

__all__ = [
    "AsyncMemoryClient",
    "AuthenticationError",
    "MemoryClient",
    "ServerError",
    "ServerUnavailableError",
]
