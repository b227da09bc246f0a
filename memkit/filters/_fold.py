"""Case folding for ``icontains``, one character at a time.

A per-character folding is what a regular expression can reproduce exactly, so the Chroma
translation (regex classes from :func:`fold_class`) and evaluation (:func:`fold_text`) agree
character for character, whatever Unicode version Chroma's regex crate was built with.
"""

from __future__ import annotations

from functools import cache

__all__ = ["fold_char", "fold_class", "fold_text"]


def fold_char(ch: str) -> str:
    """One character's case-insensitive form; always exactly one character."""
    folded = ch.casefold()
    if len(folded) == 1:
        return folded
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


@cache
def _fold_tables() -> tuple[dict[int, str], dict[str, frozenset[str]]]:
    # One scan of all code points (~0.2 s, once): the translate table for fold_text and the
    # inverse classes that the Chroma translation turns into regex character classes.
    table: dict[int, str] = {}
    inverse: dict[str, set[str]] = {}
    for cp in range(0x110000):
        ch = chr(cp)
        key = fold_char(ch)
        if key != ch:
            table[cp] = key
            inverse.setdefault(key, set()).add(ch)
    classes = {
        key: frozenset(members | ({key} if fold_char(key) == key else set()))
        for key, members in inverse.items()
    }
    return table, classes


def fold_text(text: str) -> str:
    """``text`` with every character replaced by :func:`fold_char` (same length)."""
    return text.translate(_fold_tables()[0])


def fold_class(ch: str) -> frozenset[str]:
    """Every character that folds like ``ch`` (``"k"`` → ``{"k", "K", "\\u212a"}``)."""
    key = fold_char(ch)
    return _fold_tables()[1].get(key, frozenset((ch,)))
