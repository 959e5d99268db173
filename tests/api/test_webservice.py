"""The WebService endpoint (issue 6): zeep reads the WSDL and its calls answer as the JSON shims do.

The gateway is served by uvicorn on a loopback port (lifespan on: migrations, clients), so zeep talks
plain HTTP to it; the demo hospitals call from loopback (auth none).
"""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import zeep
from starlette.applications import Starlette
from starlette.routing import Route

from api.app import create_app
from api.settings import Settings
from api.shims.validation import catalog, platform_entry
from api.webservice import PATH
from his_clients.registry import Registry
from store.db import Database
from store.seed import seed_demo

OUR_HOSPITAL = "253"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"


@pytest.fixture
async def gateway_app(region: Registry, tmp_path: Path) -> AsyncIterator[tuple[str, Starlette]]:
    """The gateway's base URL, served with its lifespan by uvicorn in a thread, the spec's example card on file."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(database_url=database_url, registry=region, request_deadline_s=5.0, public_base_url=base)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:  # started: the lifespan (migrations) has run
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("gateway did not start")
        time.sleep(0.02)
    db = Database(database_url)
    try:
        await seed_demo(db)
    finally:
        await db.dispose()
    try:
        yield base, app
    finally:
        server.should_exit = True
        thread.join(20)
        sock.close()


@pytest.fixture
def served(gateway_app: tuple[str, Starlette]) -> str:
    return gateway_app[0]


def example(section: str) -> dict[str, Any]:
    """The spec's request example, acting for our demo hospital (1.3.1 names no hospital)."""
    body: dict[str, Any] = copy.deepcopy(platform_entry(section)["request_example"])
    if section != "1.3.1":
        body["hospitalId"] = OUR_HOSPITAL
    if section == "23.2.2":
        body["idCard"] = "370102197907025236"  # the example's idCard is a card number (see test_shims_pushes)
    return body


def envelope(operation: str, inner: str, *, namespace: str = "http://prefront.hisgraph/") -> bytes:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP}" xmlns:p="{namespace}"><soapenv:Header/><soapenv:Body>'
        f"<p:{operation}><param>{inner}</param></p:{operation}></soapenv:Body></soapenv:Envelope>"
    ).encode()


def soap_reply(response: httpx.Response, operation: str) -> dict[str, Any]:
    """The JSON inside a SOAP reply (parsed by zeep's own lxml, to read it as a client would)."""
    from lxml import etree

    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    found = root.find(f"{{{SOAP}}}Body/{{http://prefront.hisgraph/}}{operation}Response/return")
    assert found is not None, response.text
    reply: dict[str, Any] = json.loads(found.text)
    return reply


def fault_of(response: httpx.Response) -> tuple[str, str]:
    from lxml import etree

    assert response.status_code == 500, response.text
    assert response.headers["content-type"].startswith("text/xml")
    fault = etree.fromstring(response.content).find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")
    assert fault is not None, response.text
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


CALLED = {
    "1.3.1": "getPatientInfo",
    "1.3.2": "genCard",
    "1.3.3": "updateCard",
    "19.1.1": "payment",
    "19.1.4": "lisReport",
    "38.2.1": "sendPrescriptionInfoMsg",
    "40.2.1": "ecgReport",
    "23.2.2": "getQrCodeForHospitalEducation",
}


def test_zeep_calls_answer_as_the_json_shims(served: str) -> None:
    client = zeep.Client(f"{served}{PATH}?wsdl")
    for section, operation in CALLED.items():
        assert platform_entry(section)["webservice_method"] == operation
        body = json.dumps(example(section), ensure_ascii=False)
        over_soap = json.loads(getattr(client.service, operation)(param=body))
        over_json = httpx.post(served + "/" + platform_entry(section)["http_path"], content=body.encode()).json()
        assert over_soap == over_json, section
        assert over_soap["success"] is True, (section, over_soap)
    patient = json.loads(client.service.getPatientInfo(param=json.dumps(example("1.3.1"))))
    assert patient["data"]["medicalCardNumber"] == "001000056254587"


def test_the_wsdl_has_one_operation_per_served_method(gateway_app: tuple[str, Starlette]) -> None:
    served, app = gateway_app
    routes = {r.path for r in app.router.routes if isinstance(r, Route) and "POST" in (r.methods or ())}
    expected = {
        e["webservice_method"]
        for e in catalog()
        if e["direction"] == "platform" and e["webservice_method"] and "/" + e["http_path"] in routes
    }
    client = zeep.Client(f"{served}{PATH}?wsdl")
    binding = next(iter(client.wsdl.bindings.values()))
    assert set(binding._operations) == expected
    assert {"getPatientInfo", "genCard", "getQrCodeForHospitalEducation", "payment"} <= expected
    # 11.2.1 is served over JSON but names no WebService method.
    assert "sendInsufficientDepositMsg" not in expected
    wsdl = httpx.get(f"{served}{PATH}?wsdl").text
    assert httpx.get(f"{served}{PATH}?Wsdl").text == wsdl
    assert httpx.get(f"{served}/{PATH}/?WSDL").text == wsdl  # 附二's //prefront/..., a trailing slash
    assert f'location="{served}{PATH}"' in wsdl


def test_refusals_are_the_shims_json_not_faults(served: str) -> None:
    body = example("1.3.2")
    body.pop("name")
    missing = soap_reply(httpx.post(served + PATH, content=envelope("genCard", json.dumps(body))), "genCard")
    assert (missing["success"], missing["code"]) == (False, "20001")
    not_json = soap_reply(httpx.post(served + PATH, content=envelope("genCard", "not json")), "genCard")
    assert not_json["code"] == "20003"


def test_the_callers_headers_authenticate_as_for_json(served: str) -> None:
    inner = json.dumps(example("19.1.1"))
    unknown = {"X-Hospital-Id": "no-such-hospital", "Content-Type": "text/xml; charset=utf-8"}
    refused = soap_reply(httpx.post(served + PATH, content=envelope("payment", inner), headers=unknown), "payment")
    assert (refused["success"], refused["code"]) == (False, "50001")
    own = {"X-Hospital-Id": OUR_HOSPITAL}
    accepted = soap_reply(httpx.post(f"{served}//{PATH}/", content=envelope("payment", inner), headers=own), "payment")
    assert accepted["success"] is True


def test_an_unknown_operation_is_a_client_fault(served: str) -> None:
    client = zeep.Client(f"{served}{PATH}?wsdl")
    # 19.1.8 and 14.1.1 name no WebService method; "hisRefund" is the path, the spec's method is hisRefun.
    for operation in ("sendRevisitMsg", "hisRefund", "noSuchOperation"):
        code, message = fault_of(httpx.post(served + PATH, content=envelope(operation, "{}")))
        assert code == "soap:Client"
        assert operation in message
    with pytest.raises(AttributeError):
        client.service.sendRevisitMsg  # noqa: B018


@pytest.mark.parametrize(
    "document",
    [
        b"",
        b"<not-xml",
        b"<Envelope><Body><genCard/></Body></Envelope>",  # no SOAP namespace
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body/></s:Envelope>'.encode(),
        f'<s:Envelope xmlns:s="{SOAP}"><s:Header><x s:mustUnderstand="1"/></s:Header>'
        f"<s:Body><genCard/></s:Body></s:Envelope>".encode(),
        # Entities are never expanded nor fetched: any DTD is refused (SOAP 1.1 forbids them).
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + envelope("genCard", "&x;"),
        b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        + envelope("genCard", "&b;"),
        envelope("genCard", "&undeclared;"),
    ],
)
def test_a_malformed_envelope_is_a_fault(served: str, document: bytes) -> None:
    response = httpx.post(served + PATH, content=document, headers={"Content-Type": "text/xml"})
    code, _ = fault_of(response)
    assert code in {"soap:Client", "soap:MustUnderstand"}
    assert "root:" not in response.text


def test_a_soap_1_2_envelope_is_a_version_mismatch(served: str) -> None:
    document = b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>'
    assert fault_of(httpx.post(served + PATH, content=document))[0] == "soap:VersionMismatch"
