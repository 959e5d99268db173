"""A WebService hospital's reply is untrusted XML: no DTD, no entity, bounded size (issue 11, WebService hospitals).

Through the real client and real HTTP to the simulator, which answers hostile envelopes on request
(``POST /admin/soap {"hostile": ...}``); then the parser itself on what a simulator would not send.
"""

from __future__ import annotations

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.errors import HisCircuitOpen, HisProtocolError
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Registry
from his_clients.soap import MAX_SOAP_REPLY_BYTES, SoapReplyError, read_reply, read_wsdl
from his_clients.transport import HttpBackend, HttpJsonTransport
from simulator.server import RunningSimulator
from tests.conftest import calls
from tests.his_clients.transports import region_over

REQUEST = QueryWaitPayRequest(medical_card_number="001000056254587")
ENVELOPE = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'


@pytest.mark.parametrize(
    ("hostile", "refusal"),
    [
        ("doctype", "carries a DTD"),
        ("entity", "carries a DTD"),
        ("oversize", f"exceeds {MAX_SOAP_REPLY_BYTES} bytes"),
    ],
)
async def test_a_hostile_reply_is_a_protocol_error(
    simulator: RunningSimulator, sim_admin: httpx.Client, hostile: str, refusal: str
) -> None:
    """Issue 11, WebService hospitals: "XML parsed safely (no entities, no DTD, bounded size)".

    The DOCTYPE names an external DTD on a closed port: had it been fetched, the error would be another one.
    """
    sim_admin.post("/admin/soap", json={"hostile": hostile}).raise_for_status()
    async with HisClient(region_over(simulator.base_url, "soap_per_method")) as client:
        with pytest.raises(HisProtocolError, match=refusal):
            await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)
    assert len(calls(sim_admin, hospitalId="253")) == 1


async def test_hostile_replies_open_the_circuit(simulator: RunningSimulator, sim_admin: httpx.Client) -> None:
    """Issue 11, WebService hospitals: the same breaker as over HTTP; a hostile HIS stops being called."""
    sim_admin.post("/admin/soap", json={"hostile": "entity"}).raise_for_status()
    async with HisClient(region_over(simulator.base_url, "soap_dispatch"), breaker_threshold=2) as client:
        for _ in range(2):
            with pytest.raises(HisProtocolError):
                await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)
        with pytest.raises(HisCircuitOpen):
            await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)
    assert len(calls(sim_admin, hospitalId="253")) == 2


@pytest.mark.parametrize(
    "document",
    [
        # Billion laughs: entities declared in an internal subset.
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "x"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        + ENVELOPE
        + "<soap:Body><r><return>&b;</return></r></soap:Body></soap:Envelope>",
        # An external entity (XXE): a file on the gateway's host.
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        + ENVELOPE
        + "<soap:Body><r><return>&x;</return></r></soap:Body></soap:Envelope>",
        # A parameter entity fetching a remote DTD.
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
        + ENVELOPE
        + "<soap:Body><r><return>{}</return></r></soap:Body></soap:Envelope>",
        # An entity used without any declaration.
        ENVELOPE + "<soap:Body><r><return>&undeclared;</return></r></soap:Body></soap:Envelope>",
    ],
    ids=["billion-laughs", "xxe-file", "parameter-entity", "undeclared-entity"],
)
def test_the_reader_expands_and_fetches_nothing(document: str) -> None:
    """Issue 11, WebService hospitals: every DTD trick is refused before any expansion or fetch."""
    with pytest.raises(SoapReplyError):
        read_reply(document.encode(), "text/xml; charset=utf-8")


def test_a_wsdl_is_read_under_the_same_rules() -> None:
    """Issue 11, WebService hospitals: the WSDL, fetched once, is untrusted XML too."""
    hostile = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" targetNamespace="&x;"/>'
    )
    with pytest.raises(SoapReplyError, match="DTD"):
        read_wsdl(hostile.encode(), "text/xml", version="1.1")
    with pytest.raises(SoapReplyError, match="exceeds"):
        read_wsdl(b"<a>" + b" " * (3 * 1024 * 1024) + b"</a>", "text/xml", version="1.1")


async def test_a_wsdl_cannot_send_calls_to_another_server(simulator: RunningSimulator, sim_admin: httpx.Client) -> None:
    """Issue 11, WebService hospitals: the WSDL learns the address, but only on its own server (no redirection of
    patients' data by a WSDL); an operator who knows better names the address with soap_endpoint."""
    sim_admin.post("/admin/soap", json={"wsdlLocation": "http://127.0.0.2:9/his"}).raise_for_status()
    registry = region_over(simulator.base_url, "soap_per_method")
    async with HisClient(registry) as client:
        with pytest.raises(HisProtocolError, match="not to the WSDL's own server"):
            await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)
    assert calls(sim_admin) == []
    hospitals = tuple(
        h.model_copy(update={"soap_endpoint": f"{simulator.base_url}/soap/methods/his/253"}) if h.id == "253" else h
        for h in registry.hospitals
    )
    async with HisClient(Registry(hospitals=hospitals, endpoints=registry.endpoints)) as client:
        assert (await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)).amount > 0


@pytest.mark.parametrize("backend", ["lean", "aiohttp", "httpcore"])
async def test_json_replies_are_bounded_too(
    simulator: RunningSimulator, sim_admin: httpx.Client, backend: HttpBackend
) -> None:
    """Issue 11, WebService hospitals ("bounded size"), the same class of fault over HTTP: a reply past the bound
    is refused while it streams in, never read whole, whichever HTTP backend reads it."""
    registry = region_over(simulator.base_url, "http")
    small = HttpJsonTransport(backend=backend, max_reply_bytes=200)
    async with HisClient(registry, transports={"hospital:253": small}) as client:
        with pytest.raises(HisProtocolError, match="exceeds 200 bytes"):
            await client.call(QUERY_WAIT_PAY, "253", REQUEST, deadline=None)
