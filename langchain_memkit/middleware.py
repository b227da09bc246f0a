"""``MemkitMiddleware``: long-term memory for ``langchain.agents.create_agent``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, NotRequired

from langchain.agents.middleware.types import (
    AgentMiddleware,
    AgentState,
    ModelRequest,
    ModelResponse,
    PrivateStateAttr,
)
from langchain_core.messages import AnyMessage, HumanMessage, SystemMessage
from langgraph.config import get_config
from langgraph.runtime import Runtime

from langchain_memkit._calls import (
    Flow,
    call,
    resolve_scope,
    run_async,
    run_sync,
    to_memkit_messages,
    worth_remembering,
)
from memkit.adapter_messages import has_content, message_text
from memkit.recall import DEFAULT_HEADER, format_recall, recall_filter, recall_query

__all__ = ["MemkitMiddleware", "MemkitState"]


class MemkitState(AgentState[Any]):
    """The agent state, plus the id of the last message already written to memory."""

    memkit_saved: NotRequired[Annotated[str | None, PrivateStateAttr]]


def unsaved_turn(messages: Sequence[AnyMessage], saved: str | None) -> list[AnyMessage]:
    """The messages after the last one written, i.e. the turn that just finished.

    Nothing saved yet: every message in the state is new. The saved message gone (a
    summarising middleware rewrote the history): the turn from the last user message on.
    """
    if saved is None:
        return list(messages)
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].id == saved:
            return list(messages[i + 1 :])
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    return list(messages[starts[-1] :]) if starts else []


def with_memories(system: SystemMessage | None, recalled: str) -> SystemMessage:
    """The system message with the recalled memories appended (a new one if there is none)."""
    if system is None:
        return SystemMessage(content=recalled)
    if isinstance(system.content, str):
        content: Any = f"{system.content}\n\n{recalled}" if system.content else recalled
    else:
        content = [*system.content, {"type": "text", "text": recalled}]
    return SystemMessage(content=content, id=system.id, name=system.name)


def _configurable() -> Mapping[str, Any]:
    """The running graph's ``configurable`` (empty when called outside a run)."""
    try:
        config = get_config()
    except RuntimeError:  # LangGraph's "outside of a runnable context"
        return {}
    return config.get("configurable") or {}


class MemkitMiddleware(AgentMiddleware[MemkitState, Any]):
    """Recalls relevant memories into every model call; writes each finished turn.

    Before a model call, the latest user turns are searched in the scope's memories and
    the best hits that fit ``budget_tokens`` are appended to the system message (for
    that call only; they are not added to the conversation). After the agent finishes a
    turn, that turn's new messages (never the earlier history) go to ``memory.add``.

    Scope: the ``user_id`` / ``agent_id`` / ``app_id`` / ``run_id`` given here, each
    replaced by the same key of the run config's ``configurable``
    (``agent.invoke(..., {"configurable": {"user_id": "alex"}})``), and that by the same
    attribute (or key) of the agent's runtime context (``context=``). With both a
    user and an agent, recall draws on the user's memories and the agent's own (see
    :func:`memkit.recall.recall_filter`), and writes each side's facts under its own id. Use a
    checkpointer so that each turn is written once; without one, every message passed
    in is treated as new.

    Instantiate (a model such as ``"openai:gpt-4o-mini"`` in place of the scripted one,
    which answers with the memories it was given):

    >>> import itertools
    >>> from dataclasses import dataclass
    >>> from langchain.agents import create_agent
    >>> from langgraph.checkpoint.memory import InMemorySaver
    >>> from memkit import Memory
    >>> from langchain_memkit import MemkitMiddleware
    >>> from langchain_memkit.testing import ScriptedChatModel, answer_from_memories
    >>> @dataclass
    ... class Context:
    ...     user_id: str
    >>> agent = create_agent(
    ...     ScriptedChatModel(messages=itertools.repeat(answer_from_memories)),
    ...     middleware=[MemkitMiddleware(memory=Memory(), agent_id="helper")],
    ...     context_schema=Context,
    ...     checkpointer=InMemorySaver(),
    ... )
    >>> def ask(text, thread, **run):
    ...     state = {"messages": [{"role": "user", "content": text}]}
    ...     return agent.invoke(state, {"configurable": {"thread_id": thread}}, **run)

    Add (each finished turn is written):

    >>> _ = ask("I live in Paris", "1", context=Context("alex"))

    Search (recalled in a new thread, for the same user only):

    >>> ask("Where do I live?", "2", context=Context("alex"))["messages"][-1].text
    'What I remember: Lives in Paris.'
    >>> ask("Where do I live?", "3", context=Context("sam"))["messages"][-1].text
    "I don't know anything about you yet."

    Async: ``await agent.ainvoke(...)`` runs the async hooks, which never block the loop.
    """

    state_schema = MemkitState

    def __init__(
        self,
        memory: Any,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
        k: int = 10,
        threshold: float | None = None,
        filters: Mapping[str, Any] | None = None,
        budget_tokens: int = 800,
        header: str = DEFAULT_HEADER,
        infer: bool = True,
        recall: bool = True,
        write: bool = True,
    ) -> None:
        super().__init__()
        self.memory = memory
        self.defaults = {
            "user_id": user_id,
            "agent_id": agent_id,
            "app_id": app_id,
            "run_id": run_id,
        }
        self.k = k
        self.threshold = threshold
        self.filters = filters
        self.budget_tokens = budget_tokens
        self.header = header
        self.infer = infer
        self.recall = recall
        self.write = write

    def scope(self, runtime: Runtime[Any] | None) -> dict[str, str]:
        """The component's ids, replaced by the run's ``configurable``, then its context."""
        return resolve_scope(self.defaults, _configurable(), getattr(runtime, "context", None))

    # ---- recall -------------------------------------------------------------------------

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        return handler(run_sync(self.memory, self._recall(request)))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        return await handler(await run_async(self.memory, self._recall(request)))

    def _recall(self, request: ModelRequest[Any]) -> Flow[ModelRequest[Any]]:
        scope = self.scope(request.runtime)
        turns = [(m["role"], message_text(m)) for m in to_memkit_messages(request.messages)]
        query = recall_query(turns)
        if not self.recall or not query:
            return request
        filters = recall_filter(self.filters, **scope)
        found = yield from call(
            "search", query, filters=filters, top_k=self.k, threshold=self.threshold
        )
        recalled = format_recall(found.results, self.budget_tokens, self.header)
        if not recalled:
            return request
        return request.override(system_message=with_memories(request.system_message, recalled))

    # ---- write --------------------------------------------------------------------------

    def after_agent(self, state: MemkitState, runtime: Runtime[Any]) -> dict[str, Any] | None:
        return run_sync(self.memory, self._save(state, runtime))

    async def aafter_agent(
        self, state: MemkitState, runtime: Runtime[Any]
    ) -> dict[str, Any] | None:
        return await run_async(self.memory, self._save(state, runtime))

    def _save(self, state: MemkitState, runtime: Runtime[Any]) -> Flow[dict[str, Any] | None]:
        messages: list[AnyMessage] = state["messages"]
        if not self.write or not messages:
            return None
        scope = self.scope(runtime)
        turn = to_memkit_messages(unsaved_turn(messages, state.get("memkit_saved")))
        if worth_remembering(turn):
            yield from call("add", [m for m in turn if has_content(m)], infer=self.infer, **scope)
        return {"memkit_saved": messages[-1].id}
