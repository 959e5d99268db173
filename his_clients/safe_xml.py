"""XML read safely, the one way every SOAP message is read: the replies of WebService hospitals
(``his_clients/soap.py``), the calls hospitals make to our WebService (``api/webservice.py``), and the simulator's.

expat builds an ElementTree with any DTD refused: a DOCTYPE or an entity declaration ends the parse, no entity is
expanded and nothing external is ever fetched (no XXE, no billion laughs). Element and attribute names keep their
namespace as ElementTree writes it (``{uri}local``). Callers bound the size before parsing.
"""

from __future__ import annotations

import xml.parsers.expat
from xml.etree.ElementTree import Element, TreeBuilder


class XmlRefused(ValueError):
    """The document is not well-formed, or carries what is never read (a DTD, an entity, an external reference).

    Its text is a predicate ("carries a DTD ..."): callers name the document ("the reply " + text)."""


def _refuse_dtd(*_: object) -> None:
    raise XmlRefused("carries a DTD (DOCTYPE or entity): refused, SOAP forbids one")


def _refuse_external(context: str, base: str | None, system_id: str | None, public_id: str | None) -> int:
    raise XmlRefused("refers to an external entity: refused, nothing is ever fetched")


def parse(document: bytes, *, encoding: str | None = None) -> Element:
    """The root element of ``document`` (in ``encoding``, else as its declaration or UTF-8 says)."""
    parser = xml.parsers.expat.ParserCreate(encoding, namespace_separator="}")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = TreeBuilder()

    def tag(name: str) -> str:
        return "{" + name if "}" in name else name

    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = lambda name, attrs: builder.start(tag(name), {tag(k): v for k, v in attrs.items()})
    parser.EndElementHandler = lambda name: builder.end(tag(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(document, True)
        root: Element = builder.close()
    except xml.parsers.expat.ExpatError as exc:
        raise XmlRefused(f"is not well-formed XML ({xml.parsers.expat.errors.messages[exc.code]})") from None
    return root
