"""The Mutation root, merged from each domain's mutations (one mutation per file, in <domain>/mutations/)."""

from __future__ import annotations

MUTATIONS: list[type] = []
"""Each domain's mutation classes (strawberry types whose fields are mutations)."""
