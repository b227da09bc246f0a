"""The bottom layer: the SQL record store (the system of record) and the Chroma index derived
from it, opened, locked, written in order and repaired together. It imports nothing from
search, filters, extraction or monitoring (import-linter holds it to that)."""
