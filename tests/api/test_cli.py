"""The commands the README promises: `hisgraph demo` prints a GraphiQL URL and a sample query that works."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from resolvers.schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def hisgraph(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", *args]


def test_schema_command_prints_the_sdl() -> None:
    result = subprocess.run(hisgraph("schema"), capture_output=True, text=True, check=True, cwd=ROOT)
    assert result.stdout == sdl()


def test_demo_serves_the_sample_query(tmp_path: Path) -> None:
    process = subprocess.Popen(
        hisgraph("demo", "--port", "0", "--data-dir", str(tmp_path)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            printed.append(line)
            if line.startswith("}"):  # the end of the sample query
                break
        text = "".join(printed)
        match = re.search(r"GraphiQL: (http://\S+/graphql)", text)
        assert match, text
        query = text[text.index("{\n") :]
        url = match.group(1)
        for _ in range(100):  # the server starts right after printing
            try:
                response = httpx.post(url, json={"query": query}, timeout=10)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        body = response.json()
        assert "errors" not in body, json.dumps(body, ensure_ascii=False)[:500]
        assert len(body["data"]["hospitals"]) == 5
        assert [p["hospitalId"] for p in body["data"]["patient"]["pendingPayments"]] == [
            "253",
            "254",
            "255",
            "256",
            "257",
        ]
        assert httpx.get(url, headers={"Accept": "text/html"}).status_code == 200  # GraphiQL in dev mode
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
