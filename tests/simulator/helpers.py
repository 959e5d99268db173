"""Shared helpers for the simulator tests."""

from __future__ import annotations

from typing import Any

from simulator.catalog import Entry, his_entries


def keys_anywhere(node: Any) -> set[str]:
    """Every key in a JSON tree, stripped and lower-cased, as a lenient client sees them."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(key.strip().lower())
            found |= keys_anywhere(value)
    elif isinstance(node, list):
        for item in node:
            found |= keys_anywhere(item)
    return found


def entry(section: str, variant: str | None = None) -> Entry:
    return next(e for e in his_entries() if e.section == section and (variant is None or e.variant == variant))


# Required response fields the catalog lists but the reply names differently (spec typos).
FIELD_SPELLINGS = {"refoundno": {"refundno"}}
