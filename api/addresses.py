"""The client's address: the connection's peer, or what a trusted proxy says it forwarded.

``client_address(request)`` is the one answer every address check uses: hospitals' ``allowed_ips``
(api/shims/auth.py), rate limits (api/ratelimit.py) and logs. ``X-Forwarded-For`` is read only when the
peer is one of ``Settings.trusted_proxies`` (default none); then the entries are taken right to left,
skipping trusted proxies, and the first one that is not a trusted proxy is the client. A header sent by
anyone else, a local process included, changes nothing.

``hisgraph serve`` runs uvicorn with proxy headers off unless trusted proxies are configured, and then
trusts exactly those (``forwarded_allow_ips``); this helper gives the same answer either way.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=32)
def networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parsed ``trusted_proxies`` (already validated by Settings)."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(address: str, trusted: Iterable[Network]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in trusted)


def address_of(scope: Scope, trusted_proxies: tuple[str, ...]) -> str | None:
    """The client address of an ASGI scope under these trusted proxies (see the module docstring)."""
    client = scope.get("client")
    peer: str | None = client[0] if client else None
    if peer is None or not trusted_proxies:
        return peer
    trusted = networks(trusted_proxies)
    if not _trusted(peer, trusted):
        return peer
    forwarded: list[str] = []
    for key, value in scope.get("headers") or ():
        if key.lower() == b"x-forwarded-for":
            forwarded += [part.strip() for part in value.decode("latin-1").split(",")]
    address = peer
    for hop in reversed(forwarded):
        ip = _ip(hop)
        if ip is None:
            break  # garbage: stop at the last address a trusted hop vouched for
        address = str(ip)
        if not any(ip in network for network in trusted):
            break
    return address


def _settings_proxies(app: Any) -> tuple[str, ...]:
    settings = getattr(getattr(app, "state", None), "settings", None)
    proxies: tuple[str, ...] = getattr(settings, "trusted_proxies", ())
    return proxies


def client_address(request: HTTPConnection) -> str | None:
    """The client address of a request, under the app's ``trusted_proxies``."""
    app = request.scope.get("app")
    return address_of(request.scope, _settings_proxies(app) if app is not None else ())
