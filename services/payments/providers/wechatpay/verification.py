"""Checking WeChat's signatures on responses and notifications, by platform certificate or public key.

``Wechatpay-Serial`` names the key: a platform certificate's serial number, or ``PUB_KEY_ID_...`` for
the WeChat Pay public key. A signature older (or newer) than five minutes is refused, so a captured
notification cannot be replayed later; an unknown serial makes us download the certificates again,
at most once a minute, so forged serials cannot turn us into a download loop. A download that
failed (WeChat answered 5xx, or could not be reached) does not count: it is tried again after a few
seconds, not a minute, or a process started during WeChat's blip would refuse every reply and every
notification for that minute.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import rsa

from .signing import response_message, signature_is_valid

MAX_CLOCK_SKEW = timedelta(minutes=5)
MIN_REFRESH_INTERVAL = timedelta(minutes=1)
RETRY_FAILED_DOWNLOAD_AFTER = timedelta(seconds=5)

Clock = Callable[[], datetime]


class SignatureRejected(Exception):
    """A response or notification whose signature, serial or timestamp does not check out."""


@dataclass(frozen=True, slots=True)
class PlatformCertificate:
    serial_no: str
    public_key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


def signed_headers(headers: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Timestamp, nonce, signature and serial from ``Wechatpay-*`` headers (any letter case)."""
    lower = {name.lower(): value for name, value in headers.items()}
    try:
        return (
            lower["wechatpay-timestamp"],
            lower["wechatpay-nonce"],
            lower["wechatpay-signature"],
            lower["wechatpay-serial"],
        )
    except KeyError as missing:
        raise SignatureRejected(f"header {missing} is missing") from None


SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
"""The only ``Wechatpay-Signature-Type`` we verify (WeChat's replies and notifications name it)."""


def check_signature(
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime,
    key_for: Callable[[str], rsa.RSAPublicKey | None],
) -> None:
    """Raise SignatureRejected unless a known key signed ``body`` within five minutes of ``now``."""
    timestamp, nonce, signature, serial = signed_headers(headers)
    kind = next((value for name, value in headers.items() if name.lower() == "wechatpay-signature-type"), None)
    if kind is not None and kind.strip() != SIGNATURE_TYPE:
        # Named but not RSA-SHA256 (e.g. an SM2 signature): not something we can verify, so not trusted.
        raise SignatureRejected(f"signature type {kind!r} is not {SIGNATURE_TYPE}")
    check_timestamp(timestamp, now=now)
    key = key_for(serial)
    if key is None:
        raise SignatureRejected(f"unknown serial {serial}")
    if not signature_is_valid(key, response_message(timestamp, nonce, body), signature):
        raise SignatureRejected("bad signature")


def check_timestamp(timestamp: str, *, now: datetime) -> None:
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise SignatureRejected(f"bad timestamp {timestamp!r}") from None
    if abs(now.timestamp() - signed_at) > MAX_CLOCK_SKEW.total_seconds():
        raise SignatureRejected(f"timestamp {signed_at} is more than five minutes from now")


class PlatformKeys:
    """The keys WeChat signs with: the configured public key and the downloaded certificates."""

    def __init__(
        self,
        *,
        public_key: tuple[str, rsa.RSAPublicKey] | None,
        download_certificates: Callable[[], Awaitable[list[PlatformCertificate]]] | None,
        clock: Clock,
    ) -> None:
        self._public_key = public_key
        self._download = download_certificates
        self._clock = clock
        self._certificates: dict[str, PlatformCertificate] = {}
        self._downloaded_at: datetime | None = None
        self._failed_at: datetime | None = None
        self._lock = asyncio.Lock()

    def known(self, serial: str) -> rsa.RSAPublicKey | None:
        """The key for ``serial`` if we have it now (no download)."""
        if self._public_key is not None and serial == self._public_key[0]:
            return self._public_key[1]
        certificate = self._certificates.get(serial.upper())
        if certificate is None:
            return None
        now = self._clock()
        if not certificate.not_before <= now <= certificate.not_after:
            return None
        return certificate.public_key

    async def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Raise SignatureRejected unless WeChat signed this; may download certificates (ProviderUnavailable)."""
        timestamp, _, _, serial = signed_headers(headers)
        check_timestamp(timestamp, now=self._clock())  # before any download: a stale forgery costs nothing
        if self.known(serial) is None:
            await self._refresh_for(serial)
        check_signature(headers, body, now=self._clock(), key_for=self.known)

    async def _refresh_for(self, serial: str) -> None:
        if self._download is None:
            return
        async with self._lock:
            if self.known(serial) is not None:
                return  # another task just downloaded it
            now = self._clock()
            if self._downloaded_at is not None and now - self._downloaded_at < MIN_REFRESH_INTERVAL:
                return
            if self._failed_at is not None and now - self._failed_at < RETRY_FAILED_DOWNLOAD_AFTER:
                return
            try:
                certificates = await self._download()
            except BaseException:
                self._failed_at = now
                raise
            self._downloaded_at, self._failed_at = now, None
            self._certificates = {certificate.serial_no.upper(): certificate for certificate in certificates}
