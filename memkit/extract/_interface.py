"""The Extractor interface: messages in, memory operations out.

Two implementations sit behind it: the offline rule-based extractor (the default,
``memkit.extract._rules``) and the LLM extractor. ``Memory`` hands an extractor the
admitted messages and an :class:`ExtractionContext` through which it looks up the
entity's existing memories; the extractor answers with a :class:`Plan`. The plan
only names memory ids the context showed it, which ``Memory`` checks.

Per-call options (the platform's ``includes``, ``excludes``, ``custom_instructions`` and
``custom_categories`` of one ``add``) reach an extractor through
:meth:`ExtractionOptions.apply`: an extractor that supports them has a ``for_call(options)``
method returning an extractor for that call alone (the configured one is never
mutated, so concurrent adds cannot see each other's options). The protocol's ``plan``
is unchanged, so a user's own extractor keeps working; one without ``for_call`` is
refused when an add carries options it could not honour, never silently run without.

A request to forget everything ("Forget everything about me") is answered with a
DELETE for each memory :meth:`ExtractionContext.all_memories` lists: every memory of
the speaker's side of the add's own scope, whatever its categories or however it was
stored. The context, not the extractor, decides what that scope holds, so neither a
rule nor a model can widen an erasure beyond the entity being written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from memkit._content import ContentPart, ImagePart
from memkit.errors import InvalidInputError

Role = Literal["user", "assistant", "system", "tool"]
Side = Literal["user", "assistant"]
Event = Literal["ADD", "UPDATE", "DELETE", "NONE"]


class Message(BaseModel):
    """One chat message, as in the OpenAI chat format.

    ``content`` is the text; when the message came as content parts it is the text parts
    joined by newlines, and ``parts`` keeps every part in order (images included) for an
    extractor that reads them (``memkit._content``).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: Role
    content: str
    name: str | None = None
    parts: tuple[ContentPart, ...] = ()

    @property
    def images(self) -> tuple[ImagePart, ...]:
        return tuple(p for p in self.parts if isinstance(p, ImagePart))


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


@dataclass(frozen=True)
class ExtractionOptions:
    """One ``add``'s own extraction options; each None keeps the configured behaviour.

    ``custom_instructions`` and ``categories`` replace the configured ones for the call;
    ``includes`` names what to keep (only that) and ``excludes`` what never to store,
    on top of the instructions.
    """

    includes: str | None = None
    excludes: str | None = None
    custom_instructions: str | None = None
    categories: Mapping[str, str] | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in self.__dict__.values())

    def given(self) -> list[str]:
        """The platform's names of the options set."""
        names = {"categories": "custom_categories"}
        return [names.get(k, k) for k, v in self.__dict__.items() if v is not None]

    def apply(self, extractor: Extractor) -> Extractor:
        """The extractor for this call: ``extractor.for_call(self)``, or ``extractor`` itself
        when no option is set. An extractor without ``for_call`` cannot honour the options:
        that is a usage error (``ValueError``) naming them, raised before anything is written."""
        if not self:
            return extractor
        for_call: Any = getattr(extractor, "for_call", None)
        if for_call is None:
            raise _unsupported(type(extractor).__name__, self.given())
        planned: Extractor = for_call(self)
        return planned


def _unsupported(name: str, options: list[str]) -> InvalidInputError:
    return InvalidInputError(
        f"{', '.join(options)}: the configured extractor ({name}) has no for_call(options) "
        "method, so it cannot honour per-call extraction options"
    )
