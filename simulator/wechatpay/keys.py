"""Made-up merchant and WeChat keys, and the signing and encryption WeChat Pay API v3 uses with them.

Written from WeChat's documentation, not borrowed from the gateway's provider, so a mistake in the
provider's message format cannot be agreed with by the fake.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

BEIJING = timezone(timedelta(hours=8))


def pem_private(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def pem_public(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class FakeKeys:
    """A merchant's keys and WeChat's, made up for a test session or a chaos run."""

    mchid: str
    appid: str
    apiv3_key: str
    merchant_key: rsa.RSAPrivateKey
    merchant_serial_no: str
    platform_key: rsa.RSAPrivateKey
    platform_certificate: x509.Certificate
    public_key_key: rsa.RSAPrivateKey
    """The private half of the WeChat Pay public key (public-key mode)."""
    public_key_id: str

    @property
    def platform_serial_no(self) -> str:
        return f"{self.platform_certificate.serial_number:X}"

    @property
    def merchant_private_key_pem(self) -> str:
        return pem_private(self.merchant_key)

    @property
    def public_key_pem(self) -> str:
        return pem_public(self.public_key_key.public_key())

    def merchant_config(self, base_url: str) -> dict[str, Any]:
        """What the merchant configures to use this fake (the gateway's WeChatPayConfig, as JSON)."""
        return {
            "mchid": self.mchid,
            "appid": self.appid,
            "merchant_serial_no": self.merchant_serial_no,
            "merchant_private_key": self.merchant_private_key_pem,
            "apiv3_key": self.apiv3_key,
            "base_url": base_url,
        }


def generate_keys() -> FakeKeys:
    platform_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(platform_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(platform_key, hashes.SHA256())
    )
    return FakeKeys(
        mchid="1900009191",
        appid="wxd678efh567hg6787",
        apiv3_key=secrets.token_hex(16),
        merchant_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        merchant_serial_no=secrets.token_hex(20).upper(),
        platform_key=platform_key,
        platform_certificate=certificate,
        public_key_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
        public_key_id=f"PUB_KEY_ID_{secrets.randbelow(10**20):020d}",
    )


def sign(key: rsa.RSAPrivateKey, message: str) -> str:
    return base64.b64encode(key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def encrypt(apiv3_key: str, plaintext: bytes, associated_data: str) -> dict[str, str]:
    nonce = secrets.token_hex(6)  # 12 characters, as WeChat's
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plaintext, associated_data.encode())
    return {
        "algorithm": "AEAD_AES_256_GCM",
        "nonce": nonce,
        "associated_data": associated_data,
        "ciphertext": base64.b64encode(ciphertext).decode(),
    }


def yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(BEIJING).isoformat(timespec="seconds")
