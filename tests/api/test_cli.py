"""The commands the README promises: `hisgraph demo` prints a GraphiQL URL and sample queries that work."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.demo import SAMPLE_QUERIES, SIGN_IN
from resolvers.schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def hisgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def test_schema_command_prints_the_sdl() -> None:
    result = subprocess.run(hisgraph("schema"), capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout == sdl()


def _has_content(value: Any) -> bool:
    """Some non-null leaf somewhere in a GraphQL answer."""
    if isinstance(value, dict):
        return any(_has_content(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_content(v) for v in value)
    return value is not None


def _printed_samples(text: str) -> list[tuple[str, str]]:
    """The (title, query) pairs the demo printed after "Try these queries"."""
    section = text[text.index("Try these queries in GraphiQL:") :]
    return re.findall(r"^# ([^\n]+)\n(.*?^\})$", section, re.MULTILINE | re.DOTALL)


def _session_headers(url: str) -> dict[str, str]:
    """A session for the demo's patient when the demo can sign in (development mode's devLogin), else none."""
    body = httpx.post(url, json={"query": SIGN_IN}, timeout=10).json()
    if body.get("errors") or not body.get("data"):
        return {}
    return {"Authorization": f"Bearer {body['data']['devLogin']['token']}"}


def test_demo_serves_the_sample_queries(tmp_path: Path) -> None:
    process = subprocess.Popen(
        hisgraph("demo", "--port", "0", "--data-dir", str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    last_title = SAMPLE_QUERIES[-1][0]
    try:
        assert process.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            printed.append(line)
            if line == "}\n" and f"# {last_title}\n" in printed:  # the end of the last sample query
                break
        text = "".join(printed)
        match = re.search(r"GraphiQL: (http://\S+/graphql)", text)
        assert match, text
        url = match.group(1)
        samples = _printed_samples(text)
        assert [title for title, _ in samples] == [title for title, _ in SAMPLE_QUERIES], text
        for _ in range(100):  # the server starts right after printing
            try:
                headers = _session_headers(url)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        for title, query in samples:
            body = httpx.post(url, json={"query": query}, headers=headers, timeout=30).json()
            assert "errors" not in body, f"{title}: {json.dumps(body, ensure_ascii=False)[:500]}"
            for field, value in body["data"].items():
                assert _has_content(value), f"{title}: {field} is empty"
                if isinstance(value, dict):  # patient { perHospitalField: [...] }: no hospital left out
                    assert all(entry is not None for v in value.values() if isinstance(v, list) for entry in v)
            if title.startswith("Bills waiting to be paid"):
                payments = body["data"]["patient"]["pendingPayments"]
                assert [p["hospitalId"] for p in payments] == ["253", "254", "255", "256", "257"]
        assert httpx.get(url, headers={"Accept": "text/html"}).status_code == 200  # GraphiQL in dev mode
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()


def test_operator_create_stores_a_hashed_password(tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'ops.sqlite3'}"
    env = {**os.environ, "HISGRAPH_OPERATOR_PASSWORD": "correct horse battery staple"}
    args = ["operator", "create", "--username", "li.na", "--role", "hospital", "--hospital", "253"]
    created = subprocess.run(
        hisgraph(*args, "--database-url", database_url), capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert created.returncode == 0, created.stderr
    assert "sees hospital 253" in created.stdout
    refused = subprocess.run(
        hisgraph("operator", "create", "--username", "x", "--role", "hospital", "--database-url", database_url),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert refused.returncode == 2
    assert "needs --hospital" in refused.stderr

    with contextlib.closing(sqlite3.connect(tmp_path / "ops.sqlite3")) as connection:
        [(stored,)] = connection.execute("select password_hash from operators").fetchall()
    assert stored.startswith("scrypt$")
    assert "correct horse" not in stored
