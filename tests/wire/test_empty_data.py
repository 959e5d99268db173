"""A success reply whose ``data`` is null, missing or empty reads as no data (issue 11 item 17).

The spec: "即使返回数据为空，也应该保持返回的数据结构完整性". Hospitals that send ``null`` anyway are
answering "nothing here", not breaking the protocol. A small real HTTP server plays such a hospital.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from his_clients.client import HisClient
from his_clients.errors import HisNoData
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.reports_pathology import (
    PATHOLOGY_REPORT_DETAIL,
    PATHOLOGY_REPORT_RECORD,
    PathologyReportDetailRequest,
    PathologyReportRecordRequest,
)
from his_clients.registry import Hospital, Registry

MISSING = object()


class _Hospital(BaseHTTPRequestHandler):
    """Answers every call with success and the ``data`` the test chose."""

    data: ClassVar[Any] = None

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        reply: dict[str, Any] = {"success": True, "code": "10001", "msg": "成功"}
        if self.data is not MISSING:
            reply["data"] = self.data
        body = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def hospital_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hospital)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _registry(url: str) -> Registry:
    return Registry(hospitals=(Hospital(id="901", name="空数据医院", base_url=url),))


@pytest.mark.parametrize("data", [None, MISSING, "", []], ids=["null", "missing", "blank", "empty-list"])
async def test_a_list_method_without_data_is_an_empty_list(hospital_url: str, data: Any) -> None:
    """issue 11 item 17: 41.1.1 answered success with data null: no reports, not a protocol error."""
    _Hospital.data = data
    async with HisClient(_registry(hospital_url)) as client:
        reports = await client.call(PATHOLOGY_REPORT_RECORD, "901", _list_request(), deadline=None)
    assert reports == []


@pytest.mark.parametrize("data", [None, MISSING, "", {}], ids=["null", "missing", "blank", "empty-object"])
async def test_an_object_method_without_data_is_no_data(hospital_url: str, data: Any) -> None:
    """issue 11 item 17: 3.1.1 and 41.1.2 answered success with data null: HisNoData (10002), as for 未查询到数据."""
    _Hospital.data = data
    async with HisClient(_registry(hospital_url)) as client:
        with pytest.raises(HisNoData):
            await client.call(
                QUERY_WAIT_PAY, "901", QueryWaitPayRequest(medical_card_number="001000056254587"), deadline=None
            )
        with pytest.raises(HisNoData):
            await client.call(PATHOLOGY_REPORT_DETAIL, "901", PathologyReportDetailRequest(id="1001"), deadline=None)


def _list_request() -> PathologyReportRecordRequest:
    return PathologyReportRecordRequest(
        medical_card_number="001000056254587",
        patient_name="张三",
        start_time="2026-01-01 00:00:00",
        end_time="2026-12-01 23:59:59",
    )
