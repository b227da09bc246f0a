"""memkit's memory as MCP tools, bound to one scope (``build_server``).

Each tool is one call of a ``Memory`` method with the configured ids filled in; its result
is that method's JSON (``model_dump(mode="json")``, the platform's shapes), sent both as
structured content and as JSON text. A bad call (an empty text, a malformed filter, an id
outside the scope) comes back as a tool error (``isError``) carrying memkit's typed error
and its message, ``InvalidFilterError: ... (at AND[1].created_at.gte)``, so the model can
fix its call; nothing else escapes as an error.

``memory`` is anything with ``Memory``'s methods: the embedded ``memkit.Memory`` or the
remote ``memkit.client.MemoryClient``. Tools are synchronous; the SDK runs them in worker threads,
as the server runs ``Memory`` calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal, Protocol

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from memkit.errors import MemkitError, MemoryNotFoundError
from memkit.filters import parse_filter
from memkit.mcp_server._scope import ToolScope

SERVER_NAME = "memkit"
MAX_PAGE_SIZE = 1000  # get_all's own bound
MAX_TOP_K = 100


class MemoryLike(Protocol):
    """The part of ``memkit.Memory``'s API the tools call (``MemoryClient`` has it too)."""

    def add(self, messages: Any, **options: Any) -> Any: ...
    def search(self, query: str, **options: Any) -> Any: ...
    def get_all(self, **options: Any) -> Any: ...
    def get(self, memory_id: str) -> Any: ...
    def update(self, memory_id: str, text: str | None = None) -> Any: ...
    def delete(self, memory_id: str) -> Any: ...
    def delete_all(
        self,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> Any: ...


class ChatMessage(BaseModel):
    """One turn of a conversation to remember from."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant", "system"]
    content: Annotated[str, Field(min_length=1)]


MemoryId = Annotated[str, Field(min_length=1, description="The memory's id, from a tool result.")]
Filters = Annotated[
    dict[str, Any] | None,
    Field(
        description=(
            "Optional v2 filter narrowing the results within your scope, e.g. "
            '{"categories": {"in": ["food_preferences"]}}, {"created_at": {"gte": "2024-07-01"}} '
            'or {"metadata": {"topic": "travel"}}; combine with AND / OR / NOT.'
        )
    ),
]

INSTRUCTIONS = (
    "Long-term memory for {scope}. Search it before answering anything that depends on "
    "what you were told earlier (preferences, facts, plans); add durable facts worth "
    "keeping across conversations; delete a memory when asked to forget it. Every tool "
    "acts only on the memories of this scope."
)


def build_server(
    memory: MemoryLike,
    *,
    user_id: str | None = None,
    agent_id: str | None = None,
    app_id: str | None = None,
    run_id: str | None = None,
) -> MCPServer:
    """An MCP server whose tools add, search, list, get, update and delete the memories of
    one scope (at least one id; ``InvalidInputError`` otherwise).

    >>> from memkit import Memory
    >>> server = build_server(Memory(), user_id="alex")   # doctest: +SKIP
    >>> server.run("stdio")                                # doctest: +SKIP
    """
    scope = ToolScope.of(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    server = MCPServer(
        SERVER_NAME,
        instructions=INSTRUCTIONS.format(scope=scope.describe()),
        log_level="WARNING",
    )
    _register(server, memory, scope)
    return server


def _register(server: MCPServer, memory: MemoryLike, scope: ToolScope) -> None:
    reading = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    deleting = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)

    def in_scope(memory_id: str) -> dict[str, Any]:
        """The memory's record, or the same not-found error for one outside the scope: an
        id of another user's memory tells the caller nothing."""
        record = _json(memory.get(memory_id))
        if not scope.contains(record):
            raise MemoryNotFoundError(memory_id)
        return record

    @server.tool(
        description=(
            "Remember something for later conversations: a fact, preference or plan the user "
            "(or you) stated. Give `text` for one statement, or `messages` for a conversation "
            "to extract memories from. Memories that are already known are not duplicated; "
            "contradicting ones are updated. Returns the events: ADD, UPDATE, DELETE or NONE."
        )
    )
    def add_memory(
        text: Annotated[str | None, Field(description="What to remember, in plain words.")] = None,
        messages: Annotated[
            list[ChatMessage] | None,
            Field(description="A conversation to remember from, instead of `text`."),
        ] = None,
        metadata: Annotated[
            dict[str, Any] | None, Field(description="Optional JSON object stored with it.")
        ] = None,
        infer: Annotated[
            bool,
            Field(description="true: extract facts (default); false: store the text verbatim."),
        ] = True,
    ) -> dict[str, Any]:
        if (text is None) == (messages is None):
            raise ToolError("give either `text` or `messages`, not both or neither")
        payload: Any = text if messages is None else [m.model_dump() for m in messages]
        with _tool_errors():
            return _json(memory.add(payload, **scope.ids(), metadata=metadata, infer=infer))

    @server.tool(
        description=(
            "Find the memories most relevant to a question before answering it, e.g. "
            '"what does the user eat?". Returns {"results": [...]}, each with `memory` (the '
            "text), `id`, `categories`, `metadata` and `score` (0-1, higher is closer)."
        ),
        annotations=reading,
    )
    def search_memories(
        query: Annotated[str, Field(min_length=1, description="The question or topic.")],
        top_k: Annotated[
            int, Field(ge=1, le=MAX_TOP_K, description="How many memories at most.")
        ] = 10,
        filters: Filters = None,
        threshold: Annotated[
            float | None, Field(ge=0, le=1, description="Drop results scoring below this.")
        ] = None,
    ) -> dict[str, Any]:
        with _tool_errors():
            found = memory.search(
                query, filters=_scoped(scope, filters), top_k=top_k, threshold=threshold
            )
            return _json(found)

    @server.tool(
        description=(
            "List every memory of this scope, most recently updated first, one page at a time "
            "(to review or clean up memory, not to answer a question: use search_memories for "
            'that). Returns {"count", "page", "page_size", "next", "previous", "results"}.'
        ),
        annotations=reading,
    )
    def list_memories(
        page: Annotated[int, Field(ge=1, description="Page number, from 1.")] = 1,
        page_size: Annotated[
            int, Field(ge=1, le=MAX_PAGE_SIZE, description="Memories per page.")
        ] = 50,
        filters: Filters = None,
    ) -> dict[str, Any]:
        with _tool_errors():
            listed = memory.get_all(filters=_scoped(scope, filters), page=page, page_size=page_size)
            return _json(listed)

    @server.tool(
        description="One memory by its id, with its text, categories, metadata and dates.",
        annotations=reading,
    )
    def get_memory(memory_id: MemoryId) -> dict[str, Any]:
        with _tool_errors():
            return in_scope(memory_id)

    @server.tool(
        description=(
            "Correct a memory's text when the user says it changed (prefer add_memory for new "
            "facts: it updates contradicted memories itself). Returns the updated memory."
        ),
        annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True),
    )
    def update_memory(
        memory_id: MemoryId,
        text: Annotated[str, Field(min_length=1, description="The memory's new text.")],
    ) -> dict[str, Any]:
        with _tool_errors():
            in_scope(memory_id)
            return _json(memory.update(memory_id, text=text))

    @server.tool(
        description=(
            "Forget one memory, by its id (find it with search_memories or list_memories), "
            "when the user asks you to forget it or it is wrong."
        ),
        annotations=deleting,
    )
    def delete_memory(memory_id: MemoryId) -> dict[str, Any]:
        with _tool_errors():
            in_scope(memory_id)
            return _json(memory.delete(memory_id))

    @server.tool(
        description=(
            "Forget every memory of this scope. Only when the user explicitly asks to erase "
            "all of it; set `confirm` to true to proceed. Returns how many were deleted."
        ),
        annotations=deleting,
    )
    def delete_all_memories(
        confirm: Annotated[
            bool, Field(description="Must be true: deleting everything cannot be undone.")
        ] = False,
    ) -> dict[str, Any]:
        if not confirm:
            raise ToolError("nothing deleted: pass confirm=true to delete every memory")
        with _tool_errors():
            count = 0
            for clause in scope.clauses():
                count += int(_json(memory.delete_all(**clause)).get("count") or 0)
        return {"message": "Memories deleted successfully!", "count": count}


def _scoped(scope: ToolScope, filters: dict[str, Any] | None) -> dict[str, Any]:
    """The caller's filter within the scope, checked alone first so that an error's path
    (``created_at.gte``) points into the filter the caller wrote."""
    if filters is not None:
        parse_filter(filters)
    return scope.filter(filters)


@contextmanager
def _tool_errors() -> Iterator[None]:
    """memkit's errors as tool errors the model reads: the error's class and message."""
    try:
        yield
    except MemkitError as exc:
        message = " ".join(str(exc).split()) or "failed"
        raise ToolError(f"{type(exc).__name__}: {message}") from exc


def _json(result: Any) -> dict[str, Any]:
    """A method's result as the platform's JSON object."""
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    if isinstance(result, dict):
        return result
    raise TypeError(f"expected a result model or a JSON object, got {type(result).__name__}")
