"""How each message kind is worded: a template message, or a customer-service text (19.1.6).

Template ids belong to one official account, so they are configuration: ``templates_from_config`` reads a
mapping such as (TOML)::

    [messages.templates.lisReport]
    template_id = "tmpl-lis"
    url = "https://example.org/report/{reportkey}"
    data = { first = "{userName}，您的检验报告已出", keyword1 = "{item}", keyword2 = "{time}" }

    [messages.templates.sendCustomizedMessage]
    customer_service = "{functionTitle}\\n{functionDescription}\\n{functionRemark}"

Values are ``str.format`` patterns over the queued payload's fields; a field the payload lacks reads "".
``sendCustomizedMessage`` (19.1.6) is a customer-service message whatever the configuration says, with
`CUSTOMIZED_MESSAGE_TEXT` as its default wording.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

CUSTOMIZED_MESSAGE_KIND: Final = "sendCustomizedMessage"
CUSTOMIZED_MESSAGE_TEXT: Final = "{functionTitle}\n{functionDescription}\n{functionRemark}"


@dataclass(frozen=True, slots=True)
class Template:
    """A template message: its id and how each template keyword is filled from the payload."""

    template_id: str
    data: Mapping[str, str]
    url: str | None = None
    miniprogram: Mapping[str, str] = field(default_factory=dict)
    """appid and pagepath (a pattern too) to open the mini-program instead of `url`."""


@dataclass(frozen=True, slots=True)
class CustomerServiceText:
    """A customer-service text message (only within 24 h of the user's last interaction, per the spec)."""

    content: str = CUSTOMIZED_MESSAGE_TEXT


Wording = Template | CustomerServiceText


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


_FORMATTER: Final = string.Formatter()


def render(pattern: str, payload: Mapping[str, Any]) -> str:
    """`pattern` with ``{field}`` replaced by the payload's values (missing ones empty; no attribute or
    index lookups, so a payload cannot reach into objects)."""
    values = _Blank({k: "" if v is None else str(v) for k, v in payload.items()})
    parts = []
    for literal, name, _spec, _conversion in _FORMATTER.parse(pattern):
        parts.append(literal)
        if name is not None:
            parts.append(values[name] if name.isidentifier() else "")
    return "".join(parts)


def templates_from_config(config: Mapping[str, Mapping[str, Any]]) -> dict[str, Wording]:
    """Kind -> wording from a configuration mapping (see the module's docstring); raises ValueError on a
    kind with neither a template_id nor customer_service."""
    wordings: dict[str, Wording] = {}
    for kind, entry in config.items():
        if "customer_service" in entry or kind == CUSTOMIZED_MESSAGE_KIND:
            wordings[kind] = CustomerServiceText(str(entry.get("customer_service") or CUSTOMIZED_MESSAGE_TEXT))
        elif entry.get("template_id"):
            wordings[kind] = Template(
                template_id=str(entry["template_id"]),
                data={str(k): str(v) for k, v in dict(entry.get("data") or {}).items()},
                url=str(entry["url"]) if entry.get("url") else None,
                miniprogram={str(k): str(v) for k, v in dict(entry.get("miniprogram") or {}).items()},
            )
        else:
            raise ValueError(f"message kind {kind!r}: give template_id or customer_service")
    return wordings


def wording_for(kind: str, wordings: Mapping[str, Wording]) -> Wording | None:
    """The configured wording of `kind`; 19.1.6 is always a customer-service message."""
    wording = wordings.get(kind)
    if kind == CUSTOMIZED_MESSAGE_KIND and not isinstance(wording, CustomerServiceText):
        return CustomerServiceText()
    return wording
