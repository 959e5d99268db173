"""Metrics at /metrics and traces across a fan-out (issue 14, "Metrics" and "Traces"), through the real app,
real HTTP to the simulator and a real database."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider

from api import tracing
from api.demo import SAMPLE_QUERIES
from api.logs import JsonFormatter, MaskPersonalData
from api.settings import Settings
from his_clients.registry import Registry
from tests.conftest import calls, inject, run_graphql, running_gateway
from tests.fakes.serve import serving
from tests.fakes.wechat import fake_wechat_app

SECRET = "s" * 32
PRODUCTION = {
    "mode": "production",
    "session_secret": SECRET,
    "file_link_secret": SECRET,
    "allow_sandbox_payments": True,
    "allow_fake_sms": True,
    "allow_loopback_public_url": True,
}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"  # sampled: a caller asking for its trace to be recorded


class _Capture(SpanProcessor):
    """Keeps the ended spans of the traces a test asked for (other tests' spans pass by)."""

    def __init__(self) -> None:
        self.trace_ids: set[int] = set()
        self.spans: list[ReadableSpan] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_id in self.trace_ids:
            self.spans.append(span)


_capture = _Capture()
_capture_added = False


@pytest.fixture
def captured() -> Iterator[_Capture]:
    """The process's tracer provider (api/tracing.py's, whoever set it first) with our processor on it."""
    global _capture_added
    tracing.configure()
    provider = trace.get_tracer_provider()
    assert isinstance(provider, TracerProvider)
    if not _capture_added:
        provider.add_span_processor(_capture)
        _capture_added = True
    _capture.trace_ids = {int(TRACE_ID, 16)}
    _capture.spans = []
    try:
        yield _capture
    finally:
        _capture.trace_ids = set()


def settings_for(region: Registry, tmp_path: Path, **given: Any) -> Settings:
    # A shared, loaded test machine lags its loop now and then: shedding load is not what these tests see.
    no_shedding: dict[str, Any] = {"overload_max_lag_ms": 0} if "overload_max_lag_ms" in Settings.model_fields else {}
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        **no_shedding,
        **given,
    )


def sample(values: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text exposition, or None when absent."""
    for line in values.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_metrics_after_the_demo_queries_show_every_hospital(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client
) -> None:
    """issue 14 Done-when: /metrics scraped after the demo's sample queries has the per-hospital series:
    HIS latency and outcomes per hospital and method, breaker states, operations, store counts."""
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        for _title, query in SAMPLE_QUERIES:
            await run_graphql(gateway, query)
        inject(sim_admin, hospitalId="254", method="hospital.interface.queryWaitPay", kind="code", code="40001")
        await run_graphql(gateway, SAMPLE_QUERIES[0][1])
        response = await gateway.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    wait_pay = "hospital.interface.queryWaitPay"
    for hospital in ("253", "254", "255", "256", "257"):
        count = sample(text, "his_call_seconds_count", hospital=hospital, method=wait_pay)
        assert count is not None, hospital
        assert count >= 1, hospital
        assert sample(text, "his_breaker_state", hospital=hospital) == 0.0
    assert (sample(text, "his_calls_total", hospital="253", method=wait_pay, code="10001", kind="ok") or 0) >= 2
    assert sample(text, "his_calls_total", hospital="254", method=wait_pay, code="40001", kind="rejected") == 1
    assert sample(text, "his_call_seconds_bucket", hospital="255", method=wait_pay, le="+Inf") is not None
    assert (sample(text, "graphql_operation_seconds_count", operation="PendingBills") or 0) >= 2
    assert sample(text, "graphql_operation_errors_total", operation="PendingBills") is not None
    assert sample(text, "his_inflight_calls", hospital="253") == 0.0
    assert sample(text, "outbox_jobs_pending") is not None
    assert sample(text, "payment_orders", state="PARKED") is not None
    assert sample(text, "payment_orders_parked") is not None


async def test_operation_names_cannot_grow_the_series(region: Registry, tmp_path: Path) -> None:
    """issue 14 (metrics), labels bounded: a made-up operation name that is not a GraphQL name counts as other."""
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        await gateway.post("/graphql", json={"query": "query { __typename }", "operationName": "x" * 500})
        response = await gateway.get("/metrics")
    assert "x" * 100 not in response.text
    assert sample(response.text, "graphql_operation_seconds_count", operation="other") is not None


async def test_production_serves_no_metrics_unless_configured(region: Registry, tmp_path: Path) -> None:
    """issue 14 (metrics): production keeps /metrics off the public port by default."""
    async with running_gateway(settings_for(region, tmp_path, **PRODUCTION), signed_in=False) as gateway:
        response = await gateway.get("/metrics")
    assert response.status_code == 404


async def test_protected_metrics_need_the_bearer_token(region: Registry, tmp_path: Path) -> None:
    """issue 14 (metrics): metrics = protected answers 401 without ``metrics_token``, the series with it."""
    token = "m" * 24
    given = {**PRODUCTION, "metrics": "protected", "metrics_token": token}
    async with running_gateway(settings_for(region, tmp_path, **given), signed_in=False) as gateway:
        anonymous = await gateway.get("/metrics")
        wrong = await gateway.get("/metrics", headers={"Authorization": "Bearer " + "n" * 24})
        right = await gateway.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert right.status_code == 200
    assert "his_call_seconds" in right.text


def test_protected_metrics_without_a_token_refuse_to_start(region: Registry, tmp_path: Path) -> None:
    """issue 14 (metrics): protected with no token is a start-up error, not an open endpoint."""
    from api.app import create_app

    with pytest.raises(ValueError, match="HISGRAPH_METRICS_TOKEN"):
        create_app(settings_for(region, tmp_path, **PRODUCTION, metrics="protected"))


def _ancestors(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    parent = span.parent
    while parent is not None and parent.span_id in by_id:
        above = by_id[parent.span_id]
        names.append(above.name)
        parent = above.parent
    return names


async def test_a_fan_out_to_three_hospitals_is_one_trace(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client, captured: _Capture
) -> None:
    """issue 14 Done-when: one trace, the caller's traceparent honoured, covers the GraphQL operation and a HIS
    call span per hospital (hospital, method, code, transport; SOAP for 255) and database work; each hospital
    received a traceparent of that trace naming its own HIS call span."""
    query = """query ThreeHospitals {
      patient(medicalCardNumber: "001000056254587") { pendingPayments(hospitalId: "253,254,255") { hospitalId } }
    }"""
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        response = await gateway.post("/graphql", json={"query": query}, headers={"traceparent": TRACEPARENT})
    assert response.status_code == 200
    assert "errors" not in response.json(), response.text[:300]
    spans: Sequence[ReadableSpan] = list(captured.spans)
    by_id = {span.context.span_id: span for span in spans if span.context is not None}
    operation = [span for span in spans if span.name == "graphql ThreeHospitals"]
    assert len(operation) == 1
    server = [span for span in spans if span.name.startswith("HTTP POST")]
    assert [span.name for span in server] == ["HTTP POST /graphql"]
    assert server[0].parent is not None
    assert format(server[0].parent.span_id, "016x") == "00f067aa0ba902b7"
    his = [span for span in spans if span.name == "HIS hospital.interface.queryWaitPay"]
    attributes = sorted((dict(span.attributes or {}) for span in his), key=lambda a: str(a["his.hospital"]))
    assert [a["his.hospital"] for a in attributes] == ["253", "254", "255"]
    assert [a["his.code"] for a in attributes] == ["10001"] * 3
    assert [a["his.transport"] for a in attributes] == ["http", "http", "webservice"]
    for span in his:
        assert "graphql ThreeHospitals" in _ancestors(span, by_id)
    assert any(span.name.startswith("db ") for span in spans), sorted({span.name for span in spans})
    exported = repr([(span.name, dict(span.attributes or {}), span.events, span.status) for span in spans])
    assert "001000056254587" not in exported  # the patient's card: in the query and the SQL parameters, never here
    sent = {
        call["hospitalId"]: call.get("traceparent", "")
        for call in calls(sim_admin, method="hospital.interface.queryWaitPay")
    }
    assert set(sent) == {"253", "254", "255"}
    his_span_ids = {format(span.context.span_id, "016x") for span in his if span.context is not None}
    for hospital, traceparent in sent.items():
        version, trace_id, span_id, _flags = traceparent.split("-")
        assert (version, trace_id) == ("00", TRACE_ID), hospital
        assert span_id in his_span_ids, hospital


async def test_an_unsampled_trace_still_reaches_the_hospitals(
    region: Registry, tmp_path: Path, sim_admin: httpx.Client, captured: _Capture
) -> None:
    """issue 13 item 2: a trace that is not recorded (the caller's flags 00, or no exporter) makes no child spans,
    yet each hospital still receives a traceparent of that trace, unsampled, as the caller sent it on."""
    unsampled = f"00-{TRACE_ID}-00f067aa0ba902b7-00"
    query = (
        'query { patient(medicalCardNumber: "001000056254587") { pendingPayments(hospitalId: "253,255") '
        "{ hospitalId } } }"
    )
    async with running_gateway(settings_for(region, tmp_path)) as gateway:
        response = await gateway.post("/graphql", json={"query": query}, headers={"traceparent": unsampled})
    assert response.status_code == 200
    assert "errors" not in response.json(), response.text[:300]
    assert captured.spans == []  # nothing recorded for this trace
    sent = [call.get("traceparent", "") for call in calls(sim_admin, method="hospital.interface.queryWaitPay")]
    assert len(sent) == 2
    for traceparent in sent:
        version, trace_id, _span_id, flags = traceparent.split("-")
        assert (version, trace_id, flags) == ("00", TRACE_ID, "00")


async def test_log_lines_carry_the_trace_id(region: Registry, tmp_path: Path, captured: _Capture) -> None:
    """issue 14 (traces): every log line written while a request is served names its trace and request."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    handler.addFilter(MaskPersonalData())
    his_log = logging.getLogger("hisgraph.his")
    previous = his_log.level
    his_log.addHandler(handler)
    his_log.setLevel(logging.INFO)
    try:
        async with running_gateway(settings_for(region, tmp_path)) as gateway:
            await gateway.post(
                "/graphql",
                json={"query": SAMPLE_QUERIES[0][1]},
                headers={"traceparent": TRACEPARENT, "X-Request-Id": "req-14"},
            )
    finally:
        his_log.removeHandler(handler)
        his_log.setLevel(previous)
    lines = [json.loads(JsonFormatter().format(record)) for record in records if record.getMessage() == "his call"]
    assert len(lines) >= 5
    assert {(line["trace_id"], line["request_id"]) for line in lines} == {(TRACE_ID, "req-14")}


async def test_shim_answers_are_counted_by_path_and_code(region: Registry, tmp_path: Path) -> None:
    """issue 14 (metrics): every shim answer counts once per path and 附四 code."""
    path = "/prefront/patient/getPatientInfo"
    async with running_gateway(settings_for(region, tmp_path), signed_in=False) as gateway:
        before = (await gateway.get("/metrics")).text
        reply = await gateway.post(path, json={"hospitalId": "253", "medicalCardNumber": "001000056254587"})
        code = reply.json()["code"]
        after = (await gateway.get("/metrics")).text
    assert (
        sample(after, "shim_calls_total", path=path, code=code)
        == (sample(before, "shim_calls_total", path=path, code=code) or 0) + 1
    )


async def test_the_wechat_login_call_is_a_span_of_the_operation(
    region: Registry, tmp_path: Path, captured: _Capture
) -> None:
    """issue 14 (traces): the outbound WeChat call (jscode2session) is a client span under the GraphQL operation,
    named by host and path only: the appid, secret and code of its query string stay out of the trace."""
    login = 'mutation WeChatLogin { logInWithWeChat(code: "ok-alice") { __typename } }'
    with serving(fake_wechat_app()) as wechat:
        settings = settings_for(
            region, tmp_path, wechat_appid="wx-test-app", wechat_secret="wx-test-secret", wechat_base_url=wechat
        )
        async with running_gateway(settings, signed_in=False) as gateway:
            reply = await gateway.post("/graphql", json={"query": login}, headers={"traceparent": TRACEPARENT})
    assert reply.json()["data"]["logInWithWeChat"]["__typename"] == "Session", reply.text[:300]
    by_id = {span.context.span_id: span for span in captured.spans if span.context is not None}
    outbound = [span for span in captured.spans if span.name == "wechat.login GET"]
    assert len(outbound) == 1
    assert "graphql WeChatLogin" in _ancestors(outbound[0], by_id)
    attributes = dict(outbound[0].attributes or {})
    assert attributes["url.path"] == "/sns/jscode2session"
    assert "wx-test-secret" not in repr(attributes)


def test_each_failure_has_its_kind() -> None:
    """issue 14 (metrics): outcomes by 附四 code and failure kind; the gateway's own saturation is not the
    hospital's timeout (issue 13 item 3), a refusal keeps the hospital's code."""
    import asyncio

    from his_clients.budget import HisCallBudgetExceeded
    from his_clients.errors import (
        HisCircuitOpen,
        HisConnectError,
        HisHttpError,
        HisProtocolError,
        HisRejected,
        HisTimeout,
    )
    from his_clients.observe import KINDS, classify
    from his_clients.resilience import GatewaySaturated

    where = {"hospital_id": "253", "method": "m"}
    cases = {
        None: ("10001", "ok"),
        HisRejected("busy", code="40001", **where): ("40001", "rejected"),
        HisTimeout("slow", **where): ("HIS_TIMEOUT", "timeout"),
        HisConnectError("refused", **where): ("HIS_CONNECT_ERROR", "connect"),
        HisHttpError("HTTP 502", status=502, **where): ("HTTP_502", "http"),
        HisProtocolError("bad json", **where): ("HIS_PROTOCOL_ERROR", "protocol"),
        HisCallBudgetExceeded("spent", **where): ("HIS_CALL_BUDGET", "budget"),
        HisCircuitOpen("open", **where): ("HIS_CIRCUIT_OPEN", "circuit_open"),
        GatewaySaturated("queued", **where): ("GATEWAY_BUSY", "saturated"),
        asyncio.CancelledError(): ("CANCELLED", "cancelled"),
    }
    for error, expected in cases.items():
        assert classify(error) == expected, error
        assert expected[1] in KINDS


def test_the_exporter_is_off_unless_the_standard_variables_name_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 14 (traces): no exporter by default; OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER turn one on."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing._exporter_from_env() is None
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert isinstance(tracing._exporter_from_env(), OTLPSpanExporter)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert tracing._exporter_from_env() is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert isinstance(tracing._exporter_from_env(), ConsoleSpanExporter)
