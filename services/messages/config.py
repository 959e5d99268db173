"""How the gateway reaches its WeChat official account, and the delivery worker built from it.

Read once at start-up as ``Settings.wechat_official`` (api.settings), e.g. from the environment::

    HISGRAPH_WECHAT_OFFICIAL__APPID=wx0123456789abcdef
    HISGRAPH_WECHAT_OFFICIAL__SECRET=...
    HISGRAPH_WECHAT_OFFICIAL__TEMPLATES_PATH=/etc/hisgraph/templates.toml

Template ids belong to one official account, so the wording of each message kind is configuration too:
``templates`` inline, or a TOML file whose ``[messages.templates.<kind>]`` tables say the same (see
services.messages.templates). A kind with no wording is recorded undeliverable, not guessed.
"""

from __future__ import annotations

import asyncio
import contextlib
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from services.payments.clock import Clock
from store.db import Database

from .directory import OfficialAccountDirectory, StoreDirectory
from .templates import Wording, templates_from_config
from .tokens import ACCESS_TOKEN_NAME, AccessTokenHolder, StoreTokenCache
from .wechat import DEFAULT_BASE_URL, OfficialAccountApi, TemplateMessageSender
from .worker import DEDUPE_WINDOW, DEFAULT_RESEND_DELAYS, DEFAULT_RETRY_DELAYS, DeliveryWorker


class OfficialAccountConfig(BaseModel):
    """The official account (服务号) that sends patients their template messages."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    appid: str = Field(min_length=1)
    secret: SecretStr
    base_url: str = DEFAULT_BASE_URL
    """WeChat's API host; tests point it at a local fake."""
    templates: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Message kind (the shim's last path segment, e.g. lisReport) -> its wording."""
    templates_path: Path | None = None
    """A TOML file with ``[messages.templates.<kind>]`` tables, merged under ``templates``."""
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    idle_s: float = Field(default=1.0, gt=0, le=60)
    """How long the worker sleeps when nothing is due."""
    batch_size: int = Field(default=50, ge=1, le=1000)
    concurrency: int = Field(default=8, ge=1, le=64)
    send_lease_s: float = Field(default=120.0, gt=0)
    """After this long a send with no recorded outcome is taken to have lost its worker, and resent."""
    resend_window_s: float = Field(default=480.0, gt=0, le=DEDUPE_WINDOW.total_seconds())
    """Resends under the same client_msg_id happen only this soon after the first send (WeChat: 10 min)."""
    retry_delays_s: tuple[float, ...] = tuple(d.total_seconds() for d in DEFAULT_RETRY_DELAYS)
    resend_delays_s: tuple[float, ...] = tuple(d.total_seconds() for d in DEFAULT_RESEND_DELAYS)
    max_attempts: int = Field(default=60, ge=1)
    shutdown_grace_s: float = Field(default=10.0, ge=0)
    """On shutdown, how long a pass in progress may finish; after that it is cancelled (its sends are
    resent by the next start, see services.messages.worker)."""

    @model_validator(mode="after")
    def _check(self) -> OfficialAccountConfig:
        if self.send_lease_s >= self.resend_window_s:
            raise ValueError("send_lease_s must be shorter than resend_window_s")
        self.wordings()  # a kind with neither template_id nor customer_service is refused at start-up
        return self

    def wordings(self) -> dict[str, Wording]:
        merged: dict[str, Mapping[str, Any]] = {}
        if self.templates_path is not None:
            with self.templates_path.open("rb") as stream:
                table = tomllib.load(stream)
            merged.update(dict(table.get("messages", {}).get("templates", {})))
        merged.update(self.templates)
        return templates_from_config(merged)


class DeliveryService:
    """The delivery worker of one gateway and the HTTP session it holds open."""

    def __init__(
        self,
        *,
        db: Database,
        config: OfficialAccountConfig,
        directory: OfficialAccountDirectory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._config = config
        self._api = OfficialAccountApi(base_url=config.base_url, timeout_s=config.timeout_s)
        tokens = AccessTokenHolder(
            self._api,
            appid=config.appid,
            secret=config.secret.get_secret_value(),
            cache=StoreTokenCache(db, name=ACCESS_TOKEN_NAME.format(appid=config.appid)),
            clock=clock,
        )
        self.worker = DeliveryWorker(
            db=db,
            sender=TemplateMessageSender(self._api, tokens),
            directory=directory or StoreDirectory(),
            templates=config.wordings(),
            clock=clock,
            batch_size=config.batch_size,
            concurrency=config.concurrency,
            send_lease=timedelta(seconds=config.send_lease_s),
            resend_window=timedelta(seconds=config.resend_window_s),
            retry_delays=[timedelta(seconds=s) for s in config.retry_delays_s],
            resend_delays=[timedelta(seconds=s) for s in config.resend_delays_s],
            max_attempts=config.max_attempts,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set."""
        await self.worker.run_forever(idle_s=self._config.idle_s, stop=stop)

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Wait up to the shutdown grace for `task` (running `run`), cancel it after that, close the session."""
        try:
            # A timeout cancels the pass: what it was sending stays `sending` and is resent by the next start.
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=self._config.shutdown_grace_s)
        finally:
            await self._api.aclose()
