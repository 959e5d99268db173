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
    file_hosts = ["pacs.hospital253.cn", "10.1.2.3:8080"]  # optional: where its pdfUrl/reportUrl may point
    show_audited_sensitive_pathology = false     # optional: show 41.1.1 reportStatus 3 reports online

    [[endpoints]]                                  # a regional HIS (县域集中部署)
    id = "county"
    base_url = "http://127.0.0.1:9100/regional"

    [[hospitals]]
    id = "256"
    name = "..."
    endpoint = "county"                            # hospitalId travels in the body

A hospital has either its own ``base_url`` or names a shared regional ``endpoint``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

Transport = Literal["http", "webservice"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Endpoint(_Strict):
    """One HTTP server of a regional HIS, shared by several hospitals."""

    id: str
    name: str = ""
    base_url: HttpUrl
    transport: Transport = "http"
    timeout_s: float = Field(default=3.0, gt=0, le=120)
    max_connections: int = Field(default=20, ge=1, le=1000)
    method_paths: dict[str, str] = Field(default_factory=dict)


class Hospital(_Strict):
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
    """Hosts (``name`` or ``name:port``) that file URLs this hospital returns (pdfUrl, reportUrl, PACS
    image URLs) may point at. A URL on any other host is never fetched: a HIS reply must not be able
    to make the gateway call an arbitrary address (SSRF)."""
    show_audited_sensitive_pathology: bool = False
    """41.1.1 reportStatus 3 (audited, but sensitive by the hospital's or national policy): the spec
    leaves it to each hospital whether patients may view such reports online. Off unless the hospital says so."""

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
        if (self.base_url is None) == (self.endpoint is None):
            raise ValueError(f"hospital {self.id}: give exactly one of base_url or endpoint")
        return self

    @property
    def is_regional(self) -> bool:
        return self.endpoint is not None

    def has_opened(self, method: str) -> bool:
        return self.opened is None or method in self.opened

    def allows_file_url(self, url: str) -> bool:
        """Whether ``url`` is an http(s) address on one of this hospital's ``file_hosts``.

        An entry without a port allows that host on any port; credentials in the URL are refused
        (``http://allowed@elsewhere/`` names ``elsewhere``).
        """
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host or parts.username is not None:
            return False
        with_port = f"{host}:{port}" if port is not None else host
        return host in self.file_hosts or with_port in self.file_hosts


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
    def endpoints_by_id(self) -> Mapping[str, Endpoint]:
        return {e.id: e for e in self.endpoints}

    def hospital(self, hospital_id: str) -> Hospital | None:
        return self.by_id.get(hospital_id)

    def upstream(self, hospital: Hospital) -> Upstream:
        """Where calls for ``hospital`` go: its own HIS, or the regional endpoint it sits behind."""
        if hospital.endpoint is None:
            assert hospital.base_url is not None  # checked by Hospital._one_address
            return Upstream(
                key=f"hospital:{hospital.id}",
                base_url=str(hospital.base_url).rstrip("/"),
                transport=hospital.transport,
                timeout_s=hospital.timeout_s,
                max_connections=hospital.max_connections,
                method_paths=hospital.method_paths,
                regional=False,
            )
        endpoint = self.endpoints_by_id[hospital.endpoint]
        return Upstream(
            key=f"endpoint:{endpoint.id}",
            base_url=str(endpoint.base_url).rstrip("/"),
            transport=endpoint.transport,
            timeout_s=min(endpoint.timeout_s, hospital.timeout_s),
            max_connections=endpoint.max_connections,
            method_paths={**endpoint.method_paths, **hospital.method_paths},
            regional=True,
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

    def url_for(self, method: str) -> str:
        path = self.method_paths.get(method, method)
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"
