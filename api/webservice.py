"""The spec's WebService endpoint: ``prefront/services/prefrontWebService`` (SOAP 1.1) and its WSDL at ``?wsdl``.

Every platform entry of the catalog that names a WebService method (``getPatientInfo（String param）``,
spelt as the spec spells it, typos included) and whose JSON path this app serves is one operation
(document/literal, wrapped): the request element ``<op><param>JSON</param></op>`` carries the same JSON
the shim takes, as a string, and ``<opResponse><return>JSON</return></opResponse>`` the same JSON the
shim answers. The call goes through the JSON path's own route (authentication, validation, ledger), with
the SOAP request's headers and peer address: a hospital authenticates exactly as for JSON. With
``auth = "hmac"`` the signed body is the JSON string (the ``param`` text), not the SOAP envelope.

A malformed envelope, a DTD (SOAP 1.1 forbids one; no entity is ever expanded or fetched) or an unknown
operation answers a SOAP Fault with HTTP 500. Refusals of the shim itself (20001, 50001, ...) are not
faults: they are the shim's JSON reply, as over HTTP.

The WSDL's ``soap:address`` is where the server is reached: ``public_base_url`` when it is configured
(production requires one), else the request's own scheme and ``Host`` (``X-Forwarded-Proto`` and
``X-Forwarded-Host`` count only when the peer is one of ``trusted_proxies``, api/addresses.py). A
``Host`` that is not a plain host[:port] falls back to ``public_base_url``.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Final
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Message, Scope

from his_clients import safe_xml

from .addresses import networks
from .shims.validation import catalog

PATH: Final = "/prefront/services/prefrontWebService"
NAMESPACE: Final = "http://prefront.hisgraph/"
SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
SERVICE: Final = "prefrontWebService"
PORT_TYPE: Final = "PrefrontWebService"
BINDING: Final = "PrefrontWebServiceSoapBinding"
PORT: Final = "PrefrontWebServicePort"
PARAM: Final = "param"
"""The request's one part, named as the spec writes the methods: ``getPatientInfo（String param）``."""
RETURN: Final = "return"
MAX_ENVELOPE_BYTES: Final = 2 * 1024 * 1024
XML_CONTENT_TYPE: Final = "text/xml; charset=utf-8"
_HOST: Final = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?")
"""A Host header we repeat in the WSDL: a DNS name, IPv4 or [IPv6], with an optional port; nothing else."""
WSDL_LOCATIONS_CACHED: Final = 8


@dataclass(frozen=True)
class Operation:
    name: str
    section: str
    path: str
    route: Route


class SoapFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def served_operations(routes: list[Any]) -> dict[str, Operation]:
    """One operation per catalog entry with a WebService method whose JSON path a POST route serves here.

    Entries sharing a path and method (9.1.1 and 13.2.1: ``hisRefun``) are one operation, as they are one route.
    """
    by_path = {route.path: route for route in routes if isinstance(route, Route) and "POST" in (route.methods or ())}
    operations: dict[str, Operation] = {}
    for entry in catalog():
        name = entry.get("webservice_method")
        if entry.get("direction") != "platform" or not name or not entry.get("http_path"):
            continue
        path = "/" + str(entry["http_path"]).strip("/")
        route = by_path.get(path)
        if route is not None and name not in operations:
            operations[name] = Operation(name=name, section=str(entry["section"]), path=path, route=route)
    return operations


def wsdl_document(operations: dict[str, Operation], location: str) -> str:
    """The WSDL 1.1 of ``operations`` (document/literal wrapped, one string in and one string out)."""
    names = sorted(operations)
    elements = "".join(
        f'<xsd:element name="{name}"><xsd:complexType><xsd:sequence>'
        f'<xsd:element name="{PARAM}" type="xsd:string" minOccurs="0"/>'
        "</xsd:sequence></xsd:complexType></xsd:element>"
        f'<xsd:element name="{name}Response"><xsd:complexType><xsd:sequence>'
        f'<xsd:element name="{RETURN}" type="xsd:string" minOccurs="0"/>'
        "</xsd:sequence></xsd:complexType></xsd:element>"
        for name in names
    )
    messages = "".join(
        f'<wsdl:message name="{name}"><wsdl:part name="parameters" element="tns:{name}"/></wsdl:message>'
        f'<wsdl:message name="{name}Response">'
        f'<wsdl:part name="parameters" element="tns:{name}Response"/></wsdl:message>'
        for name in names
    )
    port_ops = "".join(
        f'<wsdl:operation name="{name}"><wsdl:input message="tns:{name}"/>'
        f'<wsdl:output message="tns:{name}Response"/></wsdl:operation>'
        for name in names
    )
    binding_ops = "".join(
        f'<wsdl:operation name="{name}"><soap:operation soapAction="" style="document"/>'
        '<wsdl:input><soap:body use="literal"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        for name in names
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:tns="{NAMESPACE}" targetNamespace="{NAMESPACE}" name="{SERVICE}">'
        f'<wsdl:types><xsd:schema targetNamespace="{NAMESPACE}" elementFormDefault="unqualified">'
        f"{elements}</xsd:schema></wsdl:types>"
        f"{messages}"
        f'<wsdl:portType name="{PORT_TYPE}">{port_ops}</wsdl:portType>'
        f'<wsdl:binding name="{BINDING}" type="tns:{PORT_TYPE}">'
        '<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{binding_ops}</wsdl:binding>"
        f'<wsdl:service name="{SERVICE}"><wsdl:port name="{PORT}" binding="tns:{BINDING}">'
        f"<soap:address location={quoteattr(location)}/></wsdl:port></wsdl:service>"
        "</wsdl:definitions>"
    )


def parse_xml(raw: bytes) -> Element:
    """The document's root, read safely (``his_clients/safe_xml.py``: any DTD refused, nothing fetched)."""
    try:
        return safe_xml.parse(raw)
    except safe_xml.XmlRefused as refused:
        raise SoapFault("Client", f"the message {refused}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_envelope(raw: bytes) -> tuple[str, str]:
    """The operation a SOAP 1.1 request names (its Body's first element) and the string it carries."""
    root = parse_xml(raw)
    if root.tag == f"{{{SOAP12_ENV}}}Envelope":
        raise SoapFault("VersionMismatch", "SOAP 1.2 is not served: send a SOAP 1.1 envelope")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapFault("Client", "not a SOAP 1.1 envelope")
    header = root.find(f"{{{SOAP_ENV}}}Header")
    if header is not None:
        for block in header:
            if block.get(f"{{{SOAP_ENV}}}mustUnderstand", "0").strip() in {"1", "true"}:
                raise SoapFault("MustUnderstand", f"header {_local(block.tag)} is not understood")
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        raise SoapFault("Client", "the envelope has no Body element naming an operation")
    call = body[0]
    # Wrapped: <op><param>JSON</param></op>. Lenient: the part under any name, or the JSON right in <op>.
    argument = call[0].text if len(call) else call.text
    return _local(call.tag), (argument or "").strip()


def fault(code: str, message: str) -> Response:
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body><soap:Fault>'
        f"<faultcode>soap:{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    )
    return Response(envelope, status_code=500, media_type=XML_CONTENT_TYPE)


def answer(operation: str, reply: str) -> Response:
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
        f'<ns:{operation}Response xmlns:ns="{NAMESPACE}"><{RETURN}>{escape(reply)}</{RETURN}></ns:{operation}Response>'
        "</soap:Body></soap:Envelope>"
    )
    return Response(envelope, media_type=XML_CONTENT_TYPE)


async def call_json_route(request: Request, operation: Operation, body: bytes) -> tuple[int, bytes]:
    """Run the JSON path's route on ``body`` with this request's headers, peer and app: its status and reply."""
    headers = [
        (key, value)
        for key, value in request.scope["headers"]
        if key.lower() not in {b"content-type", b"content-length", b"transfer-encoding", b"soapaction"}
    ]
    headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope: Scope = {
        **request.scope,
        "method": "POST",
        "path": operation.path,
        "raw_path": operation.path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": dict(request.scope.get("state") or {}),
    }
    match, child = operation.route.matches(scope)
    if match is not Match.FULL:
        raise SoapFault("Server", "the operation's route does not answer")
    scope.update(child)
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await operation.route.handle(scope, receive, send)
    return status, b"".join(chunks)


def _peer_is_trusted_proxy(request: Request, trusted_proxies: tuple[str, ...]) -> bool:
    client = request.scope.get("client")
    if not client or not trusted_proxies:
        return False
    try:
        peer = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return any(peer in network for network in networks(trusted_proxies))


def _last(request: Request, header: str) -> str:
    """The value the nearest hop wrote (the last of a comma-separated list)."""
    return request.headers.get(header, "").split(",")[-1].strip()


def location_of(request: Request) -> str:
    """Where this WebService is reached (see the module docstring)."""
    settings = request.app.state.settings
    configured = str(settings.public_base_url).rstrip("/") + PATH
    if "public_base_url" in settings.model_fields_set:
        return configured
    scheme, host = request.url.scheme, request.headers.get("host", "")
    if _peer_is_trusted_proxy(request, tuple(settings.trusted_proxies)):
        scheme = _last(request, "x-forwarded-proto").lower() or scheme
        host = _last(request, "x-forwarded-host") or host
    if scheme not in ("http", "https") or not _HOST.fullmatch(host):
        return configured
    return f"{scheme}://{host}{PATH}"


class WebService:
    """The endpoint: its operations are found once per app, from the routes that app serves; its WSDL is
    written for the address each request reached it at (a few addresses cached)."""

    def __init__(self, operations: dict[str, Operation]) -> None:
        self.operations = operations
        self._wsdl: dict[str, str] = {}

    def wsdl(self, location: str) -> str:
        document = self._wsdl.get(location)
        if document is None:
            document = wsdl_document(self.operations, location)
            if len(self._wsdl) < WSDL_LOCATIONS_CACHED:  # a caller inventing Host headers grows nothing
                self._wsdl[location] = document
        return document

    @classmethod
    def of(cls, request: Request) -> WebService:
        found: WebService | None = getattr(request.app.state, "webservice", None)
        if found is None:
            found = cls(served_operations(request.app.router.routes))
            request.app.state.webservice = found
        return found

    async def call(self, request: Request) -> Response:
        raw = await request.body()
        if len(raw) > MAX_ENVELOPE_BYTES:
            return fault("Client", "the envelope is too large")
        try:
            name, argument = parse_envelope(raw)
            operation = self.operations.get(name)
            if operation is None:
                raise SoapFault("Client", f"unknown operation {name!r}")
            status, reply = await call_json_route(request, operation, argument.encode("utf-8"))
            if status != 200:
                raise SoapFault("Server", "the operation failed")
            text = reply.decode("utf-8")
            json.loads(text)  # the shim always answers JSON; anything else is our fault, not the caller's
        except SoapFault as error:
            return fault(error.code, error.message)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return fault("Server", "the operation failed")
        return answer(name, text)


async def endpoint(request: Request) -> Response:
    """GET ``?wsdl`` (any case): the WSDL. POST: one SOAP 1.1 call."""
    service = WebService.of(request)
    if request.method == "GET":
        if any(key.lower() == "wsdl" for key in request.query_params):
            return Response(service.wsdl(location_of(request)), media_type=XML_CONTENT_TYPE)
        refusal = fault("Client", "WebService prefrontWebService: POST a SOAP envelope; the WSDL is at ?wsdl")
        refusal.status_code = 400
        return refusal
    return await service.call(request)


route = Route(PATH, endpoint, methods=["GET", "POST"])
