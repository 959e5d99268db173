"""The spec's catalog as tests walk it: entries, their methods, and how examples are compared."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel

from his_clients.catalog import by_section
from his_clients.method import HisMethod

REPO = Path(__file__).resolve().parents[1]
ENTRIES: list[dict[str, Any]] = json.loads((REPO / "spec" / "interfaces.json").read_text(encoding="utf-8"))
HIS_ENTRIES = [e for e in ENTRIES if e["direction"] == "his"]
ENVELOPE = {"success", "msg", "code", "data"}


def load_generator() -> ModuleType:
    """scripts/gen_his_models.py as a module (its example repairs and renames are reused by tests)."""
    spec = importlib.util.spec_from_file_location("gen_his_models", REPO / "scripts" / "gen_his_models.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def entry_id(entry: dict[str, Any]) -> str:
    return f"{entry['section']}{'-' + entry['variant'] if entry['variant'] else ''}"


def method_of(entry: dict[str, Any]) -> HisMethod[Any, Any]:
    return by_section(entry["section"], entry["variant"])


def keys_of(value: Any) -> set[str]:
    """Every key of a JSON value, at any depth, stripped and lower-cased."""
    if isinstance(value, dict):
        return {k.strip().lower() for k in value} | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def dump(value: Any) -> Any:
    """A parsed reply back as JSON, by the spec's names."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, mode="json", exclude_none=True)
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


def as_sent(value: Any, renames: dict[str, str]) -> Any:
    """A request example as we send it: keys stripped (``"orderName "``) and nulls left out."""
    if isinstance(value, dict):
        return {renames.get(k.strip(), k.strip()): as_sent(v, renames) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [as_sent(v, renames) for v in value]
    return value


def required_reply_fields(entry: dict[str, Any]) -> set[str]:
    """The reply fields the spec's table marks required, lower-cased, without the envelope's."""
    return {r["name"].strip().lower() for r in entry["response_fields"] if r["required"]} - ENVELOPE
