"""What the LLM extractor's answer means: its schema, and checking it against the prompt.

A model's reply is untrusted: it may be bad JSON, invent an alias, or take a fact from
a message that is not a source. Every such answer is a :class:`ReplyError` whose text
goes back to the model for its one repair, and what survives is cleaned up by rules
the model cannot be trusted with (``_tidy``).

The answer is one JSON object (a per-call JSON schema whose enums hold exactly the
aliases, source numbers and categories it was given)::

    {"memories": [{"event": "ADD" | "UPDATE" | "DELETE" | "NONE", "source": 1,
                   "text": "Is vegetarian" | null, "target": "m2" | null,
                   "categories": ["food_preferences"]}],
     "forget": [{"source": 1, "categories": ["food_preferences"]}],
     "erase_all": [1]}

``erase_all`` lists the messages whose speaker asked to forget everything about
them; the model names only a message, never a memory, and memkit deletes every
memory of that speaker's side of the add's own scope (thousands of memories are
never sent to the model). The facts of that side from earlier messages are dropped.

:func:`parse_reply` checks that answer against what was shown and maps aliases
back to memory ids:

    >>> from memkit.extract._interface import ExistingMemory, Message
    >>> from memkit.extract._prompt import alias_table, sources_of
    >>> messages = [Message(role="user", content="I moved to Berlin")]
    >>> shown = alias_table({"user": [ExistingMemory(id="9f2c", text="Lives in Paris")]})
    >>> prompt = PromptInput(messages, ["user"], sources_of(messages, ["user"]), shown)
    >>> answer = (
    ...     '{"memories": [{"event": "UPDATE", "source": 1, "text": "Lives in Berlin",'
    ...     ' "target": "m1", "categories": ["personal_details"]}], "forget": [], "erase_all": []}'
    ... )
    >>> [(op.event, op.text, op.target_id) for op in parse_reply(answer, prompt).operations]
    [('UPDATE', 'Lives in Berlin', '9f2c')]
    >>> parse_reply(answer.replace('"m1"', '"m7"'), prompt)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    memkit.extract._reply.ReplyError: memories[0].target is 'm7';
        UPDATE needs the alias of an existing memory (m1)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memkit._text import content_words, words
from memkit.extract._interface import Event, Operation, Side
from memkit.extract._prompt import PromptInput

__all__ = [
    "SCHEMA_NAME",
    "ForgetRequest",
    "Reply",
    "ReplyError",
    "parse_reply",
    "response_schema",
]

SCHEMA_NAME = "memkit_memory_plan"
_EVENTS: tuple[Event, ...] = ("ADD", "UPDATE", "DELETE", "NONE")
_KEYS = ("memories", "forget", "erase_all")
_ECHO_OVERLAP = 0.6


class ReplyError(ValueError):
    """The model's answer is not valid JSON, not the schema, or names what it was not shown."""


@dataclass(frozen=True)
class ForgetRequest:
    """A spoken request to forget every memory of ``side`` in ``categories``."""

    side: Side
    categories: tuple[str, ...]


@dataclass(frozen=True)
class Reply:
    """A valid answer, aliases already mapped back to memory ids; ``erase`` holds the
    sides whose speaker asked to forget everything about them."""

    operations: list[Operation] = field(default_factory=list)
    forget: list[ForgetRequest] = field(default_factory=list)
    erase: tuple[Side, ...] = ()


def response_schema(prompt: PromptInput) -> dict[str, Any]:
    """A strict JSON schema whose enums are exactly what this call showed the model."""
    sources = sorted(prompt.sources)
    aliases = list(prompt.shown)
    categories = {"type": "array", "items": {"type": "string", "enum": list(prompt.categories)}}
    target: dict[str, Any] = (
        {"anyOf": [{"type": "string", "enum": aliases}, {"type": "null"}]}
        if aliases
        else {"type": "null"}
    )
    memory = {
        "type": "object",
        "additionalProperties": False,
        "required": ["event", "source", "text", "target", "categories"],
        "properties": {
            "event": {"type": "string", "enum": list(_EVENTS)},
            "source": {"type": "integer", "enum": sources},
            "text": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "target": target,
            "categories": categories,
        },
    }
    forget = {
        "type": "object",
        "additionalProperties": False,
        "required": ["source", "categories"],
        "properties": {"source": {"type": "integer", "enum": sources}, "categories": categories},
    }
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(_KEYS),
        "properties": {
            "memories": {"type": "array", "items": memory},
            "forget": {"type": "array", "items": forget},
            "erase_all": {"type": "array", "items": {"type": "integer", "enum": sources}},
        },
    }


# ---- the reply ----------------------------------------------------------------------------


def parse_reply(text: str | None, prompt: PromptInput) -> Reply:
    """Check the model's answer against what it was shown; raise ReplyError if it is wrong."""
    data = _load_json(text)
    keys = ", ".join(f"'{k}'" for k in _KEYS)
    if not isinstance(data, dict):
        raise ReplyError(f"the answer must be a JSON object with keys {keys}")
    unknown = set(data) - set(_KEYS)
    if unknown:
        raise ReplyError(f"unexpected keys {sorted(unknown)}: use only {keys}")
    items = _list(data, "memories")
    forgets = _list(data, "forget")
    erase = _erase(_list(data, "erase_all"), prompt)
    operations = [_operation(item, i, prompt) for i, item in enumerate(items)]
    forget = [_forget(item, i, prompt) for i, item in enumerate(forgets)]
    sourced = [(item["source"], op) for item, op in zip(items, operations, strict=True)]
    kept = _after_erase(sourced, erase)
    return Reply(
        operations=_tidy(kept, prompt, frozenset(erase)), forget=forget, erase=tuple(erase)
    )


def _load_json(text: str | None) -> Any:
    if text is None or not text.strip():
        raise ReplyError("the answer was empty; a JSON object was expected")
    body = text.strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", body, re.DOTALL)
    if fenced:
        body = fenced.group(1)
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                return json.loads(body[start : end + 1])
            except json.JSONDecodeError:
                pass
        raise ReplyError(
            f"the answer is not valid JSON ({exc.msg} at character {exc.pos})"
        ) from None


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ReplyError(f"'{key}' must be a list")
    return value


def _source(item: Mapping[str, Any], where: str, prompt: PromptInput) -> Side:
    return _side_of(item.get("source"), f"{where}.source", prompt)


def _side_of(source: Any, where: str, prompt: PromptInput) -> Side:
    if isinstance(source, bool) or not isinstance(source, int) or source not in prompt.sources:
        allowed = ", ".join(map(str, sorted(prompt.sources)))
        raise ReplyError(f"{where} is {source!r}; it must be one of the source messages: {allowed}")
    return prompt.sources[source]


def _erase(items: list[Any], prompt: PromptInput) -> dict[Side, int]:
    """side -> the last message whose speaker asked to forget everything about them."""
    erase: dict[Side, int] = {}
    for i, source in enumerate(items):
        side = _side_of(source, f"erase_all[{i}]", prompt)
        erase[side] = max(source, erase.get(side, 0))
    return erase


def _after_erase(
    operations: list[tuple[int, Operation]], erase: Mapping[Side, int]
) -> list[Operation]:
    """What survives a side's erasure: facts from earlier messages are forgotten with the
    rest; a fact from the asking message on is stored anew (ADD), since every memory an
    UPDATE or NONE would point at is deleted; a DELETE is already covered."""
    out: list[Operation] = []
    for source, op in operations:
        asked = erase.get(op.side)
        if asked is None:
            out.append(op)
        elif source < asked or op.event == "DELETE" or not op.text:
            continue
        elif op.event == "ADD":
            out.append(op)
        else:
            out.append(op.model_copy(update={"event": "ADD", "target_id": None}))
    return out


def _categories(item: Mapping[str, Any], where: str, prompt: PromptInput) -> tuple[str, ...]:
    value = item.get("categories", [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ReplyError(f"{where}.categories must be a list of category names")
    known = {c.strip().lower() for c in value} & set(prompt.categories)
    return tuple(c for c in prompt.categories if c in known)  # unknown names are dropped


def _operation(item: Any, i: int, prompt: PromptInput) -> Operation:
    where = f"memories[{i}]"
    if not isinstance(item, dict):
        raise ReplyError(f"{where} must be an object")
    event = item.get("event")
    if event not in _EVENTS:
        raise ReplyError(f"{where}.event is {event!r}; expected one of {', '.join(_EVENTS)}")
    side = _source(item, where, prompt)
    text = item.get("text")
    if text is not None and not isinstance(text, str):
        raise ReplyError(f"{where}.text must be a string or null")
    text = " ".join(text.split()) if text else None
    if event in ("ADD", "UPDATE") and not text:
        raise ReplyError(f"{where} is {event} without text")
    target = item.get("target")
    target_id: str | None = None
    if event != "ADD":
        if not isinstance(target, str) or target not in prompt.shown:
            aliases = ", ".join(prompt.shown) or "none were shown"
            raise ReplyError(
                f"{where}.target is {target!r}; {event} needs the alias of an "
                f"existing memory ({aliases})"
            )
        shown = prompt.shown[target]
        if side not in shown.sides:
            raise ReplyError(
                f"{where}: message {item['source']} gives facts about the {side}, "
                f"but {target} is a memory of the {'/'.join(sorted(shown.sides))}"
            )
        target_id = shown.memory.id
    elif target is not None:
        raise ReplyError(
            f"{where} is ADD with target {target!r}; an ADD has target null "
            "(use UPDATE to change an existing memory)"
        )
    return Operation(
        event=event,
        side=side,
        text=None if event == "DELETE" else text,
        target_id=target_id,
        categories=_categories(item, where, prompt),
    )


def _forget(item: Any, i: int, prompt: PromptInput) -> ForgetRequest:
    where = f"forget[{i}]"
    if not isinstance(item, dict):
        raise ReplyError(f"{where} must be an object")
    side = _source(item, where, prompt)
    raw = item.get("categories")
    if not isinstance(raw, list) or not raw or not all(isinstance(c, str) for c in raw):
        raise ReplyError(f"{where}.categories must be a non-empty list of category names")
    unknown = [c for c in raw if c.strip().lower() not in prompt.categories]
    if unknown:
        raise ReplyError(
            f"{where}.categories has unknown names {unknown}; use names from the category list"
        )
    return ForgetRequest(side, _categories(item, where, prompt))


def _tidy(
    operations: list[Operation], prompt: PromptInput, erased: frozenset[Side] = frozenset()
) -> list[Operation]:
    """Deterministic clean-up the model cannot be trusted with.

    - an ADD of what a shown memory of that side already says is a NONE on it
      (recalled memories re-stated in the conversation are never stored twice),
      unless that side is being erased;
    - an UPDATE that changes nothing is a NONE;
    - the same ADD twice is once;
    - with both sides written, an assistant fact that restates a user fact of the
      same answer is the assistant echoing the user, and is dropped.
    """
    known: dict[tuple[Side, str], str] = {}
    for shown in prompt.shown.values():
        for side in shown.sides - erased:
            known.setdefault((side, _norm(shown.memory.text)), shown.memory.id)
    texts = {s.memory.id: _norm(s.memory.text) for s in prompt.shown.values()}
    user_facts = [
        content_words(op.text)
        for op in operations
        if op.side == "user" and op.text and op.event in ("ADD", "UPDATE")
    ]
    out: list[Operation] = []
    added: set[tuple[Side, str]] = set()
    for op in operations:
        if op.event == "ADD" and op.text:
            text = op.text
            key = (op.side, _norm(text))
            if key in known:
                op = op.model_copy(update={"event": "NONE", "target_id": known[key]})
            elif key in added or (
                op.side == "assistant" and _echoes(content_words(text), user_facts)
            ):
                continue
            else:
                added.add(key)
        elif op.event == "UPDATE" and op.text and texts.get(op.target_id or "") == _norm(op.text):
            op = op.model_copy(update={"event": "NONE"})
        out.append(op)
    return out


def _norm(text: str) -> str:
    return " ".join(words(text))


def _echoes(fact: frozenset[str], user_facts: Sequence[frozenset[str]]) -> bool:
    return bool(fact) and any(
        len(fact & other) / len(fact | other) >= _ECHO_OVERLAP for other in user_facts if other
    )
