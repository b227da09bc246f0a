"""How a memory is laid out in the Chroma index: one record, its text as the document.

The store owns this layout; ``memkit.filters._chroma`` translates filters against it:

- ``user_id`` / ``agent_id`` / ``app_id`` / ``run_id``: str, ``""`` when null.
- ``created_at`` / ``updated_at``: float epoch seconds, ``""`` when null.
- ``cat:<name>``: True per category; ``n_categories``: int.
- ``md:<key>``: each metadata value as given; ``num:<key>``: the float of int/float values.

The ``cat:``, ``md:`` and ``num:`` keys vary from one version of a memory to the next
(:data:`VARIABLE_PREFIXES`); every other key is written for every memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memkit._values import DATE_FIELDS, ID_FIELDS, metadata_number, record_epoch
from memkit.errors import MetadataError

__all__ = ["VARIABLE_PREFIXES", "chroma_metadata"]

# The keys a memory has only for some categories or metadata: the ones an update can remove.
VARIABLE_PREFIXES = ("cat:", "md:", "num:")


def chroma_metadata(record: Mapping[str, Any]) -> dict[str, Any]:
    """The Chroma metadata that indexes ``record`` (layout in the module docstring)."""
    out: dict[str, Any] = {}
    for field in ID_FIELDS:
        value = record.get(field) or ""
        if not isinstance(value, str):
            raise MetadataError(f"{field} must be a string, got {value!r}")
        out[field] = value
    for field in DATE_FIELDS:
        epoch = record_epoch(record.get(field))
        out[field] = "" if epoch is None else epoch
    names = set(record.get("categories") or ())
    for name in names:
        if not isinstance(name, str) or not name:
            raise MetadataError(f"categories must be non-empty strings, got {name!r}")
        out[f"cat:{name}"] = True
    out["n_categories"] = len(names)
    for key, value in (record.get("metadata") or {}).items():
        if value is None:
            continue
        number = metadata_number(value)
        if not isinstance(value, str | bool) and number is None:
            raise MetadataError(f"metadata {key!r}: Chroma cannot hold {value!r}")
        out[f"md:{key}"] = value
        if number is not None:
            out[f"num:{key}"] = number
    return out
