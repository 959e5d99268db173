"""No log line holds a full ID-card number or a full mobile number.

Two checks, neither depending on which other tests ran or in what order:
- ``test_a_day_of_traffic_logs_no_personal_numbers`` makes its own traffic: the demo's sample queries, hospitals
  failing with personal numbers in their error text, a card binding (the SMS step), a shim call and a request
  with personal numbers in its query string. It captures every record through the gateway's own masking
  handler and scans what was written.
- ``tests/conftest.py`` scans the log of the whole run at the end of the session (``pytest_sessionfinish``) and
  fails the run on a leak, whatever tests were selected.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import httpx

from api.demo import SAMPLE_QUERIES
from api.logs import JsonFormatter, masked_handler
from api.settings import Settings
from his_clients.registry import Registry

from .conftest import DEMO_CARD, DEMO_ID_NUMBER, inject, personal_numbers, running_gateway

PHONE = "13800138000"


class _RawJson(JsonFormatter):
    """The gateway's JSON lines with nothing masked, traceback included: what a record would say unmasked."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line + (self.formatException(record.exc_info) if record.exc_info else "")


def test_the_scan_finds_what_it_looks_for() -> None:
    assert personal_numbers(f"id {DEMO_ID_NUMBER} phone {PHONE}") == [DEMO_ID_NUMBER, PHONE]
    assert personal_numbers("id 370102********5236 phone 138****8000") == []
    # A trace id's digits can run like a mobile number (15168197539 here); it is no personal number.
    assert personal_numbers('"trace_id": "cf5402d35659ceee15168197539c6578", "span_id": "13812341234abcde"') == []
    assert personal_numbers(f'"trace_id": "{"0" * 32}", "phone": "{PHONE}"') == [PHONE]


async def test_a_day_of_traffic_logs_no_personal_numbers(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    # Two views of the same records: ``raw`` sees each record before anything masks it (first in line: the
    # masking filter rewrites records in place), ``masked`` is the gateway's own handler.
    raw_stream, stream = io.StringIO(), io.StringIO()
    raw = logging.StreamHandler(raw_stream)
    raw.setFormatter(_RawJson())
    handler = masked_handler(stream)
    root = logging.getLogger()
    previous = root.level
    root.handlers.insert(0, raw)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    internals = f"ORA-00942 at com.his.PatientDao for {DEMO_ID_NUMBER}, call {PHONE}"
    inject(sim_admin, hospitalId="254", method="*", kind="code", code="30001", msg=internals)
    inject(sim_admin, hospitalId="253", method="hospital.interface.getWaitPayListByCard", kind="invalid_json")
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'scan.sqlite3'}", registry=region, request_deadline_s=3.0
    )
    try:
        async with running_gateway(settings) as gateway:
            for _title, query in SAMPLE_QUERIES:
                response = await gateway.post("/graphql", json={"query": query})
                assert response.status_code == 200, response.text[:300]
            binding = """
mutation Bind($card: String!, $id: String!) {
  startCardBinding(hospitalId: "253", medicalCardNumber: $card, name: "张三", idCard: $id) { __typename }
}"""
            variables = {"card": DEMO_CARD, "id": DEMO_ID_NUMBER}
            await gateway.post("/graphql", json={"query": binding, "variables": variables})
            await gateway.post(f"/graphql?idCard={DEMO_ID_NUMBER}&phone={PHONE}", json={"query": "{ __typename }"})
            await gateway.post(
                "/prefront/patient/getPatientInfo",
                json={"hospitalId": "253", "idCard": DEMO_ID_NUMBER, "phone": PHONE},
            )
    finally:
        root.removeHandler(raw)
        root.removeHandler(handler)
        root.setLevel(previous)
    # The traffic did put personal numbers into log records (else the scan below would prove nothing) ...
    assert personal_numbers(raw_stream.getvalue()), "no record carried a personal number: the scan proves nothing"
    # ... and none of them was written.
    assert personal_numbers(stream.getvalue()) == []
