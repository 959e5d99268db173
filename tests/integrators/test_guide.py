"""docs/hospital-integration.md: its worked HMAC example is what our verifier accepts, and the Java and C# samples
print its exact signature (issue 16 item 3)."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from api.settings import Settings
from api.shims.auth import ShimAuthenticator, sign_request, string_to_sign
from his_clients.registry import Registry
from store.shim_nonces import StoredNonces
from tests.conftest import running_gateway

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE = DOCS / "hospital-integration.md"


def _block(name: str) -> str:
    """The fenced block right after ``<!-- hmac-example:<name> -->``, without its final line feed."""
    found = re.search(
        rf"<!-- hmac-example:{re.escape(name)} -->\n```[a-z]*\n(.*?)\n```", GUIDE.read_text("utf-8"), re.S
    )
    assert found, name
    return found.group(1)


def _inputs() -> dict[str, str]:
    table = GUIDE.read_text("utf-8").split("<!-- hmac-example:inputs -->", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| ([^|]+?) \| `([^`]*)` \|$", table, re.M))
    return {
        "secret": rows["secret (`hmac_secret`)"],
        "method": rows["method"],
        "path": rows["path"],
        "hospital_id": rows["X-Hospital-Id"],
        "timestamp": rows["X-Timestamp"],
        "nonce": rows["X-Nonce"],
    }


def test_the_guide_bytes_and_signature_are_ours() -> None:
    """issue 16 item 3: the guide's body digest, string to sign and signature are what api/shims/auth.py computes."""
    given = _inputs()
    body = _block("body").encode("utf-8")
    assert f"{len(body)} 字节" in GUIDE.read_text("utf-8")
    assert hashlib.sha256(body).hexdigest() == _block("digest")
    expected = string_to_sign(
        2,
        method=given["method"],
        path=given["path"],
        query=b"",
        hospital_id=given["hospital_id"],
        timestamp=given["timestamp"],
        nonce=given["nonce"],
        body=body,
    )
    assert _block("string-to-sign").encode("utf-8") == expected
    signature = sign_request(
        given["secret"],
        method=given["method"],
        path=given["path"],
        hospital_id=given["hospital_id"],
        timestamp=given["timestamp"],
        nonce=given["nonce"],
        body=body,
    )
    assert signature == _block("signature")
    assert base64.b64encode(bytes.fromhex(_block("signature"))).decode() == _block("signature-base64")


async def test_the_guide_request_passes_our_verifier(region: Registry, tmp_path: Path) -> None:
    """issue 16 item 3: the guide's exact request, sent to the real app for a hospital with the guide's secret, gets
    past authentication (a business answer, not 50001); the base64 form too; one changed byte is 50001."""
    given = _inputs()
    hospitals = tuple(
        h.model_copy(update={"auth": "hmac", "hmac_secret": SecretStr(given["secret"])}) if h.id == "253" else h
        for h in region.hospitals
    )
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=Registry(hospitals=hospitals, endpoints=region.endpoints),
    )
    body = _block("body").encode("utf-8")
    async with running_gateway(settings, signed_in=False) as gateway:
        app = gateway._transport.app  # type: ignore[attr-defined]
        at = datetime.fromtimestamp(int(given["timestamp"]), UTC)
        app.state.shim_auth = ShimAuthenticator(
            app.state.services.registry, StoredNonces(app.state.services.db), clock=lambda: at
        )

        async def send(signature: str, nonce: str, payload: bytes = body) -> str:
            headers = {
                "X-Hospital-Id": given["hospital_id"],
                "X-Timestamp": given["timestamp"],
                "X-Nonce": nonce,
                "X-Signature-Version": "2",
                "X-Signature": signature,
                "Content-Type": "application/json",
            }
            answer: httpx.Response = await gateway.post(given["path"], content=payload, headers=headers)
            assert answer.status_code == 200
            code: str = answer.json()["code"]
            return code

        assert await send(_block("signature"), given["nonce"]) == "20003"  # no such order: a business answer
        assert await send(_block("signature"), given["nonce"]) == "50001"  # the nonce is used now
        fresh = "guide-nonce-0002"
        hex_signature = sign_request(
            given["secret"], method="POST", path=given["path"], hospital_id="253", timestamp=given["timestamp"],
            nonce=fresh, body=body,
        )  # fmt: skip
        base64_signature = base64.b64encode(bytes.fromhex(hex_signature)).decode()
        assert await send(base64_signature, fresh) == "20003"
        assert await send(_block("signature"), "guide-nonce-0003", body.replace(b"32.45", b"32.46")) == "50001"


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_java_sample_prints_the_guide_signature(tmp_path: Path) -> None:
    """issue 16 item 3: docs/samples/java/HisgraphSign.java (JDK only) prints the guide's signature, hex and base64."""
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no JDK (javac/java) on this machine")
    shutil.copy(DOCS / "samples" / "java" / "HisgraphSign.java", tmp_path)
    _run(["javac", "-encoding", "UTF-8", "HisgraphSign.java"], tmp_path)
    lines = _run(["java", "-cp", str(tmp_path), "HisgraphSign"], tmp_path).split()
    assert lines == [_block("signature"), _block("signature-base64")]


def test_csharp_sample_prints_the_guide_signature(tmp_path: Path) -> None:
    """issue 16 item 3: docs/samples/csharp/HisgraphSign.cs prints the guide's signature (only where dotnet is)."""
    if shutil.which("dotnet") is None:
        pytest.skip("no .NET SDK (dotnet) on this machine")
    _run(["dotnet", "new", "console", "-o", "sign", "--force"], tmp_path)
    shutil.copy(DOCS / "samples" / "csharp" / "HisgraphSign.cs", tmp_path / "sign" / "Program.cs")
    lines = _run(["dotnet", "run", "--project", "sign"], tmp_path).split()
    assert lines == [_block("signature"), _block("signature-base64")]
