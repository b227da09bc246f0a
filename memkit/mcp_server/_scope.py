"""The one scope an MCP server's tools act in, and what "in scope" means for a memory.

An agent talking to the tools never names a user: the scope is fixed when the server is
built (``memkit mcp --user-id alex``), so no tool argument can read or delete another
entity's memories. The scope is the set of memories the tools' own ``add`` writes:

- one id, or several without both ``user_id`` and ``agent_id``: the memories carrying all
  the given ids, as ``get_all(user_id=..., run_id=...)`` selects them;
- ``user_id`` with ``agent_id``: ``add`` puts user-side memories under the user and
  assistant-side ones under the agent (DESIGN.md, "Semantics"), so the scope is the
  user's memories or the agent's, each with the given ``app_id`` / ``run_id``. ANDing
  all four ids would select nothing the tools wrote.

Everything here is pure: the v2 filter of the scope, the per-clause ids that
``delete_all`` takes, and the membership test of one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from memkit.errors import InvalidInputError
from memkit.models import ID_FIELDS as ENTITY_IDS


class ToolScope(BaseModel):
    """The entity ids the tools are bound to; at least one is required.

    >>> ToolScope.of(user_id="alex").filter()
    {'user_id': 'alex'}
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str | None = None
    agent_id: str | None = None
    app_id: str | None = None
    run_id: str | None = None

    @model_validator(mode="after")
    def _one_id_at_least(self) -> ToolScope:
        for name in ENTITY_IDS:
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ValueError(f"{name} must be a non-empty string")
        if not self.ids():
            raise ValueError(
                "the MCP tools need a scope: at least one of user_id, agent_id, app_id, run_id"
            )
        return self

    @classmethod
    def of(
        cls,
        *,
        user_id: str | None = None,
        agent_id: str | None = None,
        app_id: str | None = None,
        run_id: str | None = None,
    ) -> ToolScope:
        """The scope, or an ``InvalidInputError`` saying what is missing or malformed."""
        try:
            return cls(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
        except ValidationError as exc:
            reasons = "; ".join(
                error["msg"].removeprefix("Value error, ") for error in exc.errors()
            )
            raise InvalidInputError(reasons) from None

    def ids(self) -> dict[str, str]:
        """The ids given, as ``add``'s keyword arguments."""
        return {name: value for name in ENTITY_IDS if (value := getattr(self, name)) is not None}

    def clauses(self) -> list[dict[str, str]]:
        """The scope as alternatives of ANDed ids: two (user's, agent's) when both are set."""
        ids = self.ids()
        if self.user_id is None or self.agent_id is None:
            return [ids]
        shared = {k: v for k, v in ids.items() if k not in ("user_id", "agent_id")}
        return [{"user_id": self.user_id, **shared}, {"agent_id": self.agent_id, **shared}]

    def filter(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The v2 filter selecting the scope, ANDed with a caller's ``extra`` filter.

        The id equalities sit at the top of the AND, where memkit recognises an entity
        scope and answers from the record store.
        """
        clauses = self.clauses()
        items: list[dict[str, Any]]
        if len(clauses) == 1:
            items = [{name: value} for name, value in clauses[0].items()]
        else:
            items = [{"OR": [_all_of(clause) for clause in clauses]}]
        if extra is not None:
            items.append(dict(extra))
        return items[0] if len(items) == 1 else {"AND": items}

    def contains(self, record: Mapping[str, Any]) -> bool:
        """Whether a memory (its JSON record) is in the scope."""
        return any(
            all(record.get(name) == value for name, value in clause.items())
            for clause in self.clauses()
        )

    def describe(self) -> str:
        """The scope in words for the server's instructions: ``user_id='alex'``."""
        return ", ".join(f"{name}={value!r}" for name, value in self.ids().items())


def _all_of(ids: Mapping[str, str]) -> dict[str, Any]:
    items = [{name: value} for name, value in ids.items()]
    return items[0] if len(items) == 1 else {"AND": items}
