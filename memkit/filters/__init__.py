"""memkit's v2 filter language (``_language``: parse, validate, evaluate) and its translation
to Chroma's where clauses (``_chroma``). The language is public; the translation is the
index's business and stays private."""

from memkit.filters._language import (
    DATE_FIELDS,
    FIELDS,
    ID_FIELDS,
    TEXT_FIELDS,
    And,
    Cond,
    FilterNode,
    Not,
    Or,
    all_of,
    evaluate,
    parse_filter,
    referenced_fields,
)

__all__ = [
    "DATE_FIELDS",
    "FIELDS",
    "ID_FIELDS",
    "TEXT_FIELDS",
    "And",
    "Cond",
    "FilterNode",
    "Not",
    "Or",
    "all_of",
    "evaluate",
    "parse_filter",
    "referenced_fields",
]
