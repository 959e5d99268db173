"""What a merchant configures to use WeChat Pay API v3 (it goes into the settings tree)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"


class WeChatPayConfig(BaseModel):
    """A direct merchant (普通商户) taking JSAPI payments from the mini-program.

    Responses and notifications are verified with the platform certificates (downloaded from
    ``/v3/certificates``), with the WeChat Pay public key (微信支付公钥), or with either when both are on:
    WeChat is moving merchants from the first to the second and signs with one or the other.
    """

    model_config = ConfigDict(frozen=True)

    mchid: str = Field(min_length=1)
    """商户号."""
    appid: str = Field(min_length=1)
    """The mini-program's AppID the payments are made in."""
    merchant_serial_no: str = Field(min_length=1)
    """Serial number of the merchant API certificate (商户API证书序列号) whose key signs our requests."""
    merchant_private_key: SecretStr
    """The merchant API private key, PEM (apiclient_key.pem)."""
    apiv3_key: SecretStr
    """The APIv3 key (32 bytes) that encrypts notification resources and platform certificates."""
    platform_public_key: str | None = None
    """The WeChat Pay public key, PEM (-----BEGIN PUBLIC KEY-----), for the public-key mode."""
    platform_public_key_id: str | None = None
    """Its id, ``PUB_KEY_ID_...``: WeChat names it in ``Wechatpay-Serial`` when it signs with this key."""
    use_platform_certificates: bool = True
    """Download platform certificates and accept signatures by them (off for public-key-only merchants)."""
    base_url: str = "https://api.mch.weixin.qq.com"
    notify_url: str | None = None
    """Where WeChat sends refund notifications (each prepay names its own notify_url)."""
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    @field_validator("apiv3_key")
    @classmethod
    def _apiv3_key_is_32_bytes(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().encode()) != 32:  # AES-256
            raise ValueError("the APIv3 key must be 32 bytes")
        return value

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _a_way_to_verify(self) -> Self:
        if (self.platform_public_key is None) != (self.platform_public_key_id is None):
            raise ValueError("platform_public_key and platform_public_key_id go together")
        if self.platform_public_key_id is not None and not self.platform_public_key_id.startswith(PUBLIC_KEY_ID_PREFIX):
            raise ValueError(f"platform_public_key_id starts with {PUBLIC_KEY_ID_PREFIX}")
        if not self.use_platform_certificates and self.platform_public_key is None:
            raise ValueError("configure the WeChat Pay public key or use platform certificates")
        return self
