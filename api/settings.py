"""One settings tree, read once at start-up and passed to ``create_app``.

Environment variables override defaults with the ``HISGRAPH_`` prefix, e.g.
``HISGRAPH_DATABASE_URL=postgresql+asyncpg://...`` or ``HISGRAPH_REGISTRY_PATH=hospitals.toml``.
"""

from __future__ import annotations

import ipaddress
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from his_clients.caching import CacheBackend, MemoryBackend, RedisBackend, ReferenceCache
from his_clients.registry import Registry
from his_clients.transport import HttpBackend
from resolvers.limits import GraphQLLimits
from services.identity.sms_tencent import TencentSmsConfig
from services.jobs.config import JobsConfig
from services.messages.config import OfficialAccountConfig
from services.payments.entry_online import MedicalRecordTariff
from services.payments.providers.wechatpay import WeChatPayConfig
from services.surveys.questionnaires import SurveysConfig


class UnsafeProduction(ValueError):
    """Production mode with a setting that is only safe in dev (see ``Settings.check_production``)."""


def _is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("", "localhost") or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


class TokenBucket(BaseModel):
    """A sustained rate with room for a burst: ``burst`` requests at once, refilled at ``per_minute``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    per_minute: float = Field(gt=0)
    burst: int = Field(ge=1)


class RateLimits(BaseModel):
    """Requests per client address and per account (api/ratelimit.py); a request over either waits.

    GraphQL and other routes answer HTTP 429 with Retry-After; shims answer the spec's envelope, code 40001.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    """None: on in production mode, off in dev (the demo and every test come from 127.0.0.1)."""
    per_ip: TokenBucket | None = TokenBucket(per_minute=600, burst=200)
    per_account: TokenBucket | None = TokenBucket(per_minute=120, burst=60)
    exempt_paths: tuple[str, ...] = ("/healthz", "/readyz")
    exempt_ips: tuple[str, ...] = ()
    """Addresses or CIDR networks never limited per address, e.g. hospitals' servers behind one NAT."""
    backend: Literal["memory", "redis"] = "memory"
    """memory: buckets in this process (one worker); redis: shared by every worker (``redis_url``)."""

    @field_validator("exempt_ips")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(entry.strip(), strict=True)) for entry in value)

    def active(self, *, production: bool) -> bool:
        return production if self.enabled is None else self.enabled


class Settings(BaseSettings):
    """How this gateway runs."""

    model_config = SettingsConfigDict(env_prefix="HISGRAPH_", env_nested_delimiter="__", frozen=True)

    mode: Literal["dev", "production"] = "dev"
    """dev serves GraphiQL; production does not."""
    database_url: str = "sqlite+aiosqlite:///var/hisgraph.sqlite3"
    migrate_on_start: bool = True
    """Apply Alembic migrations at start-up (the single-machine default; production may run them apart)."""
    registry_path: Path | None = None
    """The hospital registry TOML file. Ignored when ``registry`` is given directly (tests, demo)."""
    registry: Registry | None = None
    request_deadline_s: float = Field(default=5.0, gt=0, le=60)
    """One overall deadline per GraphQL request, across all hospitals it fans out to."""
    http_backend: HttpBackend = "lean"
    """How HIS calls reach hospitals: ``lean`` (his_clients/lean_http.py, keep-alive HTTP/1.1 on llhttp), ``aiohttp``
    or ``httpcore``; chosen by measurement (README, bench/transport_cost.py, bench/load.py)."""
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_reset_s: float = Field(default=10.0, gt=0)
    overload_max_lag_ms: float | None = Field(default=None, ge=0, le=60_000)
    """New requests get 503 + Retry-After while the event loop runs this much late (api/overload.py); 0: off;
    None: 1000 ms in production, off in dev (tests and the demo run many requests in one loop on purpose)."""
    overload_retry_after_s: int = Field(default=1, ge=1, le=300)
    """The ``Retry-After`` of that 503, in seconds."""
    graphql_limits: GraphQLLimits = Field(default_factory=GraphQLLimits)
    """Depth, aliases, tokens, operations per batch and hospitals per request (resolvers.limits)."""
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    """Per-address and per-account request rates (api/ratelimit.py); off in dev unless enabled."""
    cache_backend: Literal["memory", "redis"] = "memory"
    """Where reference data (departments, schedules, catalogues) is cached: this process, or Redis for all."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    cache_prefix: str = "hisgraph"
    """Key prefix in Redis, so several deployments (or test runs) can share one server."""
    file_link_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    """Signs download links. Set it when several workers serve one region (a per-process default
    would make a link from one worker invalid at another)."""
    file_link_ttl_s: int = Field(default=600, ge=10, le=86_400)
    ledger_seal_secret: SecretStr | None = None
    """Seals the inbound ledger's short-lived copies of refund and push bodies (for region operators'
    replays; services/sealing.py). Unset: a key derived from ``session_secret`` (so production refuses to
    start when neither is set). Set it the same for every worker."""
    ledger_seal_days: float = Field(default=7, gt=0, le=90)
    """How long a sealed copy of a refund's or push's body is kept (then purged, and replay refused)."""
    session_secret: SecretStr = Field(default_factory=lambda: SecretStr(secrets.token_urlsafe(32)))
    """Signs session tokens. Set it (the same for every worker) in production: with the per-process
    default, tokens stop working when the process restarts."""
    session_ttl_s: int = Field(default=7 * 24 * 3600, ge=60)
    operator_session_hours: float = Field(default=8.0, gt=0, le=24 * 7)
    """An operator's stored session ends this long after its login, whatever happens."""
    operator_idle_minutes: float = Field(default=30.0, gt=0, le=24 * 60)
    """An operator's session ends after this long without a request."""
    national_card_qr_index: int = Field(default=0, ge=-8, le=8)
    """Position of the 64-character ID in a national e-health card's colon-separated QR content (1.1)."""
    wechat_appid: str = ""
    """The mini-program's appid; with ``wechat_secret``, enables logInWithWeChat."""
    wechat_secret: SecretStr | None = None
    wechat_base_url: str = "https://api.weixin.qq.com"
    sms: TencentSmsConfig | None = None
    """Tencent Cloud SMS for one-time codes (``HISGRAPH_SMS__SECRET_ID``, ``__SECRET_KEY``, ``__SDK_APP_ID``,
    ``__SIGN_NAME``, ``__TEMPLATE_ID``, ``__REGION``, ``__ENDPOINT``); without it codes go to the fake sender
    (kept in memory, shown in the dev log), which production refuses unless ``allow_fake_sms``."""
    real_name_verification: Literal["off", "fake"] = "off"
    """The 国家电子健康卡 path of card creation (spec 1.1, 1.2.1): off (the default), a created card gets a
    15-digit number and its typed ID number proves nothing; fake: a stand-in provincial platform that vouches
    for any well-formed name and ID number (dev mode only). A real platform is given to ``AccountService``."""
    wechat_official: OfficialAccountConfig | None = None
    """The official account that delivers messages to patients (``HISGRAPH_WECHAT_OFFICIAL__APPID``,
    ``__SECRET``, ``__BASE_URL``, ``__TEMPLATES_PATH``...); without it hospitals' pushes are still
    accepted and queued, and wait for a gateway that has it."""
    run_message_worker: bool | None = None
    """Deliver queued messages in this process (several instances may); None: when wechat_official is set."""
    payment_provider: Literal["sandbox", "wechatpay"] = "sandbox"
    """sandbox pays on command (demo, tests); wechatpay needs ``wechatpay``."""
    wechatpay: WeChatPayConfig | None = None
    public_base_url: str = "http://127.0.0.1:8000"
    """Where the payment provider reaches us: notifications go to ``{public_base_url}/payments/notify``."""
    run_payment_worker: bool = True
    """Drive the payment sagas (the outbox) in this process; several instances may, each job runs once."""
    """WeChat's API host (jscode2session); tests point it at a local fake."""
    payment_worker_lease_s: float = Field(default=300.0, gt=0)
    """How long the payment worker holds a job it took; a worker that died loses its jobs when this runs out."""
    payment_retry_scale: float = Field(default=1.0, gt=0, le=1)
    """Multiplies the payment sagas' retry delays (5 s, 15 s, 30 s ...); below 1 only to compress time in
    chaos runs. The spec's windows (24 h for deposits...) are never scaled."""
    run_jobs: bool = False
    """Run the scheduled jobs (services/jobs: 11.1.1, 12.1.1, 19.2.x, 22.1.x) in this process. Off by default
    (tests); ``hisgraph serve`` and ``demo`` turn it on unless HISGRAPH_RUN_JOBS is set. Several instances
    may: each slot is claimed in the store and runs once."""
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    """Which jobs run when (HISGRAPH_JOBS__JOBS as JSON, HISGRAPH_JOBS__DEPOSIT_THRESHOLD, ...)."""
    surveys: SurveysConfig = Field(default_factory=SurveysConfig)
    """The satisfaction survey's questionnaires and link lifetime (HISGRAPH_SURVEYS__QUESTIONNAIRES as JSON)."""
    medical_record_tariff: MedicalRecordTariff = Field(default_factory=MedicalRecordTariff)
    """The platform's prices for medical-record copies (chapter 27 quotes none): yuan per page, postage, most
    pages (HISGRAPH_MEDICAL_RECORD_TARIFF__PAGE=0.50, __MAILING=15.00, __MOST_PAGES=500)."""
    cache_ttl_s: dict[str, float] = Field(default_factory=dict)
    """Per-method TTL overrides in seconds (0 turns caching off for a method); defaults in his_clients.caching."""
    allow_random_secrets: bool = False
    """Production only: start although ``session_secret`` or ``file_link_secret`` is not set (each process
    then makes up its own, so sessions and links break on restart and between workers)."""
    allow_sandbox_payments: bool = False
    """Production only: start with ``payment_provider = "sandbox"`` (orders are paid on command, no money moves)."""
    allow_fake_sms: bool = False
    """Production only: start without a real SMS sender (codes are never delivered to patients' phones)."""
    allow_loopback_public_url: bool = False
    """Production only: start with a ``public_base_url`` on this machine (payment notifications and links to
    ``127.0.0.1`` reach no one)."""

    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDR networks of reverse proxies whose ``X-Forwarded-For`` names the client (api/addresses.py).
    Empty (the default): the connection's peer is the client, whatever headers say, and ``hisgraph serve`` runs
    uvicorn with proxy headers off."""
    allowed_origins: tuple[str, ...] = ()
    """Browser origins (``https://host[:port]``) other than our own that may send state-changing requests
    (api/guards.py); none by default."""
    metrics: Literal["public", "protected", "off"] | None = None
    """``/metrics`` (api/metrics.py): public, protected by ``metrics_token`` (a bearer token), or off. None:
    public in dev and wherever ``metrics_port`` is set, off in production."""
    metrics_token: SecretStr | None = None
    """The bearer token a scraper sends when ``metrics`` is protected (required then)."""
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    """Serve ``/metrics`` on this port only, not on the main one (``hisgraph serve`` listens on both; 0: any
    free port, printed). None: on the main port. The demo always gives it its own port."""
    metrics_host: str | None = None
    """The address the metrics port listens on (e.g. an internal interface); None: the main ``--host``."""

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(str(ipaddress.ip_network(entry.strip(), strict=False)) for entry in value)

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(entry.strip().rstrip("/").lower() for entry in value if entry.strip())

    @property
    def dev(self) -> bool:
        return self.mode == "dev"

    @property
    def metrics_access(self) -> Literal["public", "protected", "off"]:
        """Who may scrape ``/metrics``; protected without a token refuses to start."""
        access = self.metrics or ("public" if self.dev or self.metrics_port is not None else "off")
        if access == "protected" and (self.metrics_token is None or len(self.metrics_token.get_secret_value()) < 16):
            raise ValueError("metrics = protected needs HISGRAPH_METRICS_TOKEN (at least 16 characters)")
        return access

    @property
    def uses_fake_sms(self) -> bool:
        """Whether one-time codes go to the fake sender (kept in memory, never delivered)."""
        return self.sms is None

    def production_refusals(self) -> list[str]:
        """Why this configuration must not serve patients, each with the setting that allows it anyway.

        Empty in dev mode, and empty when every risk is allowed explicitly.
        """
        if self.dev:
            return []
        refusals = []
        unset = [name for name in ("session_secret", "file_link_secret") if name not in self.model_fields_set]
        if self.ledger_seal_secret is None and "session_secret" not in self.model_fields_set:
            unset.append("ledger_seal_secret")  # it would be derived from the random session secret
        if unset and not self.allow_random_secrets:
            names = " and ".join(f"HISGRAPH_{name.upper()}" for name in unset)
            refusals.append(f"{names} not set (per-process random secrets); set it, or HISGRAPH_ALLOW_RANDOM_SECRETS=1")
        if self.payment_provider == "sandbox" and not self.allow_sandbox_payments:
            refusals.append(
                "payment_provider is the sandbox; set HISGRAPH_PAYMENT_PROVIDER=wechatpay, "
                "or HISGRAPH_ALLOW_SANDBOX_PAYMENTS=1"
            )
        if self.uses_fake_sms and not self.allow_fake_sms:
            refusals.append("no real SMS sender is configured (codes would never arrive); or HISGRAPH_ALLOW_FAKE_SMS=1")
        if _is_loopback_url(self.public_base_url) and not self.allow_loopback_public_url:
            refusals.append(
                f"public_base_url {self.public_base_url} is on this machine; set HISGRAPH_PUBLIC_BASE_URL, "
                "or HISGRAPH_ALLOW_LOOPBACK_PUBLIC_URL=1"
            )
        return refusals

    @property
    def ledger_seal_key(self) -> bytes:
        """The secret the inbound ledger's sealed copies are keyed from (see ``ledger_seal_secret``)."""
        if self.ledger_seal_secret is not None:
            return self.ledger_seal_secret.get_secret_value().encode()
        return b"ledger-seal:" + self.session_secret.get_secret_value().encode()

    def check_production(self) -> None:
        """Refuse to start an unsafe production gateway: one line naming each reason (see production_refusals)."""
        refusals = self.production_refusals()
        if refusals:
            raise UnsafeProduction("production refused to start: " + "; ".join(refusals))

    @property
    def message_worker_on(self) -> bool:
        if self.run_message_worker is None:
            return self.wechat_official is not None
        if self.run_message_worker and self.wechat_official is None:
            raise ValueError("run_message_worker is set but no wechat_official settings are given")
        return self.run_message_worker

    def make_cache(self) -> ReferenceCache:
        backend: CacheBackend
        if self.cache_backend == "redis":
            backend = RedisBackend(self.redis_url, prefix=self.cache_prefix)
        else:
            backend = MemoryBackend()
        return ReferenceCache(backend, ttl_s=self.cache_ttl_s)

    def load_registry(self) -> Registry:
        if self.registry is not None:
            return self.registry
        if self.registry_path is None:
            raise ValueError("no hospital registry: set HISGRAPH_REGISTRY_PATH or pass --config")
        return Registry.load(self.registry_path)
