"""Records a regional HIS does not label with a hospitalId are neither dropped nor shown twice (issue 11 item 4).

A small real HTTP server plays a regional HIS serving hospitals 901 and 902 behind one endpoint that, as the
spec allows, leaves out the record-level hospitalId: asked "901,902" it answers both hospitals' records
unlabelled; asked "901" or "902" it answers that hospital's own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from api.settings import Settings
from his_clients.catalog import by_section
from his_clients.registry import Endpoint, Hospital, Registry
from tests.conftest import DEMO_CARD, run_graphql, running_gateway
from tests.spec_catalog import HIS_ENTRIES, load_generator

GENERATOR = load_generator()
PATIENT = next(e for e in HIS_ENTRIES if e["section"] == "2.1.1")
LIST = by_section("41.1.1").name
DETAIL = by_section("41.1.2").name
DETAIL_ENTRY = next(e for e in HIS_ENTRIES if e["section"] == "41.1.2")


def _pathology(report_id: str) -> dict[str, Any]:
    return {
        "id": report_id,
        "regTime": "2026-01-05 09:00:00",
        "auditTime": "2026-01-06 09:00:00",
        "item": f"病理 {report_id}",
        "patType": "1",
        "auditDoctor": "王春霞",
        "reportStatus": "2",
    }


REPORTS = {"901": [_pathology("P-901")], "902": [_pathology("P-902")]}


class _RegionalHis(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str | None]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        method = self.path.rstrip("/").rsplit("/", 1)[-1]
        asked = str(body.get("hospitalId", ""))
        type(self).received.append((method, body.get("hospitalId")))
        if method == LIST:
            data: Any = [r for h in asked.split(",") for r in REPORTS.get(h.strip(), [])]
        elif method == PATIENT["method"]:
            data = GENERATOR.response_example(PATIENT)["data"]
        elif method == DETAIL:
            data = {k: v for k, v in GENERATOR.response_example(DETAIL_ENTRY)["data"].items() if k != "hospitalId"}
            data = {k: v for k, v in data.items() if k.strip() != "isPositive"}  # not a sensitive one
            data["id"] = body.get("id")
        else:
            data = None
        reply = json.dumps({"success": True, "code": "10001", "msg": "成功", "data": data}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def regional_url() -> Iterator[str]:
    _RegionalHis.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RegionalHis)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


QUERY = """
query Pathology($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    pathologyReports(hospitalId: $hospitals) { hospitalId reports { id hospitalId } }
  }
}"""


async def test_unlabelled_records_are_shown_once_under_their_own_hospital(regional_url: str, tmp_path: Path) -> None:
    """issue 11 item 4: 41.1.1 behind a regional HIS that leaves out hospitalId lost every record; now each
    hospital is asked on its own once the group's reply cannot be split, and each record shows once."""
    registry = Registry(
        hospitals=(
            Hospital(id="901", name="北院", endpoint="regional"),
            Hospital(id="902", name="南院", endpoint="regional"),
        ),
        endpoints=(Endpoint(id="regional", base_url=regional_url),),
    )
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.sqlite3'}", registry=registry)
    async with running_gateway(settings) as gateway:
        body = await run_graphql(gateway, QUERY, card=DEMO_CARD, hospitals="901,902")
    assert "errors" not in body, body["errors"]
    entries = {e["hospitalId"]: [r["id"] for r in e["reports"]] for e in body["data"]["patient"]["pathologyReports"]}
    assert entries == {"901": ["P-901"], "902": ["P-902"]}
    asked = sorted(str(h) for m, h in _RegionalHis.received if m == LIST)
    assert asked == ["901", "901,902", "902"]


DETAILS = """
query Pathology($card: String!) {
  patient(medicalCardNumber: $card) {
    pathologyReports(hospitalId: "901") {
      reports { id detail { __typename ... on PathologyReportDetail { id: reportId } } }
    }
  }
}"""


async def test_details_of_an_unlabelled_report_go_without_hospital_id(regional_url: str, tmp_path: Path) -> None:
    """issue 11 item 12: 41.1.2 "如果接口41.1.1未返回hospitalId字段…则调用此接口时不会传递此参数"; the call still
    goes to the endpoint the report came from."""
    registry = Registry(
        hospitals=(Hospital(id="901", name="北院", endpoint="regional"),),
        endpoints=(Endpoint(id="regional", base_url=regional_url),),
    )
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'g.sqlite3'}", registry=registry)
    async with running_gateway(settings) as gateway:
        body = await run_graphql(gateway, DETAILS, card=DEMO_CARD)
    assert "errors" not in body, body["errors"]
    [entry] = body["data"]["patient"]["pathologyReports"]
    assert entry["reports"] == [{"id": "P-901", "detail": {"__typename": "PathologyReportDetail", "id": "P-901"}}]
    assert [h for m, h in _RegionalHis.received if m == DETAIL] == [None]
