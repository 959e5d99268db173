"""The simulated hospitals as WebService (SOAP) HIS: every method, in both styles, with a WSDL.

    /soap/methods/his/{hospitalId}   /soap/methods/regional    per_method: one operation per method
    /soap/dispatch/his/{hospitalId}  /soap/dispatch/regional   dispatch: one operation ``invoke``

``?wsdl`` (GET) on each answers its WSDL 1.1, with a SOAP 1.1 and a SOAP 1.2 binding and port; a POST is
one call, answered in the SOAP version it came in. ``per_method`` mirrors the spec's own WebService
(``getPatientInfo（String param）``): the operation is the method's last part (where two methods share
one, as ``hospital.interface.paySuccess`` and ``hospital.interface.medicalInsurance.paySuccess`` do, the
part before it leads: ``medicalInsurancePaySuccess``), taking the JSON request in ``param`` and answering
the JSON reply in ``return``. ``dispatch`` is ``invoke(methodName, param)``. The JSON goes through the same
path as over HTTP (``_answer``): the same validation, faults and call record.

``POST /admin/soap`` changes how replies are written, until ``DELETE /admin/soap`` or ``/admin/reset``:
``{"charset": "gbk"}`` (GBK bytes; ``"declareOnly": true`` names GBK only in the XML declaration, the
Content-Type saying utf-8), ``{"fault": "text"}`` (every call answers a Fault with that faultstring),
``{"hostile": "doctype" | "entity" | "oversize"}`` (a reply with a DOCTYPE, an entity declaration, or a
body larger than any client should read), ``{"wsdlLocation": "http://10.0.0.9/his"}`` (the WSDLs name that
address, as a service behind NAT publishes its inside one).
"""

from __future__ import annotations

import json
import threading
import xml.parsers.expat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Final
from xml.etree.ElementTree import Element, TreeBuilder
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from simulator.catalog import DCM_FILE_METHOD, his_entries
from simulator.envelope import INVALID_PARAM, fail

NAMESPACE: Final = "http://his.simulator/"
SOAP11_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
STYLES: Final = ("methods", "dispatch")
DISPATCH_OPERATION: Final = "invoke"
DISPATCH_METHOD_PARAM: Final = "methodName"
PARAM: Final = "param"
RETURN: Final = "return"
MAX_REQUEST_BYTES: Final = 2 * 1024 * 1024
OVERSIZE_BYTES: Final = 9 * 1024 * 1024
HOSTILE_KINDS: Final = ("doctype", "entity", "oversize")

Answer = Callable[[Request, str | None, str, dict[str, Any]], Awaitable[Response]]


@cache
def operations() -> dict[str, str]:
    """per_method: operation name -> method (every method but 16.1.4, a file GET that SOAP cannot carry)."""
    methods = sorted({entry.method for entry in his_entries()} - {DCM_FILE_METHOD})
    last = [method.rsplit(".", 1)[-1] for method in methods]
    named: dict[str, str] = {}
    for method, name in zip(methods, last, strict=True):
        if last.count(name) > 1 and method.count(".") > 2:
            parts = method.split(".")
            name = parts[-2] + parts[-1][:1].upper() + parts[-1][1:]
        named[name] = method
    return named


@dataclass
class SoapSettings:
    """How replies are written; changed by the admin API."""

    charset: str = "utf-8"
    declare_only: bool = False
    fault: str | None = None
    hostile: str | None = None
    wsdl_location: str | None = None


class _Fault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _no_dtd(*_: Any) -> None:
    raise _Fault("Client", "a SOAP message must not contain a DTD")


def _parse(raw: bytes) -> Element:
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = TreeBuilder()

    def tag(name: str) -> str:
        return "{" + name if "}" in name else name

    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.StartElementHandler = lambda name, attrs: builder.start(tag(name), {tag(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda name: builder.end(tag(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(raw, True)
        root: Element = builder.close()
    except xml.parsers.expat.ExpatError as exc:
        raise _Fault("Client", f"malformed XML: {exc}") from exc
    return root


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@cache
def wsdl(style: str, location: str) -> str:
    """The WSDL 1.1 of one style at ``location``: document/literal wrapped, SOAP 1.1 and 1.2 bindings."""
    shapes: dict[str, tuple[str, ...]]
    if style == "dispatch":
        shapes = {DISPATCH_OPERATION: (DISPATCH_METHOD_PARAM, PARAM)}
    else:
        shapes = {name: (PARAM,) for name in operations()}
    elements = "".join(
        f'<xsd:element name="{name}"><xsd:complexType><xsd:sequence>'
        + "".join(f'<xsd:element name="{part}" type="xsd:string" minOccurs="0"/>' for part in parts)
        + "</xsd:sequence></xsd:complexType></xsd:element>"
        f'<xsd:element name="{name}Response"><xsd:complexType><xsd:sequence>'
        f'<xsd:element name="{RETURN}" type="xsd:string" minOccurs="0"/>'
        "</xsd:sequence></xsd:complexType></xsd:element>"
        for name, parts in shapes.items()
    )
    messages = "".join(
        f'<wsdl:message name="{name}"><wsdl:part name="parameters" element="tns:{name}"/></wsdl:message>'
        f'<wsdl:message name="{name}Response"><wsdl:part name="parameters" element="tns:{name}Response"/>'
        "</wsdl:message>"
        for name in shapes
    )
    port_ops = "".join(
        f'<wsdl:operation name="{name}"><wsdl:input message="tns:{name}"/>'
        f'<wsdl:output message="tns:{name}Response"/></wsdl:operation>'
        for name in shapes
    )

    def binding(prefix: str, name: str) -> str:
        ops = "".join(
            f'<wsdl:operation name="{op}"><{prefix}:operation soapAction="{NAMESPACE}{op}" style="document"/>'
            f'<wsdl:input><{prefix}:body use="literal"/></wsdl:input>'
            f'<wsdl:output><{prefix}:body use="literal"/></wsdl:output></wsdl:operation>'
            for op in shapes
        )
        return (
            f'<wsdl:binding name="{name}" type="tns:HisService">'
            f'<{prefix}:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
            f"{ops}</wsdl:binding>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"'
        ' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        f' xmlns:tns="{NAMESPACE}" targetNamespace="{NAMESPACE}" name="HisService">'
        f'<wsdl:types><xsd:schema targetNamespace="{NAMESPACE}" elementFormDefault="unqualified">'
        f"{elements}</xsd:schema></wsdl:types>{messages}"
        f'<wsdl:portType name="HisService">{port_ops}</wsdl:portType>'
        + binding("soap", "HisServiceSoapBinding")
        + binding("soap12", "HisServiceSoap12Binding")
        + '<wsdl:service name="HisService">'
        f'<wsdl:port name="HisServicePort" binding="tns:HisServiceSoapBinding">'
        f"<soap:address location={quoteattr(location)}/></wsdl:port>"
        f'<wsdl:port name="HisServiceSoap12Port" binding="tns:HisServiceSoap12Binding">'
        f"<soap12:address location={quoteattr(location)}/></wsdl:port>"
        "</wsdl:service></wsdl:definitions>"
    )


class SoapEndpoints:
    """The SOAP face of the simulator: parses the envelope, answers through the JSON path, wraps the reply."""

    def __init__(self, answer: Answer) -> None:
        self._answer = answer
        self._lock = threading.Lock()
        self.settings = SoapSettings()

    # -- admin ---------------------------------------------------------------------------------

    async def set_settings(self, request: Request) -> Response:
        payload = await request.json()
        charset = str(payload.get("charset") or "utf-8").lower()
        hostile = payload.get("hostile")
        if charset not in ("utf-8", "gbk") or (hostile is not None and hostile not in HOSTILE_KINDS):
            return Response('{"error": "charset: utf-8|gbk; hostile: doctype|entity|oversize"}', status_code=400)
        with self._lock:
            self.settings = SoapSettings(
                charset=charset,
                declare_only=bool(payload.get("declareOnly")),
                fault=None if payload.get("fault") is None else str(payload["fault"]),
                hostile=hostile,
                wsdl_location=None if payload.get("wsdlLocation") is None else str(payload["wsdlLocation"]),
            )
        return Response('{"ok": true}', media_type="application/json")

    async def clear_settings(self, request: Request) -> Response:
        self.reset()
        return Response('{"ok": true}', media_type="application/json")

    def reset(self) -> None:
        with self._lock:
            self.settings = SoapSettings()

    # -- calls ---------------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        style = request.path_params["style"]
        if style not in STYLES:
            return Response("unknown style", status_code=404, media_type="text/plain")
        if request.method == "GET":
            if any(key.lower() == "wsdl" for key in request.query_params):
                location = self.settings.wsdl_location or str(request.url.replace(query=""))
                return Response(wsdl(style, location), media_type="text/xml; charset=utf-8")
            return Response("the WSDL is at ?wsdl", status_code=400, media_type="text/plain")
        raw = await request.body()
        version = "1.2" if request.headers.get("content-type", "").startswith("application/soap+xml") else "1.1"
        settings = self.settings
        try:
            if len(raw) > MAX_REQUEST_BYTES:
                raise _Fault("Client", "the envelope is too large")
            version, operation, parts = self._read(raw)
            method, param = self._method(style, operation, parts, request)
            if settings.fault is not None:
                raise _Fault("Server", settings.fault)
        except _Fault as error:
            return self._fault(version, error.code, error.message, settings)
        try:
            body = json.loads(param or "{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            reply = json.dumps(fail(INVALID_PARAM, "请求不是合法的JSON对象"), ensure_ascii=False)
        else:
            response = await self._answer(request, request.path_params.get("hospital_id"), method, body)
            if response.status_code != 200:
                return response  # hang, http500, lost_reply: what a broken server or proxy answers
            reply = bytes(response.body).decode("utf-8")
        return self._reply(version, operation, reply, settings)

    @staticmethod
    def _read(raw: bytes) -> tuple[str, str, dict[str, str]]:
        root = _parse(raw)
        env = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
        if _local(root.tag) != "Envelope" or env not in (SOAP11_ENV, SOAP12_ENV):
            raise _Fault("Client", "not a SOAP 1.1 or 1.2 envelope")
        version = "1.2" if env == SOAP12_ENV else "1.1"
        body = root.find(f"{{{env}}}Body")
        if body is None or len(body) == 0:
            raise _Fault("Client", "the envelope has no Body element naming an operation")
        call = body[0]
        if not call.tag.startswith(f"{{{NAMESPACE}}}"):
            raise _Fault("Client", f"operation {_local(call.tag)!r} is not in namespace {NAMESPACE}")
        return version, _local(call.tag), {_local(part.tag): (part.text or "") for part in call}

    @staticmethod
    def _method(style: str, operation: str, parts: dict[str, str], request: Request) -> tuple[str, str]:
        action = request.headers.get("soapaction", "").strip().strip('"')
        if action and action != NAMESPACE + operation:
            raise _Fault("Client", f"SOAPAction {action!r} does not name operation {operation!r}")
        if style == "dispatch":
            if operation != DISPATCH_OPERATION:
                raise _Fault("Client", f"unknown operation {operation!r}")
            method = parts.get(DISPATCH_METHOD_PARAM, "").strip()
            if not method:
                raise _Fault("Client", f"{DISPATCH_METHOD_PARAM} is missing")
            return method, parts.get(PARAM, "")
        method = operations().get(operation, "")
        if not method:
            raise _Fault("Client", f"unknown operation {operation!r}")
        return method, parts.get(PARAM, "")

    @staticmethod
    def _envelope(version: str, inner: str, settings: SoapSettings) -> tuple[bytes, str]:
        env = SOAP12_ENV if version == "1.2" else SOAP11_ENV
        declared = "GBK" if settings.charset == "gbk" else "UTF-8"
        prologue = f'<?xml version="1.0" encoding="{declared}"?>'
        if settings.hostile == "doctype":
            prologue += '<!DOCTYPE soap:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">'
        elif settings.hostile == "entity":
            prologue += '<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            inner = inner.replace("</return>", "&b;</return>", 1)
        text = f'{prologue}<soap:Envelope xmlns:soap="{env}"><soap:Body>{inner}</soap:Body></soap:Envelope>'
        if settings.hostile == "oversize":
            text = text.replace("<soap:Body>", "<soap:Body><!--" + "x" * OVERSIZE_BYTES + "-->", 1)
        media = "application/soap+xml" if version == "1.2" else "text/xml"
        header_charset = "utf-8" if settings.charset != "gbk" or settings.declare_only else "GBK"
        return text.encode("gbk" if settings.charset == "gbk" else "utf-8"), f"{media}; charset={header_charset}"

    def _reply(self, version: str, operation: str, reply: str, settings: SoapSettings) -> Response:
        inner = (
            f'<ns:{operation}Response xmlns:ns="{NAMESPACE}"><{RETURN}>{escape(reply)}</{RETURN}>'
            f"</ns:{operation}Response>"
        )
        body, content_type = self._envelope(version, inner, settings)
        return Response(body, headers={"Content-Type": content_type})

    def _fault(self, version: str, code: str, message: str, settings: SoapSettings) -> Response:
        if version == "1.2":
            value = {"Client": "Sender", "Server": "Receiver"}.get(code, code)
            inner = (
                f"<soap:Fault><soap:Code><soap:Value>soap:{value}</soap:Value></soap:Code>"
                f'<soap:Reason><soap:Text xml:lang="zh">{escape(message)}</soap:Text></soap:Reason></soap:Fault>'
            )
        else:
            inner = (
                f"<soap:Fault><faultcode>soap:{code}</faultcode>"
                f"<faultstring>{escape(message)}</faultstring></soap:Fault>"
            )
        body, content_type = self._envelope(version, inner, SoapSettings(charset=settings.charset))
        return Response(body, status_code=500, headers={"Content-Type": content_type})
