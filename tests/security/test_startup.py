"""Production starts only when safe: issue 10 item 14 (the start-up refusal), issue 14's "first five minutes"."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import Settings, UnsafeProduction
from his_clients.registry import Registry

ROOT = Path(__file__).resolve().parents[2]
ALLOW_ALL = {
    "allow_random_secrets": True,
    "allow_sandbox_payments": True,
    "allow_fake_sms": True,
    "allow_loopback_public_url": True,
}
RISKS = {
    "allow_random_secrets": "HISGRAPH_ALLOW_RANDOM_SECRETS",
    "allow_sandbox_payments": "HISGRAPH_ALLOW_SANDBOX_PAYMENTS",
    "allow_fake_sms": "HISGRAPH_ALLOW_FAKE_SMS",
    "allow_loopback_public_url": "HISGRAPH_ALLOW_LOOPBACK_PUBLIC_URL",
}


def production(region: Registry, tmp_path: Path, **given: object) -> Settings:
    return Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'startup.sqlite3'}",
        registry=region,
        **given,  # type: ignore[arg-type]
    )


def test_production_with_every_dev_default_refuses_naming_each_reason(region: Registry, tmp_path: Path) -> None:
    """issue 10 item 14: random secrets, the sandbox, the fake SMS sender and a loopback URL each stop start-up."""
    with pytest.raises(UnsafeProduction) as refused:
        create_app(production(region, tmp_path))
    line = str(refused.value)
    assert "\n" not in line
    for setting in RISKS.values():
        assert setting in line
    assert "HISGRAPH_SESSION_SECRET" in line
    assert "HISGRAPH_FILE_LINK_SECRET" in line


@pytest.mark.parametrize("risk", sorted(RISKS))
def test_each_risk_must_be_allowed_on_its_own(region: Registry, tmp_path: Path, risk: str) -> None:
    """issue 10 item 14: allowing three of the four still refuses, naming the fourth only."""
    allowed = {name: value for name, value in ALLOW_ALL.items() if name != risk}
    with pytest.raises(UnsafeProduction) as refused:
        create_app(production(region, tmp_path, **allowed))
    line = str(refused.value)
    assert RISKS[risk] in line
    assert all(setting not in line for name, setting in RISKS.items() if name != risk)


def test_configured_secrets_and_public_url_need_no_allowance(region: Registry, tmp_path: Path) -> None:
    """issue 10 item 14: what a real deployment sets is enough; dev mode never refuses."""
    settings = production(
        region,
        tmp_path,
        session_secret="s" * 43,
        file_link_secret="f" * 43,
        public_base_url="https://gateway.example.cn",
        allow_sandbox_payments=True,
        allow_fake_sms=True,
    )
    assert settings.production_refusals() == []
    create_app(settings)
    assert Settings(mode="dev").production_refusals() == []
    for loopback in ("http://localhost:8000", "http://[::1]:8000", "http://0.0.0.0", "http://127.0.0.2"):
        risky = settings.model_copy(update={"public_base_url": loopback})
        assert [r for r in risky.production_refusals() if "HISGRAPH_ALLOW_LOOPBACK_PUBLIC_URL" in r], loopback


def test_serve_refuses_in_one_line_without_a_traceback(tmp_path: Path) -> None:
    """issue 10 item 14 through the CLI: `hisgraph serve` in production says why in one line and exits 2."""
    env = {
        **os.environ,
        "HISGRAPH_MODE": "production",
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.sqlite3'}",
    }
    for name in (*RISKS.values(), "HISGRAPH_SESSION_SECRET", "HISGRAPH_FILE_LINK_SECRET", "HISGRAPH_PUBLIC_BASE_URL"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--config", "hospitals.example.toml", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "production refused to start" in lines[0]
    assert "HISGRAPH_ALLOW_SANDBOX_PAYMENTS" in lines[0]
    assert "Traceback" not in result.stderr
