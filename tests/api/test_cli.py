"""The commands the README promises: `hisgraph demo` prints a GraphiQL URL and sample queries that work."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.cli import build_parser
from api.demo import SAMPLE_QUERIES, SIGN_IN
from resolvers.schema import sdl
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ("--config", str(ROOT / "hospitals.example.toml"))


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
    """A session for the demo's patient when the demo can sign in (development mode's logInForDevelopment),
    else none."""
    body = httpx.post(url, json={"query": SIGN_IN}, timeout=10).json()
    if body.get("errors") or not body.get("data"):
        return {}
    return {"Authorization": f"Bearer {body['data']['logInForDevelopment']['token']}"}


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
            if line.startswith("  GraphiQL:") and f"# {last_title}\n" in printed:  # the banner, after the samples
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
    args = ["operator", "create", "--username", "li.na", "--role", "hospital", "--hospital", "253", *REGISTRY]
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


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        hisgraph(*args), capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd, timeout=120
    )


def one_line_refusal(result: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The CLI's answer to a user's mistake: the given exit code and one line on stderr, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_version() -> None:
    """issue 14: `hisgraph --version`."""
    result = run_cli("--version")
    assert result.returncode == 0
    assert re.fullmatch(r"hisgraph \S+\n", result.stdout)


def test_check_config_prints_what_is_wrong(tmp_path: Path) -> None:
    """issue 14: `check-config` passes the example registry, and lists each problem of a broken one, exit 1."""
    good = run_cli("check-config", *REGISTRY)
    assert good.returncode == 0, good.stderr
    assert "5 hospitals" in good.stdout
    typo = tmp_path / "typo.toml"
    typo.write_text('[[hospitals]]\nid = "253"\nnmae = "x"\nbase_url = "http://127.0.0.1:9/his/253"\n')
    wrong = run_cli("check-config", "--config", str(typo))
    assert wrong.returncode == 1
    assert "Traceback" not in wrong.stderr
    assert "hospitals.0.name: Field required" in wrong.stderr
    assert "hospitals.0.nmae" in wrong.stderr
    unreadable = tmp_path / "broken.toml"
    unreadable.write_text("[[hospitals]\n")
    assert run_cli("check-config", "--config", str(unreadable)).returncode == 1
    assert "no such registry file" in one_line_refusal(run_cli("check-config", "--config", "missing.toml"), 1)


def test_misuse_gets_one_line_and_no_traceback(tmp_path: Path) -> None:
    """issue 10 item 17 and issue 14: duplicate operator, unknown hospital, missing file, registry typo, port in use."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"HISGRAPH_OPERATOR_PASSWORD": "correct horse battery staple", "HISGRAPH_DATABASE_URL": database_url}
    create = ("operator", "create", "--username", "wang.li", "--role", "region")
    assert run_cli(*create, env=env).returncode == 0
    duplicate = one_line_refusal(run_cli(*create, env=env))
    assert "exists already" in duplicate
    assert "scrypt" not in duplicate
    unknown = ("operator", "create", "--username", "zhao", "--role", "hospital", "--hospital", "999", *REGISTRY)
    assert "no hospital '999'" in one_line_refusal(run_cli(*unknown, env=env))
    assert "no such registry file" in one_line_refusal(run_cli("serve", "--config", "nope.toml", env=env))
    typo = tmp_path / "typo.toml"
    typo.write_text('[[hospitals]]\nid = "253"\nname = "x"\nbase_ulr = "http://127.0.0.1:9/his/253"\n')
    assert "base_ulr" in one_line_refusal(run_cli("serve", "--config", str(typo), env=env))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        in_use = run_cli("serve", *REGISTRY, "--port", port, "--workers", "1", env=env)
    assert "in use" in one_line_refusal(in_use)
    # Development mode's sandbox provider keeps its trades in one process: a second worker would not know them.
    several = run_cli("serve", *REGISTRY, "--port", "0", "--workers", "2", env={**env, "HISGRAPH_MODE": "dev"})
    assert "--workers 1" in one_line_refusal(several)


def test_migrate_then_serve_without_migrating(tmp_path: Path) -> None:
    """issue 14: `hisgraph migrate` runs the migrations on their own; `serve --no-migrate` skips them."""
    database = tmp_path / "migrated.sqlite3"
    env = {"HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    migrated = run_cli("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("select version_num from alembic_version").fetchall()
    parser_args = build_parser().parse_args(["serve", "--no-migrate", "--workers", "3"])
    assert parser_args.no_migrate
    assert parser_args.workers == 3


def test_serve_with_two_workers_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    """issue 13 item 1: `serve --workers 2` runs two processes (uvloop, httptools) on one port; SIGTERM stops all."""
    env = {
        **os.environ,
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'workers.sqlite3'}",
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
    }
    port = free_port()
    process = subprocess.Popen(
        hisgraph("--log-level", "INFO", "serve", *REGISTRY, "--port", str(port), "--workers", "2"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:  # until both workers have started their app
            lines.append(line)
            if sum("Application startup complete" in seen for seen in lines) == 2:
                break
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        _, rest = process.communicate(timeout=60)
        lines.append(rest)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    stderr = "".join(lines)
    assert process.returncode == 0, stderr[-2000:]
    started = {json.loads(line)["msg"] for line in stderr.splitlines() if "Started server process" in line}
    assert len(started) == 2  # two worker processes, each logged through the masked JSON handler
    assert "Stopping parent process" in stderr


def test_operator_list_disable_and_reset_password(tmp_path: Path) -> None:
    """issue 15 item 11: `operator list/disable/reset-password`; an unknown operator or hospital is one line, no
    traceback; every change is in the audit trail as the command line."""
    database = tmp_path / "admin.sqlite3"
    env = {
        "HISGRAPH_OPERATOR_PASSWORD": "correct horse battery staple",
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{database}",
    }
    assert (
        run_cli(
            "operator", "create", "--username", "li.na", "--role", "hospital", "--hospital", "253", *REGISTRY, env=env
        ).returncode
        == 0
    )
    assert run_cli("operator", "create", "--username", "wang.li", "--role", "region", env=env).returncode == 0
    listed = run_cli("operator", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "li.na\thospital\t253\tactive\tlast login never",
        "wang.li\tregion\t-\tactive\tlast login never",
    ]
    only = run_cli("operator", "list", "--hospital", "253", *REGISTRY, env=env)
    assert only.stdout.splitlines() == ["li.na\thospital\t253\tactive\tlast login never"]
    assert "no hospital '999'" in one_line_refusal(run_cli("operator", "list", "--hospital", "999", *REGISTRY, env=env))
    disabled = run_cli("operator", "disable", "--username", "li.na", env=env)
    assert disabled.returncode == 0, disabled.stderr
    assert "disabled" in run_cli("operator", "list", env=env).stdout.splitlines()[0]
    reset = run_cli("operator", "reset-password", "--username", "wang.li", env=env)
    assert reset.returncode == 0, reset.stderr
    password = reset.stdout.split("one-time password ")[1].split(" ")[0]
    assert len(password) >= 20
    for command in ("disable", "reset-password"):
        assert "no operator named 'nobody'" in one_line_refusal(
            run_cli("operator", command, "--username", "nobody", env=env)
        )
    with contextlib.closing(sqlite3.connect(database)) as connection:
        rows = connection.execute("select username, action, target from audit_log order by id").fetchall()
        [(stored,)] = connection.execute("select password_hash from operators where username = 'wang.li'").fetchall()
    assert rows == [("cli", "operator-disabled", "li.na"), ("cli", "password-reset", "wang.li")]
    assert password not in stored


def test_a_served_process_moves_start_up_out_of_the_collector_and_collects_the_young_less_often() -> None:
    """What `hisgraph serve` does to each worker's app once built (api/cli.py ``_frozen``), here on a stand-in:
    start-up's objects frozen out of every collection, the youngest generation collected every 10,000
    allocations, the older generations' thresholds as they were. Undone after, for the rest of the suite."""
    import gc

    from api.cli import YOUNG_COLLECTION_THRESHOLD, _frozen

    before = gc.get_threshold()
    app = object()
    try:
        assert _frozen(app) is app
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, before[1], before[2])
        assert YOUNG_COLLECTION_THRESHOLD == 10_000
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
