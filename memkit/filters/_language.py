"""memkit's v2 filter language: parse → validated tree → evaluate on plain records.

The language is defined here, in one place, and implemented by one module per stage:
``_parse`` (validation into the tree), ``_tree`` (the nodes and the value rules they share),
``_evaluate`` (the reference evaluation) and ``_fold`` (case folding); this module gathers
their names. Pure and standalone (no I/O); ``memkit.filters._chroma`` translates the same
tree to Chroma, and the property tests hold the two to the same answers.

Grammar::

    filter := {"AND": [filter…]} | {"OR": [filter…]} | {"NOT": [filter…]}
            | {field: value} | {field: {op: value, …}}
    field  := user_id | agent_id | app_id | run_id | created_at | updated_at
            | categories | metadata | text | keywords
    op     := eq | ne | in | nin | gt | gte | lt | lte | contains | icontains

Example::

    >>> parse_filter({"user_id": "alex", "created_at": {"gte": "2024-07-01"}})
    And(children=(Cond(field='user_id', op='eq', value='alex', key=None), ...))

Semantics fixed here (the reference leaves them open):

- Several keys in one object, and several operators on one field, are ANDed.
  ``NOT [a, b]`` matches records that match none of ``a``, ``b``.
- ``{field: "*"}`` means "is set": an id or date that is not null, a non-empty category list, a
  present metadata key. In the tree it is ``Cond(field, "exists", True)``. Only the bare value
  is a wildcard: ``{field: {"eq": "*"}}`` and ``{"in": ["*"]}`` compare with the string ``*``,
  so any string can be matched literally (the LangGraph store's keys and labels are).
- Dates take ISO dates or datetimes (or ``date`` / ``datetime`` objects); values without an
  offset are UTC. A date-only value is the whole UTC day: ``gte`` / ``lt`` compare with its
  start, ``gt`` / ``lte`` with its end, ``eq`` means "within that day", ``ne`` "not within it".
  The tree holds epoch seconds (float) with exact half-open bounds (``lte: day`` becomes
  ``lt: next day``), so evaluation and translation use the same numbers. An empty range is not
  an error: it matches nothing.
- ``ne`` / ``nin`` (and ``NOT``) are true when the field is null or the metadata key missing;
  every other operator is false there.
- Strict types: a bool never equals a number; metadata numbers (int or float, not bool) compare
  as float64, so ``1 == 1.0``; range operators on a missing key or a non-number are false.
- ``text`` and ``keywords`` are the same field, the memory text. ``contains`` is a
  case-sensitive substring test. ``icontains`` folds case character by character with
  :func:`fold_char` (``str.casefold``, falling back to ``str.lower``, when either gives one
  character; ``ß`` therefore matches ``ẞ`` but not ``ss``): a per-character folding is what a
  regular expression can reproduce exactly, so Chroma and Python agree.
- ``categories``: ``contains`` / equality with a string (has it), equality with a list (has all
  of them), ``in`` (has any), ``nin`` (has none), ``ne`` (has not).
- Metadata ``contains`` / ``icontains`` are substring tests on string values (false otherwise).
- ``in: []`` matches nothing and ``nin: []`` everything.
"""

from __future__ import annotations

from memkit.filters._evaluate import evaluate
from memkit.filters._fold import fold_char, fold_class, fold_text
from memkit.filters._parse import eq, parse_filter
from memkit.filters._tree import (
    DATE_FIELDS,
    FIELDS,
    ID_FIELDS,
    OPERATORS,
    RANGE_OPS,
    TEXT_FIELDS,
    And,
    Cond,
    FilterNode,
    Not,
    Or,
    all_of,
    entity_scope,
    metadata_number,
    record_epoch,
    referenced_fields,
)

__all__ = [
    "DATE_FIELDS",
    "FIELDS",
    "ID_FIELDS",
    "OPERATORS",
    "RANGE_OPS",
    "TEXT_FIELDS",
    "And",
    "Cond",
    "FilterNode",
    "Not",
    "Or",
    "all_of",
    "entity_scope",
    "eq",
    "evaluate",
    "fold_char",
    "fold_class",
    "fold_text",
    "metadata_number",
    "parse_filter",
    "record_epoch",
    "referenced_fields",
]
