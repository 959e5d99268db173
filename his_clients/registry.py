"""The hospital registry: which hospitals exist, where their HIS answers and what they have opened.

A TOML file, validated with pydantic::

    [[hospitals]]
    id = "253"
    name = "济南市第一人民医院"
    base_url = "http://127.0.0.1:9100/his/253"   # method URL = base_url + "/" + method
    transport = "http"
    timeout_s = 3.0
    opened = ["hospital.interface.queryWaitPay"]  # optional; absent means every method
    method_paths = { "hospital.interface.queryWaitPay" = "api/waitPay" }  # optional overrides
    file_hosts = ["pacs.hospital253.cn", "10.1.2.3:8080"]  # optional: where its pdfUrl/reportUrl may point;
                                                 # without a port: only the scheme's default port (80/443)
    show_audited_sensitive_pathology = false     # optional: show 41.1.1 reportStatus 3 reports online
    hos_code = "H37010001"                       # optional: the hosCode its 21.1.x uploads carry
    auth = "hmac"                                # how it proves itself calling our shims: none, api_key, hmac
    hmac_secret = "..."                          # api_key = "..." for auth = "api_key"
    allowed_ips = ["10.1.2.0/24", "10.9.9.9"]   # where its shim calls may come from (see Hospital.allowed_ips)

    [[endpoints]]                                  # a regional HIS (县域集中部署)
    id = "county"
    base_url = "http://127.0.0.1:9100/regional"

    [[hospitals]]
    id = "256"
    name = "..."
    endpoint = "county"                            # hospitalId travels in the body

A hospital has either its own ``base_url`` or names a shared regional ``endpoint``.

WebService (SOAP) hospitals and endpoints (the spec's 约定: 接口类型 "http（推荐）或WebService")::

    [[hospitals]]
    id = "255"
    name = "..."
    transport = "webservice"
    wsdl_url = "http://10.1.2.3:8080/his/services/HisService?wsdl"   # fetched once: address and namespace
    # or, where the hospital publishes no WSDL:
    # soap_endpoint = "http://10.1.2.3:8080/his/services/HisService"
    # soap_namespace = "http://his.example.cn/"
    soap_style = "per_method"     # one operation per method, named by the method's last part
                                  # (hospital.interface.getPatientInfo -> getPatientInfo) unless
                                  # method_paths names another; JSON request in, JSON reply out, as strings
    soap_version = "1.1"          # or "1.2"
    # soap_style = "dispatch": one operation for every method, taking the method name and the JSON:
    # soap_operation = "invoke"; soap_method_param = "method"; soap_param = "param"
    base_url = "http://10.1.2.3:8080/his"   # optional: file downloads (16.1.4 is a GET, SOAP cannot carry it)

A ``transport = "webservice"`` entry without ``wsdl_url`` or ``soap_endpoint`` + ``soap_namespace`` is refused
at start-up, as are SOAP keys on an ``http`` entry (they would be silently ignored).

Hospitals calling our shims (``POST /prefront/...``) prove who they are as ``auth`` says; the scheme
an integrator implements is described in ``api/shims/auth.py``.
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Final, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, SecretStr, field_validator, model_validator

Transport = Literal["http", "webservice"]
SoapStyle = Literal["per_method", "dispatch"]
SoapVersion = Literal["1.1", "1.2"]
_XML_NAME = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$"
ShimAuth = Literal["none", "api_key", "hmac"]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

LOOPBACK: Final = ("127.0.0.1", "::1")
"""The allowlist of a hospital simulated on the gateway's own machine (the demo)."""
MIN_SECRET_LENGTH: Final = 16


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SoapService(_Strict):
    """Where and how a WebService HIS is called, as the registry entry says (his_clients/soap.py calls it)."""

    wsdl_url: str | None
    endpoint: str | None
    namespace: str | None
    style: SoapStyle
    version: SoapVersion
    operation: str | None
    method_param: str
    param: str


class _SoapKeys(_Strict):
    """The registry keys of a WebService (SOAP) HIS; see the module's docstring."""

    wsdl_url: HttpUrl | None = None
    """Its WSDL, fetched once (bounded, DTD refused) for the service address, namespace and SOAPActions."""
    soap_endpoint: HttpUrl | None = None
    """The service address, where no WSDL is published (then ``soap_namespace`` too); with ``wsdl_url``, it
    replaces the WSDL's address (a WSDL naming another server than its own is otherwise refused)."""
    soap_namespace: str | None = Field(default=None, min_length=1, max_length=500)
    """The operations' namespace (the WSDL's targetNamespace)."""
    soap_style: SoapStyle = "per_method"
    soap_version: SoapVersion = "1.1"
    soap_operation: str | None = Field(default=None, pattern=_XML_NAME)
    """``dispatch``: the one operation every method goes through."""
    soap_method_param: str = Field(default="method", pattern=_XML_NAME)
    """``dispatch``: the operation's part carrying the method name."""
    soap_param: str = Field(default="param", pattern=_XML_NAME)
    """The part carrying the JSON request (``getPatientInfo（String param）``)."""

    def _soap_problem(self, transport: Transport, owner: str) -> str | None:
        given = [k for k in ("wsdl_url", "soap_endpoint", "soap_namespace", "soap_operation") if getattr(self, k)]
        if transport != "webservice":
            return f"{owner}: {', '.join(given)} given but transport = {transport!r} would ignore it" if given else None
        if self.wsdl_url is None and (self.soap_endpoint is None or self.soap_namespace is None):
            return f"{owner}: transport = 'webservice' needs wsdl_url, or soap_endpoint and soap_namespace"
        if self.soap_style == "dispatch" and self.soap_operation is None:
            return f"{owner}: soap_style = 'dispatch' needs soap_operation (and soap_method_param, soap_param)"
        if self.soap_style == "per_method" and self.soap_operation is not None:
            return f"{owner}: soap_operation is only for soap_style = 'dispatch'"
        return None

    def soap_service(self) -> SoapService:
        return SoapService(
            wsdl_url=None if self.wsdl_url is None else str(self.wsdl_url),
            endpoint=None if self.soap_endpoint is None else str(self.soap_endpoint),
            namespace=self.soap_namespace,
            style=self.soap_style,
            version=self.soap_version,
            operation=self.soap_operation,
            method_param=self.soap_method_param,
            param=self.soap_param,
        )

    def _soap_base_url(self, base_url: HttpUrl | None) -> str:
        """Where method URLs (file downloads) start: ``base_url``, else the SOAP address itself."""
        address = base_url or self.soap_endpoint or self.wsdl_url
        return str(address).split("?", 1)[0].rstrip("/")


class Endpoint(_SoapKeys):
    """One server of a regional HIS (HTTP, or WebService with the SOAP keys), shared by several hospitals."""

    id: str
    name: str = ""
    base_url: HttpUrl | None = None
    """Method URL = base_url + "/" + method; required for ``http``, optional (file downloads) for ``webservice``."""
    transport: Transport = "http"
    timeout_s: float = Field(default=3.0, gt=0, le=120)
    max_connections: int = Field(default=20, ge=1, le=1000)
    method_paths: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        problem = self._soap_problem(self.transport, f"endpoint {self.id}")
        if problem is None and self.transport == "http" and self.base_url is None:
            problem = f"endpoint {self.id}: transport = 'http' needs base_url"
        if problem is not None:
            raise ValueError(problem)
        return self


class Hospital(_SoapKeys):
    """One hospital as the registry describes it."""

    id: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")
    name: str
    region: str = ""
    base_url: HttpUrl | None = None
    """The hospital's own HIS; method URL = base_url + "/" + method (unless ``method_paths`` says otherwise)."""
    endpoint: str | None = None
    """A shared regional endpoint's id; then ``hospitalId`` travels in the request body."""
    transport: Transport = "http"
    timeout_s: float = Field(default=3.0, gt=0, le=120)
    max_connections: int = Field(default=20, ge=1, le=1000)
    """Bulkhead: at most this many calls in flight to this hospital at once."""
    opened: frozenset[str] | None = None
    """Methods the hospital has opened; None means all. Others answer 40003 without a network call."""
    method_paths: dict[str, str] = Field(default_factory=dict)
    """Per-method path (relative to base_url) or absolute URL, for hospitals that mapped a method elsewhere."""
    file_hosts: tuple[str, ...] = ()
    """Hosts (``name``, meaning port 80/443 by the URL's scheme, or ``name:port``) that file URLs this
    hospital returns (pdfUrl, reportUrl, PACS image URLs) may point at. A URL on any other host or port is
    never fetched: a HIS reply must not be able to make the gateway call an arbitrary address (SSRF)."""
    show_audited_sensitive_pathology: bool = False
    """41.1.1 reportStatus 3 (audited, but sensitive by the hospital's or national policy): the spec
    leaves it to each hospital whether patients may view such reports online. Off unless the hospital says so."""
    hos_code: str | None = Field(default=None, min_length=1, max_length=64)
    """The code (hosCode) the hospital's appointment-registration uploads (21.1.x) identify it by."""
    registration_fee: Literal["online", "total"] = "online"
    """What 20.1.7 registrationFee carries: ``online``, the spec's table ("挂号费(线上支付金额)"), or ``total``,
    the whole fee with the card-balance and unified parts, for a hospital that reads it as its example does."""
    auth: ShimAuth = "none"
    """How the hospital proves itself when it calls our shims (api/shims/auth.py):
    ``none``: only by the address it calls from (``allowed_ips``), as hospitals following the spec do today;
    ``api_key``: ``X-Hospital-Id`` and ``X-Api-Key`` headers; ``hmac``: a signature over timestamp, nonce and body."""
    allowed_ips: tuple[str, ...] = ()
    """Addresses or CIDR networks its shim calls may come from. With ``auth = "none"`` this is the only
    check, and an empty list means the hospital cannot call our shims at all (nothing is open by default).
    With ``api_key`` or ``hmac`` an empty list means any address; a non-empty one is checked as well."""
    api_key: SecretStr | None = None
    """The key it sends in ``X-Api-Key`` (``auth = "api_key"``; at least 16 characters)."""
    hmac_secret: SecretStr | None = None
    """The secret it signs shim requests with (``auth = "hmac"``; at least 16 characters)."""
    hmac_version: Literal[1, 2] = 2
    """The signature scheme it signs with (api/shims/auth.py): 2 covers method, path, query, hospital, timestamp,
    nonce and the body's hash; 1 (timestamp, nonce and body only: a signed call could be replayed to
    another path) only for a hospital that has not moved yet, and only where its entry says so."""

    @field_validator("allowed_ips", mode="before")
    @classmethod
    def _networks(cls, value: Iterable[str] | None) -> tuple[str, ...]:
        networks = []
        for entry in value or ():
            try:
                networks.append(str(ipaddress.ip_network(str(entry).strip(), strict=True)))
            except ValueError as exc:
                raise ValueError(f"allowed_ips: {entry!r} is not an IP address or a CIDR network ({exc})") from exc
        return tuple(networks)

    @model_validator(mode="after")
    def _auth_has_its_secret(self) -> Self:
        secrets: dict[str, SecretStr | None] = {"api_key": self.api_key, "hmac_secret": self.hmac_secret}
        needed = {"none": None, "api_key": "api_key", "hmac": "hmac_secret"}[self.auth]
        if needed is not None and secrets[needed] is None:
            raise ValueError(f"hospital {self.id}: auth = {self.auth!r} needs {needed}")
        for name, secret in secrets.items():
            if secret is None:
                continue
            if name != needed:
                raise ValueError(f"hospital {self.id}: {name} is given but auth = {self.auth!r} would ignore it")
            if len(secret.get_secret_value()) < MIN_SECRET_LENGTH:
                raise ValueError(f"hospital {self.id}: {name} must have at least {MIN_SECRET_LENGTH} characters")
        return self

    @field_validator("file_hosts", mode="before")
    @classmethod
    def _hosts_lower(cls, value: Iterable[str] | None) -> tuple[str, ...]:
        hosts = tuple(str(host).strip().lower() for host in (value or ()))
        for host in hosts:
            if not host or "/" in host or "@" in host:
                raise ValueError(f"file_hosts: {host!r} is not a host or host:port (no scheme, no path)")
        return hosts

    @field_validator("opened", mode="before")
    @classmethod
    def _opened_as_set(cls, value: Iterable[str] | None) -> frozenset[str] | None:
        return None if value is None else frozenset(value)

    @model_validator(mode="after")
    def _one_address(self) -> Self:
        # A WebService hospital is addressed by its SOAP keys; base_url is then optional (file downloads).
        own_soap = self.endpoint is None and self.transport == "webservice"
        if (self.base_url is None) == (self.endpoint is None) and not (own_soap and self.base_url is None):
            raise ValueError(f"hospital {self.id}: give exactly one of base_url or endpoint")
        if self.endpoint is not None:
            if self.transport != "http" or self.wsdl_url or self.soap_endpoint:
                raise ValueError(
                    f"hospital {self.id}: behind endpoint {self.endpoint!r} the endpoint says how it is called"
                    " (set transport and the SOAP keys there)"
                )
            return self
        problem = self._soap_problem(self.transport, f"hospital {self.id}")
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def is_regional(self) -> bool:
        return self.endpoint is not None

    def has_opened(self, method: str) -> bool:
        return self.opened is None or method in self.opened

    def allows_file_url(self, url: str) -> bool:
        """Whether ``url`` is an http(s) address on one of this hospital's ``file_hosts``.

        Ports are pinned: an entry without a port allows that host on its scheme's default port only
        (80 for http, 443 for https), so another service on the same host is never reached; ``host:port``
        allows that port. Credentials in the URL are refused (``http://allowed@elsewhere/`` names ``elsewhere``).
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host or parts.username is not None:
            return False
        default = 443 if parts.scheme == "https" else 80
        effective = default if port is None else port
        named = f"[{host}]" if ":" in host else host
        return f"{named}:{effective}" in self.file_hosts or (effective == default and named in self.file_hosts)

    @cached_property
    def allowed_networks(self) -> tuple[IpNetwork, ...]:
        return tuple(ipaddress.ip_network(entry) for entry in self.allowed_ips)

    def allows_address(self, address: str | None) -> bool:
        """Whether a shim call from ``address`` passes ``allowed_ips`` (an IPv4-mapped IPv6 address counts as IPv4)."""
        if not self.allowed_ips:
            return self.auth != "none"
        if address is None:
            return False
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(candidate in network for candidate in candidates for network in self.allowed_networks)


class Registry(_Strict):
    """All hospitals and regional endpoints, checked for consistency."""

    hospitals: tuple[Hospital, ...]
    endpoints: tuple[Endpoint, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [h.id for h in self.hospitals]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise ValueError(f"hospital ids listed twice: {sorted(duplicates)}")
        endpoint_ids = {e.id for e in self.endpoints}
        if len(endpoint_ids) != len(self.endpoints):
            raise ValueError("endpoint ids listed twice")
        for hospital in self.hospitals:
            if hospital.endpoint is not None and hospital.endpoint not in endpoint_ids:
                raise ValueError(f"hospital {hospital.id}: unknown endpoint {hospital.endpoint!r}")
        codes = [h.hos_code for h in self.hospitals if h.hos_code is not None]
        if len(set(codes)) != len(codes):
            raise ValueError(f"hos_code listed twice: {sorted({c for c in codes if codes.count(c) > 1})}")
        return self

    @classmethod
    def load(cls, path: Path | str) -> Registry:
        """Read and validate a registry TOML file."""
        with Path(path).open("rb") as handle:
            return cls.model_validate(tomllib.load(handle))

    @cached_property
    def by_id(self) -> Mapping[str, Hospital]:
        return {h.id: h for h in self.hospitals}

    @cached_property
    def by_hos_code(self) -> Mapping[str, Hospital]:
        """Hospitals by the hosCode their 21.1.x uploads carry (only those that have one)."""
        return {h.hos_code: h for h in self.hospitals if h.hos_code is not None}

    @cached_property
    def endpoints_by_id(self) -> Mapping[str, Endpoint]:
        return {e.id: e for e in self.endpoints}

    def hospital(self, hospital_id: str) -> Hospital | None:
        return self.by_id.get(hospital_id)

    @cached_property
    def _upstreams(self) -> dict[str, tuple[Hospital, Upstream]]:
        return {}

    def upstream(self, hospital: Hospital) -> Upstream:
        """Where calls for ``hospital`` go: its own HIS, or the regional endpoint it sits behind. Made once per
        hospital (the registry does not change; every HIS call asks)."""
        known = self._upstreams.get(hospital.id)
        if known is not None and known[0] is hospital:
            return known[1]
        made = self._upstream(hospital)
        self._upstreams[hospital.id] = (hospital, made)
        return made

    def _upstream(self, hospital: Hospital) -> Upstream:
        if hospital.endpoint is None:
            soap = hospital.transport == "webservice"
            return Upstream(
                key=f"hospital:{hospital.id}",
                base_url=hospital._soap_base_url(hospital.base_url),
                transport=hospital.transport,
                timeout_s=hospital.timeout_s,
                max_connections=hospital.max_connections,
                method_paths=hospital.method_paths,
                regional=False,
                soap=hospital.soap_service() if soap else None,
            )
        endpoint = self.endpoints_by_id[hospital.endpoint]
        return Upstream(
            key=f"endpoint:{endpoint.id}",
            base_url=endpoint._soap_base_url(endpoint.base_url),
            transport=endpoint.transport,
            timeout_s=min(endpoint.timeout_s, hospital.timeout_s),
            max_connections=endpoint.max_connections,
            method_paths={**endpoint.method_paths, **hospital.method_paths},
            regional=True,
            soap=endpoint.soap_service() if endpoint.transport == "webservice" else None,
        )


class Upstream(_Strict):
    """One HIS server as the client sees it; several regional hospitals share one."""

    key: str
    base_url: str
    transport: Transport
    timeout_s: float
    max_connections: int
    method_paths: Mapping[str, str]
    regional: bool
    soap: SoapService | None = None
    """How to call it when ``transport = "webservice"`` (``method_paths`` then name operations, not paths)."""

    def url_for(self, method: str) -> str:
        path = self.method_paths.get(method, method)
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"
