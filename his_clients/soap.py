"""Calling a WebService (SOAP) HIS: the spec's 约定 allows "http（推荐）或WebService" for every interface.

The spec's own WebService (``getPatientInfo（String param）``) is one operation per method taking the JSON
request as one string and answering the JSON reply as a string; some HIS instead publish one ``dispatch``
operation taking the method name and the JSON. Either way the JSON inside is the spec's, so the reply goes
on through the same envelope reading, models and error tree as over HTTP (``HisClient``): this module only
wraps the JSON in an envelope and takes it out again.

A small hand-written builder and reader, no zeep (too slow and heavy for a call path): SOAP 1.1 or 1.2,
document/literal wrapped. Replies are read safely: bounded in size before anything is parsed, any DTD
refused (so no entity is ever declared, expanded or fetched), decoded from the charset the Content-Type or
the XML declaration names (GBK/GB2312 read as GB18030, their superset). A Fault is a protocol error with its
faultstring, masked and cut short. The WSDL, when the registry gives one, is fetched once per upstream under
the same bounds to learn the service address, namespace and SOAPActions; an address on another server than
the WSDL's own is refused unless the registry names it (``soap_endpoint``), so a WSDL cannot send patients'
data elsewhere.
"""

from __future__ import annotations

import asyncio
import codecs
import re
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

import httpx

from . import safe_xml
from .registry import SoapService
from .transport import (
    MAX_FILE_BYTES,
    HttpBackend,
    HttpJsonTransport,
    RawReply,
    TransportProtocolError,
)

SOAP11_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV: Final = "http://www.w3.org/2003/05/soap-envelope"
WSDL: Final = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11: Final = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12: Final = "http://schemas.xmlsoap.org/wsdl/soap12/"
MAX_SOAP_REPLY_BYTES: Final = 8 * 1024 * 1024
"""A SOAP reply is refused past this size, before it is parsed."""
MAX_WSDL_BYTES: Final = 2 * 1024 * 1024
MAX_FAULT_CHARS: Final = 300
_MASKS = (
    (re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])"), r"\1********\2"),
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),
)
_DECLARED = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._\-]+)""", re.IGNORECASE)
_WIDER = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "x-gbk": "gb18030"}


class SoapReplyError(TransportProtocolError):
    """A reply that is not a usable SOAP answer (unsafe, too large, malformed, no envelope)."""


class SoapFault(TransportProtocolError):
    """The HIS answered a SOAP Fault; the message carries its faultcode and (masked) faultstring."""


def mask(text: str) -> str:
    """ID-card and mobile numbers masked, as in our logs: a Fault may quote the request back."""
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


# -- reading XML safely ------------------------------------------------------------------------


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        found = codecs.lookup(name.strip().lower()).name
    except LookupError:
        return None
    return _WIDER.get(found, found)


def decode_xml(body: bytes, content_type: str) -> str:
    """The document as text: BOM, then the Content-Type charset, then the XML declaration, then UTF-8.

    A charset under which the bytes do not decode gives way to the next one named (a HIS that declares
    GBK in its XML but says utf-8 in its header is read as GBK).
    """
    candidates: list[str | None] = []
    if body.startswith(codecs.BOM_UTF8):
        candidates.append("utf-8-sig")
    elif body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.append("utf-16")
    header = _CHARSET.search(content_type or "")
    candidates.append(_codec(header.group(1) if header else None))
    declared = _DECLARED.match(body.lstrip()[:200])
    candidates.append(_codec(declared.group(1).decode("ascii") if declared else None))
    candidates.append("utf-8")
    for name in dict.fromkeys(c for c in candidates if c):
        try:
            return body.decode(name)
        except (UnicodeDecodeError, LookupError):
            continue
    raise SoapReplyError("the reply is in no charset it names")


def parse_xml(text: str) -> Element:
    """The root element of ``text``, read safely (``his_clients/safe_xml.py``: any DTD refused)."""
    # The text is decoded already: its declaration may name a charset expat cannot read (GBK), so it goes.
    utf8 = _DECLARATION.sub("", text, count=1).encode("utf-8")
    try:
        return safe_xml.parse(utf8, encoding="utf-8")
    except safe_xml.XmlRefused as refused:
        raise SoapReplyError(f"the reply {refused}") from None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: Element) -> list[Element]:
    return [child for child in element if isinstance(child.tag, str)]


# -- envelopes ---------------------------------------------------------------------------------


def envelope(version: str, namespace: str, operation: str, parts: list[tuple[str, str]]) -> bytes:
    """A document/literal wrapped request: ``<ns:operation><part>text</part>...</ns:operation>``."""
    env = SOAP12_ENV if version == "1.2" else SOAP11_ENV
    inner = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in parts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{env}"><soap:Body>'
        f"<ns:{operation} xmlns:ns={quoteattr(namespace)}>{inner}</ns:{operation}>"
        "</soap:Body></soap:Envelope>"
    ).encode()


def _fault_text(fault: Element) -> str:
    code = reason = ""
    for child in _children(fault):
        name = local(child.tag)
        if name == "faultcode":
            code = (child.text or "").strip()
        elif name == "faultstring":
            reason = (child.text or "").strip()
        elif name == "Code":  # SOAP 1.2: Code/Value, Reason/Text
            value = next((c for c in _children(child) if local(c.tag) == "Value"), None)
            code = (value.text or "").strip() if value is not None else ""
        elif name == "Reason":
            text = next((c for c in _children(child) if local(c.tag) == "Text"), None)
            reason = (text.text or "").strip() if text is not None else ""
    reason = mask(reason)
    if len(reason) > MAX_FAULT_CHARS:
        reason = reason[:MAX_FAULT_CHARS] + "…"
    return f"SOAP Fault {mask(code) or '(no code)'}: {reason or '(no faultstring)'}"


def read_reply(body: bytes, content_type: str) -> str:
    """The JSON string a SOAP reply carries (the first element inside the Body's wrapper), or an error."""
    if len(body) > MAX_SOAP_REPLY_BYTES:
        raise SoapReplyError(f"the reply exceeds {MAX_SOAP_REPLY_BYTES} bytes")
    root = parse_xml(decode_xml(body, content_type))
    if root.tag not in (f"{{{SOAP11_ENV}}}Envelope", f"{{{SOAP12_ENV}}}Envelope"):
        raise SoapReplyError(f"the reply is no SOAP envelope (root element {local(root.tag)!r})")
    env = root.tag[1:].split("}", 1)[0]
    soap_body = root.find(f"{{{env}}}Body")
    if soap_body is None or not _children(soap_body):
        raise SoapReplyError("the SOAP reply has an empty Body")
    wrapper = _children(soap_body)[0]
    if local(wrapper.tag) == "Fault":
        raise SoapFault(_fault_text(wrapper))
    parts = _children(wrapper)
    text = (parts[0].text if parts else wrapper.text) or ""
    if not text.strip():
        raise SoapReplyError(f"the SOAP reply {local(wrapper.tag)!r} carries no JSON string")
    return text.strip()


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    """What a WSDL says about a service: where it answers, its namespace, each operation's SOAPAction."""

    address: str
    namespace: str
    actions: dict[str, str] = field(default_factory=dict)


def read_wsdl(body: bytes, content_type: str, *, version: str) -> ServiceDescription:
    """The address (of a port bound to ``version``), targetNamespace and SOAPActions from a WSDL 1.1."""
    if len(body) > MAX_WSDL_BYTES:
        raise SoapReplyError(f"the WSDL exceeds {MAX_WSDL_BYTES} bytes")
    root = parse_xml(decode_xml(body, content_type))
    if root.tag != f"{{{WSDL}}}definitions":
        raise SoapReplyError("the WSDL is no wsdl:definitions document")
    namespace = root.get("targetNamespace", "").strip()
    binding_ns = WSDL_SOAP12 if version == "1.2" else WSDL_SOAP11
    address = ""
    for port in root.iter(f"{{{WSDL}}}port"):
        found = port.find(f"{{{binding_ns}}}address")
        if found is not None and found.get("location", "").strip():
            address = found.get("location", "").strip()
            break
    actions: dict[str, str] = {}
    for binding in root.iter(f"{{{WSDL}}}binding"):
        if binding.find(f"{{{binding_ns}}}binding") is None:
            continue
        for operation in binding.iter(f"{{{WSDL}}}operation"):
            soap_operation = operation.find(f"{{{binding_ns}}}operation")
            if soap_operation is not None and operation.get("name"):
                actions[operation.get("name", "")] = soap_operation.get("soapAction", "")
    if not namespace or not address.startswith(("http://", "https://")):
        raise SoapReplyError(f"the WSDL names no targetNamespace or no SOAP {version} address")
    return ServiceDescription(address=address, namespace=namespace, actions=actions)


# -- the transport -----------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class SoapTransport:
    """One WebService upstream: each method call is one SOAP request carrying the spec's JSON as a string."""

    def __init__(
        self,
        service: SoapService,
        method_paths: dict[str, str] | None = None,
        *,
        backend: HttpBackend = "lean",
        max_connections: int = 20,
    ) -> None:
        self.service = service
        self._method_paths = dict(method_paths or {})
        self._http = HttpJsonTransport(
            backend=backend,
            max_connections=max_connections,
            max_reply_bytes=MAX_SOAP_REPLY_BYTES,
            max_file_bytes=MAX_FILE_BYTES,
        )
        self._description: ServiceDescription | None = None
        if service.wsdl_url is None:
            assert service.endpoint is not None  # the registry checked
            assert service.namespace is not None
            self._description = ServiceDescription(address=service.endpoint, namespace=service.namespace)
        self._describing = asyncio.Lock()

    def operation_for(self, method: str) -> tuple[str, list[tuple[str, str]]]:
        """The operation a method goes to and its parts, before the JSON (``dispatch``: the method name)."""
        named = self._method_paths.get(method, method)
        if self.service.style == "dispatch":
            assert self.service.operation is not None  # the registry checked
            return self.service.operation, [(self.service.method_param, named)]
        return named.rsplit(".", 1)[-1].strip("/"), []

    async def describe(self, *, timeout_s: float) -> ServiceDescription:
        """The service's address and namespace: the registry's, or its WSDL's (fetched once; a failure is retried)."""
        if self._description is not None:
            return self._description
        async with self._describing:
            if self._description is None:
                assert self.service.wsdl_url is not None
                raw = await self._http.get(self.service.wsdl_url, {}, timeout_s=timeout_s, max_bytes=MAX_WSDL_BYTES)
                if raw.status != 200:
                    raise SoapReplyError(f"the WSDL answered HTTP {raw.status}")
                found = read_wsdl(raw.body, raw.content_type, version=self.service.version)
                address = self.service.endpoint or found.address
                if self.service.endpoint is None and _origin(found.address) != _origin(self.service.wsdl_url):
                    # A WSDL must not send patients' data to another server; behind NAT the operator names it.
                    raise SoapReplyError(
                        f"the WSDL sends calls to {_origin(found.address)}, not to the WSDL's own server:"
                        " set soap_endpoint if that is right"
                    )
                self._description = ServiceDescription(
                    address, self.service.namespace or found.namespace, found.actions
                )
            return self._description

    async def call(self, method: str, body: bytes, *, timeout_s: float) -> RawReply:
        """Call ``method`` with the JSON ``body``; the JSON reply as a ``RawReply`` (status 200, application/json).

        A Fault or an unusable reply raises ``TransportProtocolError``; any other non-200 status (a proxy's
        502, a server's bare 500) comes back as that status, as over HTTP.
        """
        description = await self.describe(timeout_s=timeout_s)
        operation, parts = self.operation_for(method)
        action = description.actions.get(operation, "")
        request = envelope(
            self.service.version,
            description.namespace,
            operation,
            [*parts, (self.service.param, body.decode("utf-8"))],
        )
        if self.service.version == "1.2":
            content_type = "application/soap+xml; charset=utf-8" + (f'; action="{action}"' if action else "")
            headers = httpx.Headers({"Content-Type": content_type, "Accept": "application/soap+xml, text/xml"})
        else:
            headers = httpx.Headers(
                {"Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml", "SOAPAction": f'"{action}"'}
            )
        raw = await self._http.post(description.address, request, headers=headers, timeout_s=timeout_s)
        if raw.status != 200 and (not raw.body or "xml" not in raw.content_type.lower()):
            return raw
        try:
            text = read_reply(raw.body, raw.content_type)
        except SoapReplyError:
            if raw.status != 200:
                return raw  # an error page that merely says xml: the status tells more
            raise
        return RawReply(status=200, body=text.encode("utf-8"), content_type="application/json")

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        """Only methods are called over SOAP (``call``); a bare URL has no operation."""
        raise SoapReplyError(f"a WebService upstream is called by method, not by URL ({url})")

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply:
        """File downloads (16.1.4) stay plain HTTP GETs: SOAP has no byte stream (the URL is base_url's)."""
        return await self._http.get(url, params, timeout_s=timeout_s)

    async def aclose(self) -> None:
        await self._http.aclose()
