"""The ``memkit mcp`` command (being written)."""

from __future__ import annotations
