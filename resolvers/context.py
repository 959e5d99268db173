"""The typed context every resolver receives: the clients, this request's deadline and loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from his_clients.client import HisClient
from his_clients.registry import Registry
from services.file_links import FileLinkSigner
from store.db import Database

from .loaders import Loaders

if TYPE_CHECKING:
    from strawberry.types import Info as StrawberryInfo


@dataclass
class Services:
    """What lives as long as the app: built once at start-up."""

    his: HisClient
    registry: Registry
    db: Database
    request_deadline_s: float
    file_links: FileLinkSigner


@dataclass
class Context:
    """Built per GraphQL request: loaders never outlive it, so nothing leaks between requests."""

    services: Services
    deadline: float
    """Absolute time on the loop's clock by which every hospital call of this request must end."""
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.services.his, deadline=self.deadline)

    @classmethod
    def for_request(cls, services: Services) -> Context:
        return cls(services=services, deadline=asyncio.get_running_loop().time() + services.request_deadline_s)

    @property
    def his(self) -> HisClient:
        return self.services.his

    @property
    def registry(self) -> Registry:
        return self.services.registry


if TYPE_CHECKING:
    Info = StrawberryInfo[Context, None]
else:
    from strawberry.types import Info as _Info

    Info = _Info[Context, None]
