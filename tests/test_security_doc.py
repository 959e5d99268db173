"""SECURITY.md stays true: every test it names as a control's proof exists.

A control whose proof was renamed or deleted is a claim nobody checks any more; this keeps the table honest.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"


def _defined_tests() -> dict[str, set[str]]:
    """Test function names per test file (relative path), and per bare file name."""
    found: dict[str, set[str]] = {}
    for path in TESTS.rglob("test_*.py"):
        names = set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.MULTILINE))
        found.setdefault(str(path.relative_to(ROOT)), set()).update(names)
        found.setdefault(path.name, set()).update(names)
    return found


def _proofs() -> list[str]:
    """The backticked references in the last column of SECURITY.md's control tables."""
    refs: list[str] = []
    for line in (ROOT / "SECURITY.md").read_text(encoding="utf-8").splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) >= 6 and not set(cells[-2].strip()) <= set("-"):
            refs.extend(re.findall(r"`([^`]+)`", cells[-2]))
    return refs


def test_every_proof_named_in_security_md_exists() -> None:
    defined = _defined_tests()
    missing: list[str] = []
    current: str | None = None
    for ref in _proofs():
        file_part, _, name = ref.partition("::")
        if file_part:
            current = file_part.split()[0]
            if current.endswith("/"):
                if not (ROOT / current).is_dir():
                    missing.append(ref)
                continue
            if current not in defined:
                missing.append(ref)
                continue
        if name and (current is None or name.split("[")[0] not in defined.get(current, set())):
            missing.append(ref)
    assert _proofs(), "SECURITY.md names no proofs"
    assert missing == []
