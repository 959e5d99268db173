"""Which hospital is calling a shim, and proof that it is that hospital.

Every shim (``POST /prefront/...``) is authenticated by the ``shim`` decorator before its handler runs,
as the caller's registry entry says (``auth`` in the hospital registry). A failed check answers the
spec's envelope with HTTP 200 and code 50001 (无权访问该接口), and the handler never runs.

For a hospital integrator
-------------------------
``auth = "none"`` (as hospitals following the spec call today)
    Nothing to send. The call is accepted when it comes from an address in the hospital's
    ``allowed_ips``; an empty list means the hospital cannot call at all. When several hospitals'
    lists hold the address (a regional HIS calling for its hospitals), the call may act for any of
    them and must name which in ``hospitalId``. ``X-Hospital-Id`` may narrow it to one.

``auth = "api_key"``
    Headers ``X-Hospital-Id: <our id for the hospital>`` and ``X-Api-Key: <the key>``.

``auth = "hmac"`` (scheme 2, the default; ``hmac_version`` in the registry)
    Headers::

        X-Hospital-Id:        253
        X-Timestamp:          1718000000            (unix time in whole seconds, UTC)
        X-Nonce:              3f1c9a0e5b7d4c21      (8-128 characters from A-Z a-z 0-9 - _ . ; never reused)
        X-Signature-Version:  2                     (optional; if sent, must be the registry's version)
        X-Signature:          <HMAC-SHA256 of the string to sign, keyed by the hospital's secret>

    The string to sign (scheme 2) is eight lines joined by a line feed (0x0A), no trailing line feed,
    encoded as UTF-8::

        HISGRAPH-HMAC-SHA256-2
        <HTTP method, upper case>                   POST
        <path>                                      /prefront/hospitalizationCosts/hisRefund
        <query string as sent, without "?">         (empty line when there is none)
        <X-Hospital-Id>                             253
        <X-Timestamp>                               1718000000
        <X-Nonce>                                   3f1c9a0e5b7d4c21
        <SHA-256 of the body bytes, lowercase hex>  (of the empty string when there is no body)

    The path is percent-decoded, repeated slashes collapsed, without a trailing slash (as we route it).
    Over the WebService endpoint the method is POST, the path the operation's JSON path (as the catalog
    names it, e.g. /prefront/hospitalizationCosts/hisRefund), the query empty and the body the JSON
    argument string. The signature is the 32-byte MAC as lowercase or uppercase hex (64 characters) or as
    standard base64 (44 characters with padding). In Python (``sign_request`` below computes it)::

        digest = hashlib.sha256(body).hexdigest()
        text = "\n".join(["HISGRAPH-HMAC-SHA256-2", "POST", path, query, hospital_id, ts, nonce, digest])
        mac = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()

    A signature binds the call to its method, path and query: a signed 9.1.2 query replayed to 9.1.1 is
    refused (50001). Scheme 1 (``hmac_version = 1`` in the hospital's registry entry, never by a header)
    signs only ``"<timestamp>\n<nonce>\n" + body``; a hospital on it should move to 2.

    A timestamp more than 300 s away from our clock, or a nonce the hospital used before, is refused.

With ``api_key`` and ``hmac`` an empty ``allowed_ips`` means any address; a non-empty one is checked too.
The address is ``api.addresses.client_address``: the connection's peer, or what a proxy listed in
``Settings.trusted_proxies`` forwarded; ``X-Forwarded-For`` from anyone else is ignored.

For a shim author
-----------------
``caller_of(request)`` is the authenticated ``ShimCaller``. A body's ``hospitalId`` must be the caller's:
``own_hospital_id(request, body)`` checks it (50001 otherwise) and attributes a body without one to the
caller; ``own_hospital_by_hos_code`` does the same for 21.1.x uploads, which name a hospital by hosCode.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from starlette.applications import Starlette
from starlette.requests import Request

from his_clients.codes import ReturnCode
from his_clients.registry import Hospital, Registry, ShimAuth
from store.shim_nonces import StoredNonces

from ..addresses import client_address
from .envelope import ShimError, text_field

log = logging.getLogger("hisgraph.shims.auth")

HOSPITAL_HEADER: Final = "X-Hospital-Id"
API_KEY_HEADER: Final = "X-Api-Key"
TIMESTAMP_HEADER: Final = "X-Timestamp"
NONCE_HEADER: Final = "X-Nonce"
SIGNATURE_HEADER: Final = "X-Signature"
SIGNATURE_VERSION_HEADER: Final = "X-Signature-Version"
SCHEME_2: Final = "HISGRAPH-HMAC-SHA256-2"
MAX_CLOCK_SKEW_S: Final = 300

REPLAY_CALLER: Final = "hisgraph.replay_caller"
"""ASGI scope key of an operator's in-process replay (api/shims/replay.py): the ShimCaller it acts as.
A network request's scope never holds it."""

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[0-9A-Za-z_.\-]{8,128}$")


class ShimUnauthorized(ShimError):
    """50001: the caller did not prove who it is, or asked to act for a hospital that is not its own.

    ``reason`` goes to our log only; the hospital reads a hint only where it reveals nothing
    (a stale timestamp, a reused nonce, a missing header).
    """

    def __init__(self, reason: str, *, hint: str | None = None) -> None:
        super().__init__(ReturnCode.UNAUTHORIZED, f"{ReturnCode.UNAUTHORIZED.meaning}: {hint}" if hint else None)
        self.reason = reason


class NonceStore(Protocol):
    """Remembers nonces; store.shim_nonces.StoredNonces keeps them in the database."""

    async def first_use(self, *, hospital_id: str, nonce: str, now: datetime) -> bool: ...


@dataclass(frozen=True)
class ShimCaller:
    """The hospital(s) an authenticated shim call may act for, and how it proved that."""

    hospital_ids: frozenset[str]
    auth: ShimAuth

    @property
    def hospital_id(self) -> str | None:
        """The one hospital the call acts for; None when its address is shared by several (auth none)."""
        return next(iter(self.hospital_ids)) if len(self.hospital_ids) == 1 else None

    def ensure_own_hospital(self, hospital_id: str | None) -> str:
        """The hospital a request acts for: ``hospital_id`` from its body if the caller's (50001 if not),
        or the caller's own when the body names none."""
        if hospital_id is None:
            if self.hospital_id is None:
                raise ShimError(ReturnCode.MISSING_PARAMETER, "缺少参数: hospitalId (调用方对应多家医院)")
            return self.hospital_id
        if hospital_id not in self.hospital_ids:
            raise ShimUnauthorized(f"acts for hospital {hospital_id!r}, not its own {sorted(self.hospital_ids)}")
        return hospital_id


def caller_of(request: Request) -> ShimCaller:
    """The caller the ``shim`` decorator authenticated for this request."""
    caller: ShimCaller = request.state.caller
    return caller


def own_hospital_id(request: Request, body: Mapping[str, Any]) -> str:
    """The body's ``hospitalId`` after checking it is the caller's, or the caller's hospital if absent."""
    return caller_of(request).ensure_own_hospital(text_field(body, "hospitalId", required=False))


def own_hospital_by_hos_code(request: Request, body: Mapping[str, Any]) -> str:
    """The hospital id a 21.1.x upload's ``hosCode`` names, after checking it is the caller's."""
    hos_code = text_field(body, "hosCode")
    assert hos_code is not None
    registry: Registry = request.app.state.services.registry
    hospital = registry.by_hos_code.get(hos_code)
    if hospital is None:
        # Unknown and someone else's look the same to the caller.
        raise ShimUnauthorized(f"hosCode {hos_code!r} is not in the registry")
    return caller_of(request).ensure_own_hospital(hospital.id)


def log_refusal(request: Request, refusal: ShimUnauthorized) -> None:
    """Our record of a 50001: why, on which path, from where (no secrets, no body)."""
    log.warning(
        "shim call refused",
        extra={
            "reason": refusal.reason,
            "path": request.url.path,
            "client": client_address(request) or "",
            "hospital_header": request.headers.get(HOSPITAL_HEADER, "")[:64],
        },
    )


async def record_refused(request: Request, refusal: ShimUnauthorized) -> None:
    """A call refused at authentication (50001), in the inbound ledger: its path and section, the hospital
    it claimed to be (X-Hospital-Id, else the body's hospitalId: never proven), its body masked and bounded
    as every recorded body is. Never raises (record_call logs its own failures)."""
    from services.shims.ledger import ShimCall, record_call

    from .envelope import parse_json
    from .validation import catalog

    services = getattr(request.app.state, "services", None)
    if services is None:  # pragma: no cover - create_app always sets it
        return
    path = request.url.path[:200]
    try:
        body: Any = parse_json(await request.body() or b"{}")
    except Exception:
        body = {}
    claimed = request.headers.get(HOSPITAL_HEADER, "").strip()
    if not claimed and isinstance(body, Mapping) and isinstance(body.get("hospitalId"), str):
        claimed = str(body["hospitalId"]).strip()
    section = next(
        (
            str(entry["section"])
            for entry in catalog()
            if entry["direction"] == "platform" and "/" + str(entry["http_path"]).strip("/") == path
        ),
        "?",
    )
    reply = {"success": False, "msg": refusal.msg, "code": refusal.code.value, "data": None}
    call = ShimCall(section=section, path=path, hospital_id=None, body=body, claimed_hospital_id=claimed[:64] or None)
    await record_call(services.db, call, reply_code=refusal.code.value, reply=reply)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShimAuthenticator:
    """Checks a shim request against the registry: address, API key or signature, timestamp and nonce."""

    def __init__(
        self,
        registry: Registry,
        nonces: NonceStore,
        *,
        clock: Callable[[], datetime] = _utc_now,
        max_clock_skew_s: int = MAX_CLOCK_SKEW_S,
    ) -> None:
        self._registry = registry
        self._nonces = nonces
        self._clock = clock
        self._max_skew_s = max_clock_skew_s
        self._ip_only = tuple(h for h in registry.hospitals if h.auth == "none")

    async def authenticate(self, request: Request) -> ShimCaller:
        """The caller, or ShimUnauthorized (recorded in the inbound ledger with the hospital it claimed)."""
        replayed = request.scope.get(REPLAY_CALLER)
        if isinstance(replayed, ShimCaller):
            return replayed
        try:
            return await self._authenticate(request)
        except ShimUnauthorized as refusal:
            await record_refused(request, refusal)
            raise

    async def _authenticate(self, request: Request) -> ShimCaller:
        address = client_address(request)
        claimed = request.headers.get(HOSPITAL_HEADER)
        if claimed is None:
            ids = frozenset(h.id for h in self._ip_only if h.allows_address(address))
            if not ids:
                raise ShimUnauthorized(f"no {HOSPITAL_HEADER} and {address} is in no auth-none allowlist")
            return ShimCaller(hospital_ids=ids, auth="none")
        hospital = self._registry.hospital(claimed.strip())
        if hospital is None:
            raise ShimUnauthorized("unknown hospital")
        if not hospital.allows_address(address):
            raise ShimUnauthorized(f"{address} is not in the allowlist of hospital {hospital.id}")
        if hospital.auth == "api_key":
            self._check_api_key(request, hospital)
        elif hospital.auth == "hmac":
            await self._check_signature(request, hospital)
        return ShimCaller(hospital_ids=frozenset({hospital.id}), auth=hospital.auth)

    def _check_api_key(self, request: Request, hospital: Hospital) -> None:
        assert hospital.api_key is not None  # Hospital._auth_has_its_secret
        given = request.headers.get(API_KEY_HEADER, "").encode()
        if not hmac.compare_digest(given, hospital.api_key.get_secret_value().encode()):
            raise ShimUnauthorized(f"wrong or missing {API_KEY_HEADER}")

    async def _check_signature(self, request: Request, hospital: Hospital) -> None:
        assert hospital.hmac_secret is not None  # Hospital._auth_has_its_secret
        timestamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
        nonce = request.headers.get(NONCE_HEADER, "").strip()
        signature = request.headers.get(SIGNATURE_HEADER, "").strip()
        if not _TIMESTAMP.match(timestamp) or not _NONCE.match(nonce) or not signature:
            raise ShimUnauthorized(
                "signature headers missing or malformed",
                hint=f"需要 {TIMESTAMP_HEADER}、{NONCE_HEADER}(8-128位)、{SIGNATURE_HEADER}",
            )
        version = request.headers.get(SIGNATURE_VERSION_HEADER, "").strip()
        if version and version != str(hospital.hmac_version):
            hint = f"{SIGNATURE_VERSION_HEADER} 应为 {hospital.hmac_version}"
            reason = f"signature version {version[:8]!r}, registry says {hospital.hmac_version}"
            raise ShimUnauthorized(reason, hint=hint)
        body = await request.body()
        expected = string_to_sign(
            hospital.hmac_version,
            method=request.method,
            path=request.scope["path"],
            query=request.scope.get("query_string", b""),
            hospital_id=request.headers.get(HOSPITAL_HEADER, "").strip(),
            timestamp=timestamp,
            nonce=nonce,
            body=body,
        )
        mac = hmac.new(hospital.hmac_secret.get_secret_value().encode(), expected, hashlib.sha256).digest()
        if not hmac.compare_digest(_decode_signature(signature), mac):
            raise ShimUnauthorized("bad signature")
        now = self._clock()
        if abs(now.timestamp() - int(timestamp)) > self._max_skew_s:
            hint = f"时间戳与平台时间相差超过{self._max_skew_s}秒"
            raise ShimUnauthorized(f"timestamp {timestamp} is stale", hint=hint)
        if not await self._nonces.first_use(hospital_id=hospital.id, nonce=nonce, now=now):
            raise ShimUnauthorized("nonce used before", hint="随机串已使用过")


def string_to_sign(
    version: int,
    *,
    method: str,
    path: str,
    query: bytes | str,
    hospital_id: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> bytes:
    """The bytes a hospital's HMAC covers under scheme ``version`` (the module docstring, byte for byte)."""
    if version == 1:
        return f"{timestamp}\n{nonce}\n".encode() + body
    query_text = query.decode("latin-1") if isinstance(query, bytes) else query
    digest = hashlib.sha256(body).hexdigest()
    lines = [SCHEME_2, method.upper(), path, query_text, hospital_id, timestamp, nonce, digest]
    return "\n".join(lines).encode("utf-8")


def sign_request(
    secret: str,
    *,
    method: str,
    path: str,
    hospital_id: str,
    timestamp: str,
    nonce: str,
    body: bytes,
    query: bytes | str = b"",
    version: int = 2,
) -> str:
    """The X-Signature (lowercase hex) of a request, as an integrator computes it (docs, tests)."""
    text = string_to_sign(
        version,
        method=method,
        path=path,
        query=query,
        hospital_id=hospital_id,
        timestamp=timestamp,
        nonce=nonce,
        body=body,
    )
    return hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()


def _decode_signature(signature: str) -> bytes:
    """The MAC from hex (64 characters) or base64; empty bytes (never equal to a MAC) when it is neither."""
    try:
        if len(signature) == 64:
            return bytes.fromhex(signature)
        return base64.b64decode(signature, validate=True)
    except (ValueError, binascii.Error):
        return b""


def shim_authenticator(app: Starlette) -> ShimAuthenticator:
    """The app's authenticator: ``app.state.shim_auth`` if set (tests put one with their own clock there),
    else one over the app's registry and store, built on first use."""
    found: ShimAuthenticator | None = getattr(app.state, "shim_auth", None)
    if found is None:
        services = app.state.services
        found = ShimAuthenticator(services.registry, StoredNonces(services.db))
        app.state.shim_auth = found
    return found
