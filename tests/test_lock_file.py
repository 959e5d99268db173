"""The lock files name every dependency pyproject.toml declares (issue 14: reproducible installs).

`make` installs from requirements-dev.lock (the runtime and dev dependencies, pinned with hashes), then the
project itself with `--no-deps`; a region deploys from requirements.lock (runtime only). A dependency added
to pyproject.toml without re-locking would never be installed, so this test names it and says what to run.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)", re.MULTILINE)


def declared() -> dict[str, list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {
        "requirements.lock": [Requirement(text) for text in project["dependencies"]],
        "requirements-dev.lock": [
            Requirement(text) for text in [*project["dependencies"], *project["optional-dependencies"]["dev"]]
        ],
    }


def pins(lock: str) -> dict[str, Version]:
    text = (ROOT / lock).read_text(encoding="utf-8")
    return {canonicalize_name(found["name"]): Version(found["version"]) for found in PIN.finditer(text)}


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_the_lock_pins_every_declared_dependency_within_its_range(lock: str) -> None:
    """issue 14 "Installs are reproducible": a dependency added without re-locking fails here, saying so."""
    pinned = pins(lock)
    missing, outside = [], []
    for requirement in declared()[lock]:
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # not for this platform (e.g. uvloop on Windows)
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            missing.append(str(requirement))
        elif not requirement.specifier.contains(version, prereleases=True):
            outside.append(f"{requirement} (locked {version})")
    assert not missing, f"pyproject.toml declares {missing} but {lock} does not pin it: run `make lock`"
    assert not outside, f"{lock} pins outside what pyproject.toml allows: {outside}: run `make lock`"


def test_every_pin_carries_hashes_and_the_bench_extra_stays_out() -> None:
    """Hash-checked installs: pip refuses a file that is not the one tested. httpx-aiohttp (only a benchmark
    uses it) is in the bench extra, not in what `make` or a region installs."""
    for lock in ("requirements.lock", "requirements-dev.lock"):
        text = (ROOT / lock).read_text(encoding="utf-8")
        starts = [found.start() for found in PIN.finditer(text)] + [len(text)]
        entries = [text[start:end] for start, end in itertools.pairwise(starts)]
        unhashed = [entry.split()[0] for entry in entries if "--hash=sha256:" not in entry]
        assert not unhashed, f"{lock}: pins without a hash: {unhashed}: run `make lock`"
        assert "httpx-aiohttp" not in pins(lock), lock
