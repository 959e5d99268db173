"""Every `direction: his` request example, sent over HTTP, gets a successful, complete reply."""

from __future__ import annotations

import httpx
import pytest

from simulator.catalog import DCM_FILE_METHOD, Entry, his_entries
from tests.simulator.helpers import keys_anywhere

JSON_ENTRIES = [e for e in his_entries() if e.request_example is not None]


def _required_fields(entry: Entry) -> set[str]:
    return {field.name.strip().lower() for field in entry.response_fields if field.required}


@pytest.mark.parametrize("entry", JSON_ENTRIES, ids=lambda e: f"{e.section}-{e.method}")
def test_example_request_succeeds_at_a_standalone_hospital(client: httpx.Client, entry: Entry) -> None:
    response = client.post(f"/his/253/{entry.method}", json=entry.request_example)
    assert response.status_code == 200
    reply = response.json()
    assert reply["success"] is True, reply
    assert reply["code"] == "10001"
    missing = _required_fields(entry) - keys_anywhere(reply)
    assert not missing, (missing, reply)


@pytest.mark.parametrize("entry", JSON_ENTRIES, ids=lambda e: f"{e.section}-{e.method}")
def test_example_request_succeeds_at_the_regional_endpoint(client: httpx.Client, entry: Entry) -> None:
    body = dict(entry.request_example)
    body["hospitalId"] = "256,257" if entry.multi_hospital else "257"
    reply = client.post(f"/regional/{entry.method}", json=body).json()
    assert reply["success"] is True, reply
    assert not _required_fields(entry) - keys_anywhere(reply)


def test_dcm_file_streams_bytes(client: httpx.Client) -> None:
    response = client.get(f"/his/254/{DCM_FILE_METHOD}", params={"dcmId": "23231add212ad12dada21", "hospitalId": "254"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/octet-stream"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content[128:132] == b"DICM"


def test_dcm_file_at_the_regional_endpoint(client: httpx.Client) -> None:
    response = client.get(
        f"/regional/{DCM_FILE_METHOD}", params={"dcmId": "26113aadd212ad12dada2", "hospitalId": "256"}
    )
    assert response.status_code == 200
    assert response.content[128:132] == b"DICM"


def test_every_catalog_method_has_a_handler_named_in_the_simulator() -> None:
    from simulator.catalog import his_entries
    from simulator.handlers import handler_for

    assert [e.method for e in his_entries() if handler_for(e.method) is None] == []
