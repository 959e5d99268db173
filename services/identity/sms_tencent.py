"""One-time codes by Tencent Cloud SMS (API 3.0, action SendSms, version 2021-01-11), signed TC3-HMAC-SHA256.

The signature follows Tencent's "签名方法 v3" exactly:

    CanonicalRequest = POST \\n / \\n <empty query> \\n CanonicalHeaders \\n SignedHeaders \\n hex(sha256(body))
    CanonicalHeaders = "content-type:application/json; charset=utf-8\\nhost:<host>\\nx-tc-action:sendsms\\n"
    SignedHeaders    = "content-type;host;x-tc-action"
    CredentialScope  = <UTC date of the timestamp>/sms/tc3_request
    StringToSign     = "TC3-HMAC-SHA256\\n" <timestamp> "\\n" CredentialScope "\\n" hex(sha256(CanonicalRequest))
    key              = HMAC(HMAC(HMAC("TC3" + SecretKey, date), "sms"), "tc3_request")
    Authorization    = TC3-HMAC-SHA256 Credential=<SecretId>/<CredentialScope>, SignedHeaders=<SignedHeaders>,
                       Signature=hex(HMAC(key, StringToSign))

Phones are sent in E.164 (+86...). Any failure (transport, HTTP status, ``Response.Error``, a send status that is
not ``Ok``) raises ``SmsNotSent``: the patient gets a clear refusal, never a 500; what Tencent said goes to the
log, masked, and the code itself never does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from services.masking import mask_phone, mask_text
from services.tracing import outbound

from .sms import SmsNotSent

log = logging.getLogger("hisgraph.sms")

ALGORITHM = "TC3-HMAC-SHA256"
SERVICE = "sms"
ACTION = "SendSms"
VERSION = "2021-01-11"
CONTENT_TYPE = "application/json; charset=utf-8"
SIGNED_HEADERS = "content-type;host;x-tc-action"
_DIGIT_RUNS = re.compile(r"\d{7,}")


class TencentSmsConfig(BaseModel):
    """Tencent Cloud SMS (``HISGRAPH_SMS__SECRET_ID``, ``__SECRET_KEY``, ``__SDK_APP_ID``, ``__SIGN_NAME``,
    ``__TEMPLATE_ID``, ``__REGION``, ``__ENDPOINT``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_id: SecretStr
    secret_key: SecretStr
    sdk_app_id: str = Field(min_length=1)
    """SmsSdkAppId: the SMS application (短信应用) in Tencent's console, e.g. 1400006666."""
    sign_name: str = Field(min_length=1)
    """SignName: the approved signature (短信签名) that heads every message."""
    template_id: str = Field(min_length=1)
    """TemplateId: an approved template whose first parameter is the code (and, with
    ``template_minutes``, its second the minutes it stays valid)."""
    template_minutes: bool = False
    region: str = "ap-guangzhou"
    endpoint: str = "https://sms.tencentcloudapi.com"
    """The API host; the nearest-region hosts (sms.ap-guangzhou.tencentcloudapi.com...) work too."""
    timeout_s: float = Field(default=5.0, gt=0, le=30)
    code_minutes: int = Field(default=5, ge=1, le=60)


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(
    *,
    secret_key: str,
    service: str,
    timestamp: int,
    method: str,
    canonical_uri: str,
    canonical_query: str,
    canonical_headers: str,
    signed_headers: str,
    payload: bytes,
) -> str:
    """The hex signature of a request as Tencent's 签名方法 v3 defines it (shared by the sender and its test)."""
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, signed_headers, _sha256_hex(payload)]
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join([ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8"))])
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _masked(text: str, number: str) -> str:
    """Tencent's own words, with every phone-like run of digits (any number, not only ours) masked."""
    text = text.replace(number, mask_phone(number))
    return mask_text(_DIGIT_RUNS.sub(lambda found: mask_phone(found.group()), text))


def e164(phone: str) -> str:
    """A mainland mobile number as +86..., or SmsNotSent."""
    digits = phone.strip().replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit() or not digits.startswith("1"):
        raise SmsNotSent("not a mainland mobile number")
    return "+86" + digits


MAX_REPLY_BYTES = 64 * 1024
"""Tencent's SendSms reply is a few hundred bytes; anything longer is not read whole."""


class TencentSmsSender:
    """``SmsSender`` over Tencent Cloud SMS."""

    def __init__(
        self,
        config: TencentSmsConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._clock = clock
        self._host = urlsplit(config.endpoint).netloc
        if not self._host:
            raise ValueError(f"sms.endpoint is not a URL: {config.endpoint!r}")

    async def send_code(self, *, phone: str, code: str, purpose: str) -> None:
        config = self._config
        number = e164(phone)
        params = [code, str(config.code_minutes)] if config.template_minutes else [code]
        payload = json.dumps(
            {
                "PhoneNumberSet": [number],
                "SmsSdkAppId": config.sdk_app_id,
                "SignName": config.sign_name,
                "TemplateId": config.template_id,
                "TemplateParamSet": params,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        timestamp = int(self._clock())
        signature = tc3_signature(
            secret_key=config.secret_key.get_secret_value(),
            service=SERVICE,
            timestamp=timestamp,
            method="POST",
            canonical_uri="/",
            canonical_query="",
            canonical_headers=f"content-type:{CONTENT_TYPE}\nhost:{self._host}\nx-tc-action:{ACTION.lower()}\n",
            signed_headers=SIGNED_HEADERS,
            payload=payload,
        )
        date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        headers = {
            "Authorization": (
                f"{ALGORITHM} Credential={config.secret_id.get_secret_value()}/{date}/{SERVICE}/tc3_request, "
                f"SignedHeaders={SIGNED_HEADERS}, Signature={signature}"
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": self._host,
            "X-TC-Action": ACTION,
            "X-TC-Version": VERSION,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Region": config.region,
        }
        try:
            async with (
                aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=config.timeout_s), trace_configs=[outbound("tencent.sms")]
                ) as session,
                session.post(config.endpoint, data=payload, headers=headers) as response,
            ):
                status, raw = response.status, await response.content.read(MAX_REPLY_BYTES)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Tencent SMS to %s not sent: %s", mask_phone(number), type(exc).__name__)
            raise SmsNotSent("the SMS gateway could not be reached") from exc
        self._check(status, raw, number)

    def _check(self, status_code: int, raw: bytes, number: str) -> None:
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        answer = body.get("Response") if isinstance(body, dict) else None
        if status_code != 200 or not isinstance(answer, dict):
            log.warning("Tencent SMS to %s not sent: HTTP %s", mask_phone(number), status_code)
            raise SmsNotSent(f"the SMS gateway answered HTTP {status_code}")
        error = answer.get("Error")
        if isinstance(error, dict):
            code, message = str(error.get("Code", "")), str(error.get("Message", ""))
            log.warning(
                "Tencent SMS to %s refused: %s %s (request %s)",
                mask_phone(number),
                _masked(code[:100], number),
                _masked(message[:300], number),
                str(answer.get("RequestId", ""))[:64],
            )
            raise SmsNotSent(f"the SMS gateway refused: {code[:100]}")
        statuses = answer.get("SendStatusSet")
        status = statuses[0] if isinstance(statuses, list) and statuses and isinstance(statuses[0], dict) else {}
        if str(status.get("Code", "")) != "Ok":
            code, message = str(status.get("Code", "no status")), str(status.get("Message", ""))
            log.warning(
                "Tencent SMS to %s not sent: %s %s",
                mask_phone(number),
                _masked(code[:100], number),
                _masked(message[:300], number),
            )
            raise SmsNotSent(f"the SMS gateway did not send: {code[:100]}")
