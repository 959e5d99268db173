"""Messages to patients: delivering the outbox through the WeChat official account (issue 6)."""

from .directory import MemoryDirectory, OfficialAccountDirectory, OfficialFollower, StoreDirectory
from .followers import FollowerImport, import_followers, parse_followers_csv
from .templates import CustomerServiceText, Template, templates_from_config
from .tokens import AccessTokenHolder, CachedToken, MemoryTokenCache, StoreTokenCache, TokenCache
from .wechat import OfficialAccountApi, TemplateMessageSender
from .worker import DeliveryWorker, client_msg_id

__all__ = [
    "AccessTokenHolder",
    "CachedToken",
    "CustomerServiceText",
    "DeliveryWorker",
    "FollowerImport",
    "MemoryDirectory",
    "MemoryTokenCache",
    "OfficialAccountApi",
    "OfficialAccountDirectory",
    "OfficialFollower",
    "StoreDirectory",
    "StoreTokenCache",
    "Template",
    "TemplateMessageSender",
    "TokenCache",
    "client_msg_id",
    "import_followers",
    "parse_followers_csv",
    "templates_from_config",
]
