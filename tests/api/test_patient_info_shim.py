"""1.3.1 prefront/patient/getPatientInfo, answered from the store in the spec's envelope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

SPEC = Path(__file__).resolve().parents[2] / "spec" / "interfaces.json"
PATH = "/prefront/patient/getPatientInfo"


def spec_entry() -> dict[str, Any]:
    entries = json.loads(SPEC.read_text(encoding="utf-8"))
    entry: dict[str, Any] = next(e for e in entries if e["http_path"] == PATH.lstrip("/"))
    return entry


@pytest.fixture
async def seeded(gateway: httpx.AsyncClient) -> httpx.AsyncClient:
    from store.seed import seed_demo

    await seed_demo(gateway._transport.app.state.services.db)  # type: ignore[attr-defined]
    return gateway


async def test_the_spec_example_gets_the_spec_reply(seeded: httpx.AsyncClient) -> None:
    entry = spec_entry()
    response = await seeded.post(PATH, json=entry["request_example"])
    assert response.status_code == 200
    assert response.json() == entry["response_example"]


@pytest.mark.parametrize(
    "path",
    ["//prefront/patient/getPatientInfo", "/prefront/patient/getPatientInfo/", "/prefront//patient/getPatientInfo"],
)
async def test_sloppy_paths_answer_the_same(seeded: httpx.AsyncClient, path: str) -> None:
    # An absolute URL, so that httpx keeps a leading "//" as the path rather than reading a host from it.
    response = await seeded.post(f"http://gateway{path}", json={"medicalCardNumber": "001000056254587"})
    assert response.status_code == 200
    assert response.json()["code"] == "10001"


async def test_the_table_spelling_and_any_json_content_type(seeded: httpx.AsyncClient) -> None:
    response = await seeded.post(
        PATH,
        content=json.dumps({"MedicalCardNumber": "001000056254587"}).encode(),
        headers={"Content-Type": "application/Json;charset=UTF-8"},
    )
    assert response.json()["data"]["name"] == "张三"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "20001"),
        ({"medicalCardNumber": ""}, "20001"),
        ({"medicalCardNumber": 1000056254587}, "20002"),
        ({"medicalCardNumber": "12345"}, "20003"),
        ({"medicalCardNumber": "001000099999999"}, "10002"),
    ],
)
async def test_refusals_use_the_spec_codes(seeded: httpx.AsyncClient, body: dict[str, Any], code: str) -> None:
    response = await seeded.post(PATH, json=body)
    assert response.status_code == 200
    reply = response.json()
    assert reply["success"] is False
    assert reply["code"] == code
    assert set(reply) == {"success", "msg", "code", "data"}


async def test_a_body_that_is_not_json_is_20003(seeded: httpx.AsyncClient) -> None:
    response = await seeded.post(PATH, content=b"medicalCardNumber=1", headers={"Content-Type": "Application/JSON"})
    assert response.status_code == 200
    assert response.json()["code"] == "20003"
    # A form's type never reaches the shim (api/guards.py): the envelope, 20003, HTTP 415.
    response = await seeded.post(PATH, content=b"medicalCardNumber=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json()["code"] == "20003"
