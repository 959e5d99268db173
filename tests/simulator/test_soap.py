"""The simulator as a WebService HIS (issue 11, WebService hospitals): a standard SOAP client (zeep) reads its
WSDLs and calls it in both styles and both SOAP versions; faults apply as over HTTP."""

from __future__ import annotations

import json

import httpx
import pytest
import zeep

from simulator.catalog import DCM_FILE_METHOD, his_entries
from simulator.soap import NAMESPACE, operations

CARD = "001000056254587"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


def test_every_method_but_the_file_download_is_one_operation() -> None:
    """Issue 11, WebService hospitals: "the simulator serves every method in both styles"."""
    methods = {entry.method for entry in his_entries()} - {DCM_FILE_METHOD}
    assert sorted(operations().values()) == sorted(methods)
    assert operations()["queryWaitPay"] == "hospital.interface.queryWaitPay"
    assert operations()["medicalInsurancePaySuccess"] == "hospital.interface.medicalInsurance.paySuccess"


@pytest.mark.parametrize("port", ["HisServicePort", "HisServiceSoap12Port"], ids=["soap-1.1", "soap-1.2"])
def test_zeep_calls_both_styles(client: httpx.Client, port: str) -> None:
    """Issue 11, WebService hospitals: a standard client agrees with the WSDLs, in SOAP 1.1 and 1.2."""
    base = str(client.base_url).rstrip("/")
    request = json.dumps({"medicalCardNumber": CARD, "hospitalId": "253"})
    per_method = zeep.Client(f"{base}/soap/methods/his/253?wsdl").bind("HisService", port)
    answered = json.loads(per_method.queryWaitPay(param=request))
    assert answered["success"] is True
    assert answered["data"]["amount"]

    dispatch = zeep.Client(f"{base}/soap/dispatch/regional?wsdl").bind("HisService", port)
    regional = json.dumps({"medicalCardNumber": CARD, "hospitalId": "256"})
    answered = json.loads(dispatch.invoke(methodName="hospital.interface.queryWaitPay", param=regional))
    assert answered["success"] is True


def _call(client: httpx.Client, path: str, operation: str, body: dict[str, object]) -> httpx.Response:
    envelope = (
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Body><ns:{operation} xmlns:ns="{NAMESPACE}">'
        f"<param>{json.dumps(body)}</param></ns:{operation}></soap:Body></soap:Envelope>"
    )
    return client.post(path, content=envelope, headers={"Content-Type": "text/xml; charset=utf-8"})


def test_injected_faults_apply_to_soap_calls(client: httpx.Client) -> None:
    """Issue 11, WebService hospitals: "fault injection applies to SOAP calls the same way"."""
    fault = {"hospitalId": "253", "method": "hospital.interface.queryWaitPay", "kind": "code", "code": "60101"}
    client.post("/admin/faults", json=fault).raise_for_status()
    reply = _call(client, "/soap/methods/his/253", "queryWaitPay", {"medicalCardNumber": CARD})
    assert reply.status_code == 200
    assert '"code": "60101"' in reply.text
    client.post("/admin/faults", json={**fault, "kind": "http500"}).raise_for_status()
    assert _call(client, "/soap/methods/his/253", "queryWaitPay", {"medicalCardNumber": CARD}).status_code == 500


def test_the_simulator_refuses_a_dtd_and_unknown_operations_with_a_fault(client: httpx.Client) -> None:
    """Issue 11, WebService hospitals: a SOAP service answers a Fault (HTTP 500) to what it cannot take."""
    hostile = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>'
    refused = client.post("/soap/methods/his/253", content=hostile, headers={"Content-Type": "text/xml"})
    assert refused.status_code == 500
    assert "<faultstring>a SOAP message must not contain a DTD</faultstring>" in refused.text
    unknown = _call(client, "/soap/dispatch/his/253", "queryWaitPay", {})
    assert unknown.status_code == 500
    assert "unknown operation" in unknown.text
