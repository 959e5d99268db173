"""Messages to patients: delivering the outbox through the WeChat official account (issue 6)."""

from .directory import MemoryDirectory, OfficialAccountDirectory, OfficialFollower
from .templates import CustomerServiceText, Template, templates_from_config
from .wechat import AccessTokenHolder, MemoryTokenCache, OfficialAccountApi, TemplateMessageSender, TokenCache
from .worker import DeliveryWorker

__all__ = [
    "AccessTokenHolder",
    "CustomerServiceText",
    "DeliveryWorker",
    "MemoryDirectory",
    "MemoryTokenCache",
    "OfficialAccountApi",
    "OfficialAccountDirectory",
    "OfficialFollower",
    "Template",
    "TemplateMessageSender",
    "TokenCache",
    "templates_from_config",
]
