"""The typed context every resolver receives: the clients, this request's deadline and loaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from his_clients.client import HisClient
from his_clients.models.base import HisRequest
from his_clients.models.cards import CREATE_CARD, NEWBORN_CREATE_CARD, QUERY_PATIENT_INFO
from his_clients.registry import Registry
from services.file_links import FileLinkSigner
from services.identity.accounts import AccountService
from services.identity.operators import OperatorService
from services.identity.principal import PatientPrincipal, Principal, SessionTokens
from services.payments.orders import PaymentService
from services.payments.providers.base import PaymentProvider
from services.refusals import RefusalCode, Refused
from services.shims.replay import ReplayDispatch
from services.surveys import SurveyService
from store.db import Database

from .access import HeldCards, check_principal_may_name, personal_values
from .loaders import Loaders
from .schedules.slot_ids import SlotIds

if TYPE_CHECKING:
    from strawberry.types import Info as StrawberryInfo


PROVING_CALLS = frozenset({CREATE_CARD.name, NEWBORN_CREATE_CARD.name, QUERY_PATIENT_INFO.name})
"""The identity service's own steps, made before a card is held: 1.2.1/1.2.2 file the card being created
(the typed ID number is recorded as proven only where real-name verification vouches for it), and 2.1.1
looks up a card being bound, whose holder the code sent to the hospital's phone proves. They pass the
request's guard; the same methods asked through the loaders are still checked by ``authorize``."""


class FanOutLimitExceeded(Refused):
    """A request asked more hospitals, over all its fields, than one request may."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(RefusalCode.FAN_OUT_LIMIT, message)


def _outcome_seen(task: asyncio.Future[Any]) -> None:
    # A task whose field was nulled by a sibling is never awaited: its failure was not this
    # response's business, and asyncio must not log it as "exception was never retrieved".
    if not task.cancelled():
        task.exception()


@dataclass
class Services:
    """What lives as long as the app: built once at start-up."""

    his: HisClient
    registry: Registry
    db: Database
    request_deadline_s: float
    file_links: FileLinkSigner
    accounts: AccountService
    operators: OperatorService
    sessions: SessionTokens
    payments: PaymentService
    payment_provider: PaymentProvider
    slot_ids: SlotIds
    """Makes and reads the opaque slotId every bookable slot answers (resolvers/schedules/slot_ids.py)."""
    max_hospitals_per_request: int = 100
    national_card_qr_index: int = 0
    dev_login: bool = False
    """The demo's login without WeChat; never on in production mode."""
    replay_inbound: ReplayDispatch | None = None
    """Posts a recorded shim call again through the app (api/shims/replay.py); None outside the app."""
    surveys: SurveyService | None = None
    """The satisfaction survey (chapter 22): its links, answers and summaries; None outside the app."""


@dataclass
class Context:
    """Built per GraphQL request: loaders never outlive it, so nothing leaks between requests."""

    services: Services
    deadline: float
    """Absolute time on the loop's clock by which every hospital call of this request must end."""
    principal: Principal | None = None
    """Who is asking (from the session token), or None."""
    loaders: Loaders = field(init=False)
    hospitals_asked: int = 0
    """Hospitals this request's multi-hospital fields have asked so far (the fan-out cost)."""
    calls_in_flight: set[asyncio.Future[Any]] = field(default_factory=set)
    """Hospital calls and per-hospital tasks started for this request; whatever is still running when
    the response is ready (its parent was nulled by a sibling's error) is cancelled, so it holds no
    connection. Fields await them through ``asyncio.shield`` or follow them with a done callback: one
    field giving up never cancels a call another field shares."""

    _held: HeldCards | None = field(default=None, init=False)
    _held_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.services.his, deadline=self.deadline, authorize=self.authorize, track=self.track)

    async def held_cards(self) -> HeldCards | None:
        """The caller's proven cards, read once per request (None unless a patient is asking)."""
        if not isinstance(self.principal, PatientPrincipal):
            return None
        async with self._held_lock:
            if self._held is None:
                cards = await self.services.accounts.cards(self.principal.account_id)
                numbers = {c.medical_card_number for c in cards} | {
                    c.physical_card_number for c in cards if c.physical_card_number
                }
                id_numbers = {c.id_card_number.strip().upper() for c in cards if c.id_card_number}
                self._held = HeldCards(frozenset(numbers), frozenset(id_numbers))
            return self._held

    async def authorize(self, method: str, request: HisRequest) -> None:
        """Refuse a hospital call naming a card or ID number the caller has not proven."""
        check_principal_may_name(self.principal, await self.held_cards(), method, request)

    async def guard_call(self, method: str, request: HisRequest) -> None:
        """The request's guard (his_clients/guard.py), run on every hospital call this request makes,
        whichever code makes it: the payment service's and other services' own calls included."""
        if method in PROVING_CALLS:
            return
        cards, id_numbers = personal_values(method, request)
        # The proven cards are read only for a call that names someone: a service may call a hospital inside
        # its own write transaction (2.1.2 while a card is being bound), where another read would wait on it.
        held = await self.held_cards() if cards or id_numbers else None
        check_principal_may_name(self.principal, held, method, request)

    def track(self, task: asyncio.Future[Any]) -> None:
        self.calls_in_flight.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self.calls_in_flight.discard(task)
        _outcome_seen(task)

    def cancel_leftovers(self) -> None:
        for task in list(self.calls_in_flight):
            task.cancel()

    def end(self) -> None:
        """The response is ready: what is still running is cancelled (``cancel_leftovers``), and the request lets
        go of its calls and cards. The context and its loaders refer to each other (bound methods; the calls' tasks
        hold the guard that holds the context): without this the request's replies and objects were freed only by
        the cyclic garbage collector, which then walked them all (bench/cpu_per_hospital.py: ~250 objects a request
        at 5 hospitals)."""
        self.cancel_leftovers()
        self.calls_in_flight.clear()
        self.loaders.his.close()
        self._held = None

    def charge_hospitals(self, count: int) -> None:
        """Count a fan-out against the request's budget before any hospital is asked."""
        self.hospitals_asked += count
        limit = self.services.max_hospitals_per_request
        if self.hospitals_asked > limit:
            raise FanOutLimitExceeded(f"一次请求在所有字段中最多查询{limit}家医院，请减少医院后再试。")

    @classmethod
    def for_request(cls, services: Services, *, principal: Principal | None = None) -> Context:
        deadline = asyncio.get_running_loop().time() + services.request_deadline_s
        return cls(services=services, deadline=deadline, principal=principal)

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
