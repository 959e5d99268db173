"""WeChat Pay API v3 (merchant mode, JSAPI): the provider behind ``PaymentProvider`` and its config.

Modules: ``config`` (what a merchant configures), ``signing`` (RSA and AES-GCM), ``verification``
(WeChat's signatures, by certificate or public key), ``certificates`` (downloading them), ``client``
(signed HTTP and the error tree), ``resources``/``notifications``/``bills`` (reading WeChat's
documents), ``money`` (yuan and fen), ``provider`` (the calls).
"""

from __future__ import annotations

from .client import ResponseNotVerified, WeChatPayProtocolError
from .config import WeChatPayConfig
from .money import fen_to_yuan, yuan_to_fen
from .provider import WeChatPayProvider

__all__ = [
    "ResponseNotVerified",
    "WeChatPayConfig",
    "WeChatPayProtocolError",
    "WeChatPayProvider",
    "fen_to_yuan",
    "yuan_to_fen",
]
