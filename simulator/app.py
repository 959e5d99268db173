"""The simulator as a Starlette app: hospital routes, the regional endpoint and /admin controls."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from simulator.catalog import DCM_FILE_METHOD
from simulator.dicom import FILE_ROUTE, dicom_bytes, serve_report_file
from simulator.envelope import INVALID_PARAM, NOT_FOUND, Rejected, Reply, fail
from simulator.faults import FAULT_KINDS
from simulator.handlers.reports import PUBLIC_BASE_URL
from simulator.soap import SoapEndpoints
from simulator.state import Simulator

logger = logging.getLogger(__name__)
HANG_LIMIT_S = 600.0
BROKEN_JSON = b'{"success": true, "msg": "\xe6\x88\x90\xe5\x8a\x9f", "code": "10001", "data": {"'


def _json(payload: Any, status_code: int = 200) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False),
        status_code=status_code,
        media_type="application/json",
    )


async def _wait_for_disconnect(request: Request) -> None:
    """`hang`: never answer; return only when the client gives up (or after a very long time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + HANG_LIMIT_S
    while loop.time() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


class _Endpoints:
    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.soap = SoapEndpoints(self._answer)

    async def his_call(self, request: Request) -> Response:
        route_hospital_id = request.path_params.get("hospital_id")
        method: str = request.path_params["method"]
        raw = await request.body()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _json(fail(INVALID_PARAM, "请求不是合法的JSON"))
        if not isinstance(body, dict):
            return _json(fail(INVALID_PARAM, "请求不是JSON对象"))
        return await self._answer(request, route_hospital_id, method, body)

    async def dcm_file(self, request: Request) -> Response:
        route_hospital_id = request.path_params.get("hospital_id")
        body = dict(request.query_params)
        return await self._answer(request, route_hospital_id, DCM_FILE_METHOD, body, dcm=True)

    async def _answer(
        self, request: Request, route_hospital_id: str | None, method: str, body: dict[str, Any], *, dcm: bool = False
    ) -> Response:
        simulator = self.simulator
        PUBLIC_BASE_URL.set(str(request.base_url).rstrip("/"))
        try:
            hospital_ids = simulator.resolve(route_hospital_id=route_hospital_id, body=body, method=method)
        except Rejected as rejected:
            simulator.calls.record(
                hospital_id=route_hospital_id or str(body.get("hospitalId", "")), method=method, body=body
            )
            return _json(fail(rejected.code, rejected.msg))
        faults = []
        delay_ms = 0
        for hospital_id in hospital_ids:
            simulator.calls.record(
                hospital_id=hospital_id, method=method, body=body, traceparent=request.headers.get("traceparent")
            )
            faults.extend(simulator.faults.take(hospital_id, method))
            delay_ms = max(delay_ms, simulator.latency.draw_ms(hospital_id))
        delay_ms += sum(fault.latency_ms for fault in faults if fault.kind == "latency")
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        kinds = {fault.kind for fault in faults}
        if "hang" in kinds:
            await _wait_for_disconnect(request)
            return Response(status_code=504)
        if "http500" in kinds:
            return Response("Internal Server Error", status_code=500, media_type="text/plain")
        if "invalid_json" in kinds:
            return Response(BROKEN_JSON, media_type="application/json")
        coded = next((fault for fault in faults if fault.kind == "code"), None)
        if coded is not None:
            return _json(fail(coded.code, coded.msg or None))
        try:
            if dcm:
                response = self._dcm(hospital_ids[0], body)
            else:
                response = _json(simulator.handle(hospital_ids=hospital_ids, method=method, body=body))
        except Exception:
            logger.exception("simulator handler failed for %s", method)
            return Response("simulator handler failed", status_code=500, media_type="text/plain")
        if "lost_reply" in kinds:
            return Response(status_code=500)
        return response

    def _dcm(self, hospital_id: str, query: dict[str, Any]) -> Response:
        hospital = self.simulator.hospitals[hospital_id]
        dcm_id = str(query.get("dcmId", "")).strip()
        report_id = hospital.dcm_files.get(dcm_id)
        if report_id is None:
            return _json(fail(NOT_FOUND, f"影像不存在: {dcm_id}"), status_code=404)
        patient, report = hospital.reports_by_key[("pacs", report_id)]
        data = dicom_bytes(dcm_id=dcm_id, patient_name=patient.name, patient_id=patient.card, study=report.item)
        return Response(data, media_type="application/octet-stream", headers={"Content-Length": str(len(data))})

    # --- /admin -----------------------------------------------------------------------------

    async def add_fault(self, request: Request) -> Response:
        payload = await request.json()
        kind = payload.get("kind")
        if kind not in FAULT_KINDS:
            return _json({"error": f"kind must be one of {list(FAULT_KINDS)}"}, status_code=400)
        fault = self.simulator.faults.add(
            hospital_id=str(payload.get("hospitalId", "*")),
            method=str(payload.get("method", "*")),
            kind=kind,
            latency_ms=int(payload.get("latencyMs") or 0),
            code=str(payload.get("code") or "10003"),
            msg=str(payload.get("msg") or ""),
            times=None if payload.get("times") is None else int(payload["times"]),
        )
        return _json(fault.as_json())

    async def list_faults(self, request: Request) -> Response:
        return _json(self.simulator.faults.list())

    async def clear_faults(self, request: Request) -> Response:
        removed = self.simulator.faults.clear(
            hospital_id=request.query_params.get("hospitalId") or None,
            method=request.query_params.get("method") or None,
        )
        return _json({"removed": removed})

    async def set_latency(self, request: Request) -> Response:
        payload = await request.json()
        self.simulator.latency.set(
            hospital_id=str(payload.get("hospitalId", "*")),
            min_ms=int(payload.get("minMs") or 0),
            max_ms=int(payload.get("maxMs") or 0),
        )
        return _json({"ok": True})

    async def clear_latency(self, request: Request) -> Response:
        self.simulator.latency.clear()
        return _json({"ok": True})

    async def list_calls(self, request: Request) -> Response:
        calls = self.simulator.calls.list(
            method=request.query_params.get("method") or None,
            hospital_id=request.query_params.get("hospitalId") or None,
        )
        return _json(calls)

    async def clear_calls(self, request: Request) -> Response:
        self.simulator.calls.clear()
        return _json({"ok": True})

    async def applied(self, request: Request) -> Response:
        return _json(self.simulator.applied())

    async def prescribe(self, request: Request) -> Response:
        """A doctor prescribes: new unpaid items on a card at one hospital (3.1.1 quotes them)."""
        payload = await request.json()
        try:
            added = self.simulator.prescribe(
                hospital_id=str(payload.get("hospitalId", "")),
                medical_card_number=str(payload.get("medicalCardNumber", "")),
                count=int(payload.get("items") or 1),
            )
        except (KeyError, ValueError) as unknown:
            return _json({"error": str(unknown)}, status_code=404)
        return _json({"added": added})

    async def reset(self, request: Request) -> Response:
        self.simulator.reset()
        self.soap.reset()
        return _json({"ok": True})

    async def hospitals(self, request: Request) -> Response:
        simulator = self.simulator
        listing: list[Reply] = [
            {"hospitalId": hid, "name": simulator.hospitals[hid].name, "deployment": "standalone"}
            for hid in simulator.standalone_ids
        ] + [
            {"hospitalId": hid, "name": simulator.hospitals[hid].name, "deployment": "regional"}
            for hid in simulator.regional_ids
        ]
        return JSONResponse(listing)


def create_simulator_app(
    *,
    seed: int = 7,
    standalone: Sequence[str] = ("253", "254", "255"),
    regional: Sequence[str] = ("256", "257"),
    webservice: bool = True,
) -> Starlette:
    """A simulated region: every hospital over HTTP and, unless `webservice` is false, over SOAP too
    (simulator/soap.py: /soap/methods/... and /soap/dispatch/..., each with its ?wsdl)."""
    simulator = Simulator(seed=seed, standalone=standalone, regional=regional)
    endpoints = _Endpoints(simulator)
    routes = [
        Route("/his/{hospital_id}/" + DCM_FILE_METHOD, endpoints.dcm_file, methods=["GET"]),
        Route("/regional/" + DCM_FILE_METHOD, endpoints.dcm_file, methods=["GET"]),
        Route("/his/{hospital_id}/{method}", endpoints.his_call, methods=["POST"]),
        Route("/regional/{method}", endpoints.his_call, methods=["POST"]),
    ]
    if webservice:
        routes += [
            Route("/soap/{style}/his/{hospital_id}", endpoints.soap.endpoint, methods=["GET", "POST"]),
            Route("/soap/{style}/regional", endpoints.soap.endpoint, methods=["GET", "POST"]),
            Route("/admin/soap", endpoints.soap.set_settings, methods=["POST"]),
            Route("/admin/soap", endpoints.soap.clear_settings, methods=["DELETE"]),
        ]
    routes += [
        Route(FILE_ROUTE, serve_report_file, methods=["GET"]),
        Route("/admin/faults", endpoints.add_fault, methods=["POST"]),
        Route("/admin/faults", endpoints.list_faults, methods=["GET"]),
        Route("/admin/faults", endpoints.clear_faults, methods=["DELETE"]),
        Route("/admin/latency", endpoints.set_latency, methods=["POST"]),
        Route("/admin/latency", endpoints.clear_latency, methods=["DELETE"]),
        Route("/admin/calls", endpoints.list_calls, methods=["GET"]),
        Route("/admin/calls", endpoints.clear_calls, methods=["DELETE"]),
        Route("/admin/applied", endpoints.applied, methods=["GET"]),
        Route("/admin/prescribe", endpoints.prescribe, methods=["POST"]),
        Route("/admin/reset", endpoints.reset, methods=["POST"]),
        Route("/admin/hospitals", endpoints.hospitals, methods=["GET"]),
    ]
    app = Starlette(routes=routes)
    app.state.simulator = simulator
    return app
