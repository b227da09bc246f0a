"""The Extractor interface: messages in, memory operations out.

Two implementations sit behind it: the offline rule-based extractor (the default,
``memkit.extract._rules``) and the LLM extractor. ``Memory`` hands an extractor the
admitted messages and an :class:`ExtractionContext` through which it looks up the
entity's existing memories; the extractor answers with a :class:`Plan`. The plan
only names memory ids the context showed it, which ``Memory`` checks.

A request to forget everything ("Forget everything about me") is answered with a
DELETE for each memory :meth:`ExtractionContext.all_memories` lists: every memory of
the speaker's side of the add's own scope, whatever its categories or however it was
stored. The context, not the extractor, decides what that scope holds, so neither a
rule nor a model can widen an erasure beyond the entity being written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["user", "assistant", "system", "tool"]
Side = Literal["user", "assistant"]
Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]


class Message(BaseModel):
    """One chat message, as in the OpenAI chat format."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: Role
    content: str
    name: str | None = None


class ExistingMemory(BaseModel):
    """A memory already stored for the entity, shown to the extractor."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str
    categories: tuple[str, ...] = ()
    score: float = 0.0  # similarity to the text it was looked up for; higher is closer


class Operation(BaseModel):
    """What one extracted fact does to the store.

    ``side`` says which entity it belongs to: facts from user messages go to the
    user_id, facts from assistant messages to the agent_id.
    """

    model_config = ConfigDict(frozen=True)

    event: Event
    side: Side
    text: str | None = None  # the fact (ADD, UPDATE, NONE); None for DELETE
    target_id: str | None = None  # the existing memory (UPDATE, DELETE, NONE)
    categories: tuple[str, ...] = ()


class Plan(BaseModel):
    """The extractor's answer for one ``add``.

    ``usage`` is what producing it cost, logged with the add in the activity log:
    ``llm_calls``, ``prompt_tokens``, ``completion_tokens``, ``llm_ms`` (empty for
    the offline extractor).
    """

    operations: list[Operation] = Field(default_factory=list)
    usage: dict[str, int] = Field(default_factory=dict)


class ExtractionContext(Protocol):
    """What an extractor may ask about the entity's existing memories."""

    def similar(self, texts: Sequence[str], side: Side) -> list[list[ExistingMemory]]:
        """For each text, the most similar existing memories of that side's entity."""
        ...

    def in_categories(self, categories: Sequence[str], side: Side) -> list[ExistingMemory]:
        """Every existing memory of that side's entity in any of ``categories``."""
        ...

    def all_memories(self, side: Side) -> list[ExistingMemory]:
        """Every existing memory of that side's entity: what "forget everything" erases."""
        ...


class Extractor(Protocol):
    """Turns the admitted messages of one ``add`` into memory operations.

    ``sides`` are the entities being written ("user" when a user_id is given,
    "assistant" when an agent_id is given); messages of other roles are context.
    """

    def plan(
        self,
        messages: Sequence[Message],
        sides: Sequence[Side],
        context: ExtractionContext,
    ) -> Plan: ...
