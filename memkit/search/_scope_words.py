"""A search's own scope names no memory: the words of its entity ids leave the query.

Within ``user_id="alex"`` every memory is Alex's, so "Alex" in "What does Alex eat?"
says whose memories to search (the filter already chose them), not which memory
answers. Left in, it is the query's rarest keyword, held by one memory ("Name is Alex"),
and it pulls the question's embedding towards that same memory: on the README's example
"Name is Alex" scored 0.409 and "Is a vegetarian" 0.227 (0.092 and 0.234 without it).

So the words of the scope's ``user_id``, ``agent_id`` and ``run_id`` (the id equalities
the filter ANDs at its top; an ``app_id`` names an application, not whom the memories
are about) leave the query, whole words and case-insensitively, a possessive "'s" with
them, for both the keyword terms and the text embedded. Measured, the words are dropped
rather than replaced by "they" or "the user": on 19 questions naming the user of three
small profiles each variant ranked the answer first every time (the name left in: 0 of
19), dropping with the widest margin over the second memory (0.166 against 0.147 and
0.153). LoCoMo (scopes "conv-26", ...) is unchanged, R@10 0.746; with each conversation
scoped by one speaker's name instead, though its memories are both speakers' turns,
R@10 moves 0.746 -> 0.744.

A question that would keep no content word ("Who is Alex?") is kept whole: the name is
all it says. Time cues read the query as given. Pure: no store,
no I/O.

    >>> scope_free_query("What does Alex eat?", {"user_id": "alex"})
    'What does eat?'
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from memkit._text import terms
from memkit.filters._language import FilterNode, entity_scope

__all__ = ["SCOPE_FIELDS", "query_without_scope", "scope_free_query", "scope_words"]

# The ids that name whose memories a scope holds. An app_id is the application's.
SCOPE_FIELDS = ("user_id", "agent_id", "run_id")

# Letters only: the digits of "conv-26" or "user-1234" are no name a question uses.
_ID_WORD = re.compile(r"[^\W\d_]{2,}")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[?.!,;:])")


def scope_words(scope: Mapping[str, str]) -> frozenset[str]:
    """The casefolded words of the scope's user, agent and run ids."""
    return frozenset(
        word for field in SCOPE_FIELDS for word in _ID_WORD.findall(scope.get(field, "").casefold())
    )


def scope_free_query(query: str, scope: Mapping[str, str]) -> str:
    """``query`` without the words of the scope's ids; ``query`` itself when nothing
    content-bearing would remain."""
    names = scope_words(scope)
    if not names:
        return query
    name = "(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    # A run of them ("Alex Smith") is one mention; "alex-approved" and "Alexandra" are
    # other words.
    mention = re.compile(rf"\b{name}(?:\s+{name})*(?:['\u2019]s\b)?(?!['\u2019-]?\w)", re.I)
    stripped = mention.sub(" ", query)
    if stripped == query or not terms(stripped):
        return query
    stripped = _SPACE_BEFORE_PUNCTUATION.sub("", " ".join(stripped.split()))
    return stripped.lstrip(",;: ")


def query_without_scope(query: str, node: FilterNode | None) -> str:
    """:func:`scope_free_query` for a search whose filter is ``node``."""
    scope, _ = entity_scope(node)
    return scope_free_query(query, scope)
