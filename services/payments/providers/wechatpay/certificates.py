"""Downloading the platform certificates (``GET /v3/certificates``), the certificate mode's keys.

The list is trusted because it decrypts under the APIv3 key, which only WeChat and we hold; its
reply must also be signed by one of the certificates it carries (or by the configured public key).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from .client import ResponseNotVerified, WeChatPayClient, WeChatPayProtocolError
from .signing import DecryptionFailed, aead_decrypt
from .verification import PlatformCertificate, SignatureRejected, check_signature


async def download_certificates(
    client: WeChatPayClient,
    *,
    apiv3_key: bytes,
    clock: Callable[[], datetime],
    also_trusted: Callable[[str], rsa.RSAPublicKey | None],
) -> list[PlatformCertificate]:
    reply = await client.request("GET", "/v3/certificates")
    entries = reply.json().get("data")
    if not isinstance(entries, list):
        raise WeChatPayProtocolError("certificate list without data")
    certificates = [_certificate(entry, apiv3_key=apiv3_key) for entry in entries]
    by_serial = {certificate.serial_no: certificate.public_key for certificate in certificates}
    try:
        check_signature(
            reply.headers,
            reply.body,
            now=clock(),
            key_for=lambda serial: by_serial.get(serial.upper()) or also_trusted(serial),
        )
    except SignatureRejected as exc:
        raise ResponseNotVerified(f"certificate list: {exc}") from exc
    return certificates


def _certificate(entry: object, *, apiv3_key: bytes) -> PlatformCertificate:
    try:
        if not isinstance(entry, dict):
            raise TypeError("not an object")
        serial_no = str(entry["serial_no"]).upper()
        listed_serial = int(serial_no, 16)
        encrypted = entry["encrypt_certificate"]
        pem = aead_decrypt(
            apiv3_key,
            nonce=encrypted["nonce"],
            ciphertext=encrypted["ciphertext"],
            associated_data=encrypted.get("associated_data") or "",
        )
        certificate = x509.load_pem_x509_certificate(pem)
    except DecryptionFailed as exc:
        raise ResponseNotVerified("a platform certificate does not decrypt under the APIv3 key") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise WeChatPayProtocolError(f"unreadable certificate entry: {exc}") from exc
    if listed_serial != certificate.serial_number:
        raise ResponseNotVerified(f"certificate listed as {serial_no} has serial {certificate.serial_number:X}")
    public_key = certificate.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise WeChatPayProtocolError(f"platform certificate {serial_no} does not hold an RSA key")
    return PlatformCertificate(
        serial_no=serial_no,
        public_key=public_key,
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
    )
