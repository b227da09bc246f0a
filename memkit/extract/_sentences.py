"""Cutting a chat message into tidy sentences: the first step of reading it by rule.

Every later rule (first-person rewriting, delete requests, replies to questions) reads one
sentence at a time with its greeting and punctuation already gone, so they are done once,
here: "Hi Alex, I'm vegan!" reaches them as "I'm vegan".
"""

from __future__ import annotations

import re

from memkit._text import word_set

__all__ = ["split_sentences", "strip_front", "tidy"]

_I = re.IGNORECASE

_INTERJECTION = re.compile(
    r"^(?:hi|hello|hey|hiya|yes|yeah|yep|yup|no|nope|nah|ok|okay|sure|well|so|oh|ah|um|uh"
    r"|hmm+|great|nice|cool|awesome|perfect|thanks|thank you|thx|understood|got it|alright"
    r"|all right|actually|also|btw|by the way|anyway|anyways|honestly|please|wow|haha|lol"
    r"|indeed|absolutely|definitely|of course|sounds good|and|but|fyi|heads up|quick update"
    r"|update|news|good news|bad news|change of plans?|small update|guess what)\b[\s,!.:;-]*",
    _I,
)
_LIST_MARK = re.compile(r"^\(?\d{1,2}[.)]\s+")
_VOCATIVE = re.compile(r"^[A-Z][a-z]+,\s+(?=(?:I|my|we)\b)")


def split_sentences(text: str) -> list[str]:
    """Split on sentence ends, semicolons and line breaks; keep the end mark."""
    out, start = [], 0
    for m in re.finditer(
        r"[.!?…]+(?=\s|$)|\n+|;|\s*(?:-+|—)\s+(?=[A-Z])|\s+(?:-+|—)\s+|\s+\(?\d{1,2}[.)]\s+", text
    ):
        before = text[start : m.start()].rsplit(maxsplit=1)
        if m.group().startswith(".") and before and before[-1].lower() in _ABBREVIATIONS:
            continue
        marker = m.group()[-1] in ")." and m.group().strip()[:1] in "(0123456789"
        out.append(text[start : m.start() if marker else m.end()].strip())  # "2)" goes
        start = m.end()
    out.append(text[start:].strip())
    return [s for s in out if s.strip(" .!?;…\n")]


_ABBREVIATIONS = word_set("mr mrs ms dr st jr sr vs etc e.g i.e approx no")


def tidy(text: str) -> str:
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = re.sub(r"\s+", " ", text).strip().strip('"')
    return re.sub(r"[\s.!?…;:,]+$", "", text)


def strip_front(text: str) -> str:
    """Drop greetings, interjections and a following vocative ("Hi Alex, I'm ...")."""
    while True:
        stripped = _INTERJECTION.sub("", _LIST_MARK.sub("", text, count=1), count=1)
        if stripped == text:
            return text
        text = _VOCATIVE.sub("", stripped, count=1)
