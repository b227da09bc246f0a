"""The keyword arguments every facade call shares: the entity ids and the platform's extras.

Each public method takes the four ids and accepts mem0 platform keywords it has no use
for (``version="v2"``); checking them in one place keeps the answer to a typo or to a
missing scope the same on every method, and records the call's scope for monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memkit._inputs import Scope
from memkit._monitoring import current_outcome
from memkit.errors import InvalidInputError

__all__ = ["call_scope", "check_platform_options", "required_scope"]


def call_scope(
    user_id: str | None,
    agent_id: str | None,
    app_id: str | None,
    run_id: str | None,
) -> Scope:
    """The call's entity ids (any of them may be None), recorded in its activity entry."""
    scope = Scope.of(user_id=user_id, agent_id=agent_id, app_id=app_id, run_id=run_id)
    current_outcome().scope = scope.as_dict()
    return scope


def required_scope(
    call: str,
    user_id: str | None,
    agent_id: str | None,
    app_id: str | None,
    run_id: str | None,
) -> Scope:
    """The call's entity ids, at least one of them; a delete with none would wipe everything."""
    scope = call_scope(user_id, agent_id, app_id, run_id)
    if not scope:
        hint = "" if call == "add" else "; use reset() to delete everything"
        raise InvalidInputError(
            f"{call} needs at least one of user_id, agent_id, app_id, run_id{hint}"
        )
    return scope


def check_platform_options(options: Mapping[str, Any], accepted: set[str]) -> None:
    """Platform-only keywords (``version="v2"``) are accepted; anything else is a typo."""
    unknown = set(options) - accepted
    if unknown:
        raise InvalidInputError(f"unexpected keyword arguments: {sorted(unknown)}")
