"""Whose fact it is: a message's ``name`` becomes the subject of the facts it gives.

A chat message may carry the speaker's ``name`` (the OpenAI format's field). When one
scope holds several speakers (a group chat, a meeting, a two-person conversation stored
for one user), "Lives in Oslo" loses who lives there, and both search and the update rules
need to know. So a named speaker's facts name their subject ("Ann lives in Oslo", "Ann's
sister lives in Rome", "Ann: The museum reopens in March" for a statement kept as said),
and the rules compare a fact only with memories about the same speaker, read without the
name (:func:`about`). Unnamed messages keep the platform's subject-less style.

    >>> with_subject("Lives in Oslo", "Ann", owned=False)
    'Ann lives in Oslo'
    >>> about("Ann's sister lives in Rome", "Ann")
    'Sister lives in Rome'
    >>> about("Bob lives in Rome", "Ann") is None
    True
"""

from __future__ import annotations

import re

__all__ = ["about", "speaker_name", "with_subject"]

_NAME = re.compile(r"^[^\W\d_][\w'.-]*(?: [^\W\d_][\w'.-]*){0,3}$")


def speaker_name(name: str | None) -> str | None:
    """The name to write facts with, or None when the message has none (or one that is not
    a person's name, such as an id with digits, which reads badly as a subject)."""
    if not name:
        return None
    name = " ".join(name.replace("_", " ").split())
    return name if _NAME.match(name) else None


def with_subject(fact: str, name: str | None, owned: bool, verbatim: bool = False) -> str:
    """The memory text of ``fact`` said by ``name``."""
    if name is None:
        return fact
    if verbatim:
        return f"{name}: {fact}"
    rest = _lower_first(fact)
    return f"{name}'s {rest}" if owned else f"{name} {rest}"


def about(text: str, name: str | None) -> str | None:
    """``text`` without its subject when it is about ``name`` (always, for None), else None:
    a memory about someone else is no fact of this speaker's to update."""
    if name is None:
        return text
    for prefix in (f"{name}'s ", f"{name}: ", f"{name} "):
        if text.startswith(prefix) and len(text) > len(prefix):
            rest = text[len(prefix) :]
            return rest[:1].upper() + rest[1:]
    return None


def _lower_first(fact: str) -> str:
    """ "Lives in Oslo" -> "lives in Oslo", but "LGBTQ group ..." and "I ..." stay."""
    first = fact.split(" ", 1)[0]
    if first == "I" or first[1:2].isupper():
        return fact
    return fact[:1].lower() + fact[1:]
