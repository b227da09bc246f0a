"""Time cues in a query, for search: which period it names, and whether it asks "when".

Pure: the reference time ``now`` is an argument. Two cues, both soft (they lift a score,
never filter):

- a period the query names ("on 7 July, 2023", "in August 2023", "2022", "in June",
  "yesterday", "last week", "3 months ago") is matched against each memory's
  ``created_at``: a memory written in that period is more likely to be about it;
- a question that asks for a time ("When did ...", "How long ago ...", "What year ...")
  is more likely answered by a memory that itself says when ("yesterday", "last week",
  "two years ago"), which :data:`TIME_TERMS` finds through the keyword index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from memkit.search._bm25 import tokenize

__all__ = ["TIME_TERMS", "Period", "asks_when", "in_any", "named_periods"]

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

# Most specific first; a span matched by one pattern is not matched again by a later one.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"\b(?P<year>\d{4})-(?P<month>\d\d)-(?P<day>\d\d)\b")),
    ("day", re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s+{_YEAR}\b")),
    ("day", re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+{_YEAR}\b")),
    ("month", re.compile(rf"\b{_MONTH},?\s+{_YEAR}\b")),
    # A month without a year needs a preposition: "may" alone is usually the verb.
    ("any-year", re.compile(rf"\b(?:in|during|of|early|late|mid)\s+{_MONTH}\b")),
    ("year", re.compile(rf"(?:\b(?:in|during|of|by|year)\s+|^){_YEAR}\b")),
    (
        "ago",
        re.compile(
            r"\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten)"
            r"\s+(?P<unit>day|week|month|year)s?\s+ago\b"
        ),
    ),
    (
        "last",
        re.compile(r"\b(?P<which>last|this|past|previous)\s+(?P<unit>week|weekend|month|year)\b"),
    ),
    ("yesterday", re.compile(r"\b(?:yesterday|last night)\b")),
    ("today", re.compile(r"\b(?:today|tonight|this morning|this evening)\b")),
]
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip

_WHEN = re.compile(
    r"^\s*(?:(?:and|so|but)\s+)?(?:when|since when|until when|how long|how many "
    r"(?:years|months|weeks|days)|how old)\b"
    r"|\bwhat (?:year|month|day|date|time|season)\b|\bwhich (?:year|month|day|date)\b",
    re.IGNORECASE,
)

# Words by which a memory says when something happened, stemmed like the index.
TIME_TERMS: frozenset[str] = frozenset(
    tokenize(
        "yesterday today tonight tomorrow ago last next week weekend month year day "
        "morning evening night monday tuesday wednesday thursday friday saturday sunday "
        "since recently earlier later soon ages anniversary birthday"
    )
)


@dataclass(frozen=True)
class Period:
    """[start, end) in epoch seconds; ``month`` alone (start == end == 0) means that month
    of any year."""

    start: float = 0.0
    end: float = 0.0
    month: int | None = None

    def contains(self, moment: float) -> bool:
        if self.month is not None:
            return datetime.fromtimestamp(moment, tz=UTC).month == self.month
        return self.start <= moment < self.end


def asks_when(query: str) -> bool:
    """Does the query ask for a time or a duration?"""
    return bool(_WHEN.search(query))


def named_periods(query: str, now: float) -> list[Period]:
    """Every period the query names; relative ones ("last week") are counted back from now."""
    text = query.casefold()
    taken: list[tuple[int, int]] = []
    periods: list[Period] = []
    today = datetime.fromtimestamp(now, tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            period = _period(kind, match, today)
            if period is not None:
                taken.append(span)
                periods.append(period)
    return periods


def _period(kind: str, match: re.Match[str], today: datetime) -> Period | None:
    groups = match.groupdict()
    if kind in ("iso", "day", "month", "year", "any-year"):
        month = groups.get("month")
        number = None if month is None else int(month) if month.isdigit() else _MONTHS[month]
        if kind == "any-year":
            return Period(month=number)
        year = int(groups["year"])
        if kind == "year":
            return _span(datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
        assert number is not None
        if not 1 <= number <= 12:
            return None
        if kind == "month":
            first = datetime(year, number, 1, tzinfo=UTC)
            return _span(first, _next_month(first))
        try:
            day = datetime(year, number, int(groups["day"]), tzinfo=UTC)
        except ValueError:
            return None
        return _span(day, day + timedelta(days=1))
    if kind == "yesterday":
        return _span(today - timedelta(days=1), today)
    if kind == "today":
        return _span(today, today + timedelta(days=1))
    if kind == "ago":
        count = _NUMBERS.get(groups["n"]) or int(groups["n"])
        days = count * _UNIT_DAYS[groups["unit"]]
        # "3 weeks ago" is fuzzy: the unit either side of the point it names.
        unit = timedelta(days=_UNIT_DAYS[groups["unit"]])
        point = today - timedelta(days=days)
        return _span(point - unit, point + unit + timedelta(days=1))
    return _relative(groups["which"], groups["unit"], today)


def _relative(which: str, unit: str, today: datetime) -> Period:
    """ "last/previous" is the calendar unit before this one, "this" the current one,
    "past" the span of that length up to today."""
    tomorrow = today + timedelta(days=1)
    if which == "past" or unit in ("week", "weekend"):
        days = 7 if unit in ("week", "weekend") else _UNIT_DAYS[unit]
        if which in ("last", "previous"):
            return _span(today - timedelta(days=2 * days), tomorrow - timedelta(days=days))
        return _span(today - timedelta(days=days), tomorrow)
    first = today.replace(day=1) if unit == "month" else today.replace(month=1, day=1)
    if which == "this":
        return _span(
            first, _next_month(first) if unit == "month" else first.replace(year=first.year + 1)
        )
    if unit == "month":
        before = (first - timedelta(days=1)).replace(day=1)
        return _span(before, first)
    return _span(first.replace(year=first.year - 1), first)


def _span(start: datetime, end: datetime) -> Period:
    return Period(start=start.timestamp(), end=end.timestamp())


def _next_month(first: datetime) -> datetime:
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def in_any(periods: Sequence[Period], moment: float) -> bool:
    return any(p.contains(moment) for p in periods)
