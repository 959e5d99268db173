"""The whole catalog through the real client and real HTTP: every HIS method, standalone and regional.

For every ``direction: his`` entry, the spec's own request example goes out through ``HisClient``
to the simulated region; the reply must parse into the method's model and carry every field the
spec's table marks required. The simulator builds its replies from its own data and the catalog,
never from ``his_clients``, so agreement here means both follow the spec.

Every method runs over HTTP (standalone and regional) and over both WebService styles: ``per_method`` at a
standalone hospital and ``dispatch`` behind the regional endpoint (one SOAP run per method and style keeps
the suite short; tests/his_clients/test_client.py runs the call path's contract over all three at both).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.method import Envelope
from simulator.server import RunningSimulator
from tests.his_clients.transports import region_over
from tests.spec_catalog import (
    HIS_ENTRIES,
    as_sent,
    dump,
    entry_id,
    keys_of,
    load_generator,
    method_of,
    required_reply_fields,
)

GENERATOR = load_generator()
CALL_TIMEOUT_S = 10.0
"""Conformance, not latency: a call answers in about 10 ms (the per_method WSDL, 186 KB, fetched once per
client, included), but the simulator shares this process's GIL and the machine may be loaded; 2 s timed out
once (36.1.1 over SOAP, nothing slow in it). Timeouts themselves are tested in tests/his_clients."""
DCM_ID = "23231add212ad12dada21"  # an image index from 16.1.3's example


def request_for(entry: dict[str, Any]) -> Any:
    method = method_of(entry)
    if method.envelope is Envelope.FILE:
        return method.request.model_validate({"dcmId": DCM_ID})
    example = as_sent(entry["request_example"], GENERATOR.RENAMES.get((entry["section"], "request"), {}))
    example.pop("hospitalId", None)  # the client writes the hospital it calls
    return method.request.model_validate(example)


@pytest.fixture
def fresh_region(sim_admin: httpx.Client) -> None:
    """Writes change the simulator's state: each entry starts from the seeded data."""
    sim_admin.post("/admin/reset").raise_for_status()


@pytest.mark.usefixtures("fresh_region")
@pytest.mark.parametrize(
    ("transport", "hospital_id"),
    [("http", "253"), ("http", "256"), ("soap_per_method", "253"), ("soap_dispatch", "256")],
    ids=["standalone", "regional", "soap-per_method", "soap-dispatch-regional"],
)
@pytest.mark.parametrize("entry", HIS_ENTRIES, ids=entry_id)
async def test_the_spec_example_gets_a_conforming_reply(
    entry: dict[str, Any], transport: str, hospital_id: str, simulator: RunningSimulator
) -> None:
    method = method_of(entry)
    async with HisClient(region_over(simulator.base_url, transport, timeout_s=CALL_TIMEOUT_S)) as client:
        reply = await client.call(method, hospital_id, request_for(entry), deadline=None)
    if method.envelope is Envelope.FILE:
        assert reply[128:132] == b"DICM", "a DICOM file (preamble, then DICM)"
        return
    if method.envelope is Envelope.BARE:
        assert reply is None
        return
    renamed = {k.lower(): v.lower() for k, v in GENERATOR.RENAMES.get((entry["section"], "reply"), {}).items()}
    required = {renamed.get(name, name) for name in required_reply_fields(entry)}
    present = keys_of(dump(reply)) | ({"data"} if reply is not None else set())
    assert required <= present, f"missing required fields: {sorted(required - present)}"
