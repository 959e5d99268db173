"""WebService (SOAP) hospitals: what only SOAP has. The shared contract runs in test_client.py over all transports.

Issue 11, "WebService hospitals": registry keys, SOAP 1.1 and 1.2, UTF-8 and GBK replies, a Fault as a
protocol error with its faultstring masked, a WSDL or an explicit endpoint and namespace.
"""

from __future__ import annotations

import tomllib

import httpx
import pytest
from pydantic import ValidationError

from his_clients.client import HisClient
from his_clients.errors import HisProtocolError, HisRejected, HisTimeout
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Endpoint, Hospital, Registry, SoapVersion
from his_clients.soap import decode_xml
from simulator.server import RunningSimulator
from simulator.soap import NAMESPACE
from tests.conftest import calls, inject
from tests.his_clients.transports import region_over

CARD = "001000056254587"
WAIT_PAY = QUERY_WAIT_PAY.name
VERSIONS: tuple[SoapVersion, ...] = ("1.1", "1.2")


def wait_pay() -> QueryWaitPayRequest:
    return QueryWaitPayRequest(medical_card_number=CARD)


def soap_admin(admin: httpx.Client, **settings: object) -> None:
    admin.post("/admin/soap", json=settings).raise_for_status()


def with_hospital(registry: Registry, hospital_id: str, **changes: object) -> Registry:
    hospitals = tuple(
        Hospital.model_validate(h.model_dump() | changes) if h.id == hospital_id else h for h in registry.hospitals
    )
    return Registry(hospitals=hospitals, endpoints=registry.endpoints)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("transport", ["soap_per_method", "soap_dispatch"])
async def test_both_styles_answer_in_both_soap_versions(
    simulator: RunningSimulator, sim_admin: httpx.Client, transport: str, version: SoapVersion
) -> None:
    """Issue 11, WebService hospitals: per_method and dispatch, SOAP 1.1 and 1.2, standalone and regional."""
    async with HisClient(region_over(simulator.base_url, transport, soap_version=version)) as client:
        standalone = await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)
        regional = await client.call(QUERY_WAIT_PAY, "256", wait_pay(), deadline=None)
    assert standalone.amount > 0
    assert regional.amount > 0
    received = calls(sim_admin, method=WAIT_PAY)
    assert [c["hospitalId"] for c in received] == ["253", "256"]
    assert received[1]["body"]["hospitalId"] == "256"


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_soap_fault_is_a_protocol_error_with_its_faultstring_masked(
    simulator: RunningSimulator, sim_admin: httpx.Client, version: SoapVersion
) -> None:
    """Issue 11, WebService hospitals: a Fault becomes HisProtocolError carrying its faultstring, masked."""
    soap_admin(sim_admin, fault="患者370102197907025236(手机13812345678)不存在")
    async with HisClient(region_over(simulator.base_url, "soap_per_method", soap_version=version)) as client:
        with pytest.raises(HisProtocolError) as caught:
            await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)
    message = str(caught.value)
    assert "不存在" in message
    assert "370102********5236" in message
    assert "138****5678" in message
    assert "370102197907025236" not in message
    assert "13812345678" not in message


async def test_an_operation_the_hospital_does_not_serve_is_a_fault(
    simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """Issue 11, WebService hospitals: method_paths name the operation; an unknown one is the HIS's Fault."""
    registry = with_hospital(
        region_over(simulator.base_url, "soap_per_method"), "253", method_paths={WAIT_PAY: "noSuchOperation"}
    )
    async with HisClient(registry) as client:
        with pytest.raises(HisProtocolError, match=r"SOAP Fault .*noSuchOperation"):
            await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)
    assert calls(sim_admin, method=WAIT_PAY) == []


async def test_dispatch_sends_the_method_name_method_paths_give(
    simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """Issue 11, WebService hospitals: dispatch passes the method name (renamed where method_paths says so).

    per_method's renaming is proved by the conformance test: 5.1.4 goes to medicalInsurancePaySuccess.
    """
    registry = with_hospital(region_over(simulator.base_url, "soap_dispatch"), "253", method_paths={WAIT_PAY: "x.y"})
    async with HisClient(registry) as client:
        # The simulator knows no method x.y and answers 40003 inside a normal SOAP reply.
        with pytest.raises(HisRejected) as caught:
            await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)
    assert caught.value.code == "40003"


@pytest.mark.parametrize("declare_only", [False, True], ids=["content-type", "xml-declaration-only"])
async def test_gbk_replies_are_read(simulator: RunningSimulator, sim_admin: httpx.Client, declare_only: bool) -> None:
    """Issue 11, WebService hospitals: GBK replies, the charset from the Content-Type or the XML declaration."""
    soap_admin(sim_admin, charset="gbk", declareOnly=declare_only)
    envelope = (
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<ns:queryWaitPay xmlns:ns="{NAMESPACE}"><param>{{"medicalCardNumber": "{CARD}", "hospitalId": "253"}}</param>'
        "</ns:queryWaitPay></soap:Body></soap:Envelope>"
    )
    raw = sim_admin.post("/soap/methods/his/253", content=envelope, headers={"Content-Type": "text/xml"})
    assert raw.content.startswith(b'<?xml version="1.0" encoding="GBK"?>')
    assert "阿莫西林".encode("gbk") in raw.content  # GBK bytes on the wire, not UTF-8
    assert "阿莫西林".encode() not in raw.content
    assert ("charset=GBK" in raw.headers["content-type"]) is not declare_only
    assert "阿莫西林" in decode_xml(raw.content, raw.headers["content-type"])
    async with HisClient(region_over(simulator.base_url, "soap_per_method")) as client:
        reply = await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)
    assert "阿莫西林胶囊" in {item.item for item in reply.detail}


async def test_without_a_wsdl_the_endpoint_and_namespace_are_enough(
    simulator: RunningSimulator, sim_admin: httpx.Client
) -> None:
    """Issue 11, WebService hospitals: soap_endpoint plus soap_namespace where a hospital publishes no WSDL."""
    registry = with_hospital(
        region_over(simulator.base_url, "soap_per_method"),
        "254",
        wsdl_url=None,
        soap_endpoint=f"{simulator.base_url}/soap/methods/his/254",
        soap_namespace=NAMESPACE,
    )
    async with HisClient(registry) as client:
        reply = await client.call(QUERY_WAIT_PAY, "254", wait_pay(), deadline=None)
    assert reply.amount > 0


async def test_a_hanging_soap_hospital_times_out(simulator: RunningSimulator, sim_admin: httpx.Client) -> None:
    """Issue 11, WebService hospitals: the same deadline; injected faults apply to SOAP calls the same way."""
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="hang")
    registry = with_hospital(region_over(simulator.base_url, "soap_dispatch"), "253", timeout_s=0.3)
    async with HisClient(registry) as client:
        with pytest.raises(HisTimeout):
            await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)


async def test_a_wsdl_that_is_not_served_is_a_clear_error(simulator: RunningSimulator) -> None:
    """Issue 11, WebService hospitals: the WSDL is fetched under the same bounds; a missing one is named."""
    registry = with_hospital(
        region_over(simulator.base_url, "soap_per_method"), "253", wsdl_url=f"{simulator.base_url}/nowhere?wsdl"
    )
    async with HisClient(registry) as client:
        with pytest.raises(HisProtocolError, match="WSDL answered HTTP 404"):
            await client.call(QUERY_WAIT_PAY, "253", wait_pay(), deadline=None)


@pytest.mark.parametrize(
    ("keys", "error"),
    [
        ({}, "needs wsdl_url, or soap_endpoint and soap_namespace"),
        ({"soap_endpoint": "http://his.example/ws"}, "needs wsdl_url, or soap_endpoint and soap_namespace"),
        ({"wsdl_url": "http://his.example/ws?wsdl", "soap_style": "dispatch"}, "needs soap_operation"),
        ({"wsdl_url": "http://his.example/ws?wsdl", "soap_operation": "invoke"}, "only for soap_style = 'dispatch'"),
        ({"wsdl_url": "http://his.example/ws?wsdl", "soap_param": "a b"}, "soap_param"),
    ],
)
def test_a_webservice_hospital_without_endpoint_info_is_a_start_up_error(keys: dict[str, str], error: str) -> None:
    """Issue 11, WebService hospitals: registry validation names what is missing."""
    with pytest.raises(ValidationError, match=error):
        Hospital.model_validate({"id": "9", "name": "x", "transport": "webservice", **keys})


def test_soap_keys_on_an_http_hospital_or_a_regional_one_are_refused() -> None:
    """Issue 11, WebService hospitals: keys that would be ignored are an error, not a surprise."""
    with pytest.raises(ValidationError, match="would ignore it"):
        Hospital(id="9", name="x", base_url="http://his.example", wsdl_url="http://his.example/ws?wsdl")
    with pytest.raises(ValidationError, match="the endpoint says how it is called"):
        Hospital(id="9", name="x", endpoint="county", transport="webservice")
    with pytest.raises(ValidationError, match="needs wsdl_url"):
        Endpoint(id="county", transport="webservice")
    with pytest.raises(ValidationError, match="needs base_url"):
        Endpoint(id="county")


def test_a_webservice_registry_loads_from_toml() -> None:
    """Issue 11, WebService hospitals: the keys as an operator writes them."""
    text = """
[[hospitals]]
id = "300"
name = "SOAP医院"
transport = "webservice"
soap_endpoint = "http://10.1.2.3:8080/his/services/HisService"
soap_namespace = "http://his.example.cn/"
soap_style = "dispatch"
soap_version = "1.2"
soap_operation = "invoke"
soap_method_param = "methodName"
soap_param = "jsonParam"
"""
    registry = Registry.model_validate(tomllib.loads(text))
    hospital = registry.hospital("300")
    assert hospital is not None
    upstream = registry.upstream(hospital)
    assert upstream.soap is not None
    assert upstream.soap.endpoint == "http://10.1.2.3:8080/his/services/HisService"
    assert (upstream.soap.style, upstream.soap.version, upstream.soap.param) == ("dispatch", "1.2", "jsonParam")
