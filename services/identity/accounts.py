"""Patients' accounts: WeChat login, and the cards an account may use, proven before they are held.

Binding a physical card (chapter 2): the name and ID number the user types must match what the
hospital returns for that card (2.1.1), then a one-time code goes to the phone number the HOSPITAL
holds (not one the user types); when the code comes back, the platform makes an e-health card from
the physical card and pushes it to the hospital (2.1.2 bindCard, "根据实体卡生成电子健康卡，并主动将
电子卡信息推送到院内"). Creating a card (1.2.1): the platform issues the number and the hospital files it.
Refusals never say which check failed, so the flow cannot be used to probe other people's data.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from cachetools import TTLCache
from sqlalchemy import select, update

from his_clients.client import HisClient
from his_clients.errors import HisNoData, HisRejected
from his_clients.models.cards import (
    BIND_CARD,
    CREATE_CARD,
    NEWBORN_CREATE_CARD,
    QUERY_PATIENT_INFO,
    UN_RELATE_HIS_PATIENT_CARD,
    BindCardRequest,
    CreateCardRequest,
    NewbornCreateCardRequest,
    QueryPatientInfoRequest,
    UnRelateHisPatientCardRequest,
)
from store.accounts import Account, AccountCard, AccountRepository, OneTimeCode
from store.cards import HealthCardRepository, generate_card_number
from store.db import Database
from store.models import utcnow

from ..cards import sex_of
from ..masking import mask_phone
from ..refusals import RefusalCode, Refused
from .real_name import RealNameVerifier, is_national_card_id
from .sms import SmsNotSent, SmsSender
from .throttles import SmsLimits, Throttles
from .wechat import WeChatLogin

CODE_TTL = timedelta(minutes=5)
CODE_ATTEMPTS = 5
BIND_CHECKS = SmsLimits(cooldown=timedelta(0), per_day=20)
"""How many card checks (2.1.1 against the hospital's record) one account may ask for in a day."""
CARD_CREATIONS = SmsLimits(cooldown=timedelta(0), per_day=10)
"""How many cards (1.2.1, 1.2.2) one account may have the hospitals file in a day (a family's, not a flood)."""
HOLDER = "self"
"""The stored relation of the account holder's own card. 附五 has no code for oneself, so it is no 附五 code."""
RELATIONS = {"01": "父亲", "02": "母亲", "03": "儿子", "04": "女儿", "05": "其他"}
"""附五 亲属关系字典 (spec/dictionaries.json ``relationship``): how a family member's card holder relates to
the account holder. A card's relation is ``HOLDER`` or one of these codes, stored and sent as written."""


class IdentityRefused(Refused):
    """A login or card proof that did not check out: a 附四 code where one fits, else ours (SMS_CODE_INVALID...)."""


@dataclass(frozen=True, slots=True)
class Newborn:
    """What 1.2.2 asks beyond a card: the mother, and which birth this is (胎次)."""

    mother_id_number: str
    birth_order: str
    mother_name: str | None = None


@dataclass(frozen=True, slots=True)
class BindingStarted:
    """A code went to the phone the hospital holds; the user sees it masked."""

    masked_phone: str


def _same_id_number(typed: str, held: str | None) -> bool:
    return held is not None and typed.strip().upper() == held.strip().upper()


def _code_hash(code: str, purpose: str) -> str:
    return hmac.new(purpose.encode(), code.encode(), hashlib.sha256).hexdigest()


class AccountService:
    CARDS_TTL_S = 5.0
    """How long this process trusts what it read of an account's cards. Cards it grants here are seen at
    once; a card removed by another worker stays usable here for at most this long."""

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        sms: SmsSender,
        wechat: WeChatLogin | None,
        throttles: Throttles | None = None,
        sms_limits: SmsLimits | None = None,
        verifier: RealNameVerifier | None = None,
    ) -> None:
        # One store query per patient request would add a millisecond to every one of them.
        self._cards: TTLCache[int, list[AccountCard]] = TTLCache(maxsize=50_000, ttl=self.CARDS_TTL_S)
        # One read per account at a time: a patient's concurrent requests share it instead of each missing.
        self._cards_loading: dict[int, asyncio.Future[list[AccountCard]]] = {}
        self._cards_epoch = 0  # bumped when any account's cards change: a read begun before is not kept
        self._db = db
        self._his = his
        self._sms = sms
        self._wechat = wechat
        self._throttles = throttles or Throttles(db, secret=b"hisgraph-accounts")
        self._sms_limits = sms_limits or SmsLimits()
        self.verifier = verifier
        """Real-name verification (the 国家电子健康卡 path); None: card creation never proves an ID number."""

    async def login_with_wechat(self, code: str) -> Account:
        """The account of the WeChat user whose ``wx.login`` code this is (created on first login)."""
        if self._wechat is None:
            raise IdentityRefused(RefusalCode.UNAUTHORIZED, "微信登录暂不可用。")
        session = await self._wechat.exchange(code)
        return await self.account_for(openid=session.openid, unionid=session.unionid)

    async def account_for(self, *, openid: str, unionid: str | None = None) -> Account:
        async with self._db.session() as db:
            return await AccountRepository(db).get_or_create(openid=openid, unionid=unionid)

    async def openid(self, account_id: int) -> str | None:
        """The account's WeChat openid: a JSAPI payment names its payer by it."""
        async with self._db.session() as db:
            account = await db.get(Account, account_id)
            return None if account is None else account.openid

    async def cards(self, account_id: int) -> list[AccountCard]:
        """The account's proven cards: kept `CARDS_TTL_S`, and read once however many requests ask at once."""
        cached = self._cards.get(account_id)
        if cached is not None:
            return cached
        loading = self._cards_loading.get(account_id)
        if loading is None:
            loading = asyncio.ensure_future(self._read_cards(account_id))
            self._cards_loading[account_id] = loading
        # Shielded: one asker cancelled (its request gone) does not cancel the read the others wait on.
        return await asyncio.shield(loading)

    async def _read_cards(self, account_id: int) -> list[AccountCard]:
        epoch = self._cards_epoch
        try:
            async with self._db.session() as db:
                cards = await AccountRepository(db).cards(account_id)
        finally:
            if self._cards_loading.get(account_id) is asyncio.current_task():
                del self._cards_loading[account_id]
        if epoch == self._cards_epoch:  # no card changed while it was read
            self._cards[account_id] = cards
        return cards

    def _cards_changed(self, account_id: int) -> None:
        """Called once a change to the account's cards is committed: the next ask reads them again."""
        self._cards_epoch += 1
        self._cards.pop(account_id, None)
        self._cards_loading.pop(account_id, None)

    async def holds(self, account_id: int, medical_card_number: str) -> bool:
        async with self._db.session() as db:
            return await AccountRepository(db).holds(account_id, medical_card_number)

    async def grant(
        self,
        *,
        account_id: int,
        medical_card_number: str,
        hospital_id: str | None,
        relation: str = HOLDER,
        how: str,
        id_card_number: str | None = None,
    ) -> AccountCard:
        """Record a card as proven for an account, with ``id_card_number`` as PROVEN (the dev login's demo card,
        tests). Patients' own proofs go through ``confirm_binding`` and ``create_card``."""
        async with self._db.session() as db:
            changed = await AccountRepository(db).add_card(
                account_id=account_id,
                medical_card_number=medical_card_number,
                hospital_id=hospital_id,
                relation=relation,
                how=how,
                id_card_number=id_card_number,
            )
        self._cards_changed(account_id)
        return changed

    async def start_binding(
        self,
        *,
        account_id: int,
        hospital_id: str,
        medical_card_number: str,
        name: str,
        id_number: str,
        deadline: float | None = None,
    ) -> BindingStarted:
        """Check the typed name and ID number against the hospital's record, then send a code.

        Everything is counted in the store, so it holds however many requests, batched operations or aliases
        ask at once: the account's checks (``BIND_CHECKS`` a day: the check answers whether a name and ID number
        fit a card, so it must not become an oracle), and codes per card and per phone: one per
        ``SmsLimits.cooldown``, at most ``SmsLimits.per_day`` a day.
        """
        checks = await self._throttles.claim_sms(scope="bind-check", value=str(account_id), limits=BIND_CHECKS)
        if not checks.allowed:
            raise _too_often(checks.retry_after_s)
        try:
            held = await self._his.call(
                QUERY_PATIENT_INFO,
                hospital_id,
                QueryPatientInfoRequest(medical_card_number=medical_card_number),
                deadline=deadline,
            )
        except (HisNoData, HisRejected) as exc:
            raise IdentityRefused(RefusalCode.CARD_NOT_FOUND_20215, NO_MATCH) from exc
        if held.name.strip() != name.strip() or not _same_id_number(id_number, held.id_card_no) or not held.phone:
            raise IdentityRefused(RefusalCode.CARD_NOT_FOUND_20215, NO_MATCH)
        limits = self._sms_limits
        phone_key = "".join(ch for ch in held.phone if ch.isdigit())[-11:]  # +86 138..., 138-... alike
        for scope, value in (("sms-card", f"{hospital_id}:{medical_card_number}"), ("sms-phone", phone_key)):
            claim = await self._throttles.claim_sms(scope=scope, value=value, limits=limits)
            if not claim.allowed:
                raise _too_often(claim.retry_after_s)
        code = f"{secrets.randbelow(1_000_000):06d}"
        purpose = f"bind:{hospital_id}:{medical_card_number}"
        async with self._db.session() as db:
            # A new code replaces any earlier one: only the latest can be used.
            await db.execute(
                update(OneTimeCode)
                .where(
                    OneTimeCode.account_id == account_id,
                    OneTimeCode.purpose == purpose,
                    OneTimeCode.used_at.is_(None),
                )
                .values(attempts=CODE_ATTEMPTS)
                .execution_options(synchronize_session=False)
            )
            pending = OneTimeCode(
                account_id=account_id,
                purpose=purpose,
                code_hash=_code_hash(code, purpose),
                expires_at=utcnow() + CODE_TTL,
                attempts=0,
            )
            db.add(pending)
        try:
            await self._sms.send_code(phone=held.phone, code=code, purpose="绑定就诊卡")
        except SmsNotSent as failed:
            async with self._db.session() as db:
                await db.execute(
                    update(OneTimeCode)
                    .where(OneTimeCode.id == pending.id)
                    .values(attempts=CODE_ATTEMPTS)
                    .execution_options(synchronize_session=False)
                )
            raise IdentityRefused(RefusalCode.SYSTEM_ERROR, "短信发送失败，请稍后再试。") from failed
        return BindingStarted(masked_phone=mask_phone(held.phone))

    async def confirm_binding(
        self,
        *,
        account_id: int,
        hospital_id: str,
        medical_card_number: str,
        code: str,
        relation: str = HOLDER,
        deadline: float | None = None,
    ) -> AccountCard:
        """The code came back: make the e-health card, push it to the hospital (2.1.2), hold it."""
        if relation != HOLDER and relation not in RELATIONS:
            raise IdentityRefused(RefusalCode.PARAMETER_FORMAT, "亲属关系代码不正确（附五）。", field="relation")
        purpose = f"bind:{hospital_id}:{medical_card_number}"
        await self._use_code(account_id=account_id, purpose=purpose, code=code)
        held = await self._his.call(
            QUERY_PATIENT_INFO,
            hospital_id,
            QueryPatientInfoRequest(medical_card_number=medical_card_number),
            deadline=deadline,
        )
        async with self._db.session() as db:
            cards = HealthCardRepository(db)
            existing = await db.scalar(
                select(AccountCard).where(
                    AccountCard.account_id == account_id, AccountCard.physical_card_number == medical_card_number
                )
            )
            if existing is not None:
                return existing
            e_card_number = await generate_card_number(db)
            await cards.add(
                medical_card_number=e_card_number,
                hospital_id=hospital_id,
                name=held.name,
                gender={"男": "1", "女": "2"}.get(held.sex, "1"),
                birthdate=_date_or_none(held.birthdate),
                address=held.address,
                id_card_number=held.id_card_no,
                phone=held.phone,
            )
            await self._his.call(
                BIND_CARD,
                hospital_id,
                BindCardRequest(
                    name=held.name, old_medical_card_number=medical_card_number, new_medical_card_number=e_card_number
                ),
                deadline=deadline,
            )
            changed = await AccountRepository(db).add_card(
                account_id=account_id,
                medical_card_number=e_card_number,
                hospital_id=hospital_id,
                relation=relation,
                how="bound",
                physical_card_number=medical_card_number,
                id_card_number=held.id_card_no,
            )
        self._cards_changed(account_id)
        return changed

    async def create_card(
        self,
        *,
        account_id: int,
        hospital_id: str,
        name: str,
        gender: str,
        birthdate: date,
        phone: str,
        id_number: str | None,
        address: str | None = None,
        relation: str = HOLDER,
        newborn: Newborn | None = None,
        deadline: float | None = None,
    ) -> AccountCard:
        """Issue a platform e-health card and file it at the hospital (1.2.1 createCard, 1.2.2 for a newborn)."""
        if relation != HOLDER and relation not in RELATIONS:
            raise IdentityRefused(RefusalCode.PARAMETER_FORMAT, "亲属关系代码不正确（附五）。", field="relation")
        created = await self._throttles.claim_sms(scope="card-create", value=str(account_id), limits=CARD_CREATIONS)
        if not created.allowed:
            raise IdentityRefused(
                RefusalCode.THROTTLED,
                f"办卡过于频繁，请{created.retry_after_s}秒后再试。",
                retryAfterS=created.retry_after_s,
            )
        if newborn is not None:
            # A newborn's card is made by its mother's account: her ID number must be one it has proven.
            held = {c.id_card_number.strip().upper() for c in await self.cards(account_id) if c.id_card_number}
            if newborn.mother_id_number.strip().upper() not in held:
                raise IdentityRefused(
                    RefusalCode.CARD_NOT_FOUND_20215,
                    "母亲的身份证号未在本账户验证。",
                    field="newbornMotherIdCardNumber",
                )
        # The 国家电子健康卡 path (1.1, 1.2.1): only where the provincial platform vouches for the name and ID
        # number does the card get the 64-character national ID and the account the ID number as proven.
        # Otherwise a 15-digit card, and the typed ID number proves nothing: the account reaches this card alone.
        vouched = None
        if id_number and self.verifier is not None:
            vouched = await self.verifier.verify(name=name, id_number=id_number, id_type="01")
            if vouched is not None and not is_national_card_id(vouched.national_card_id):
                vouched = None
        async with self._db.session() as db:
            cards = HealthCardRepository(db)
            if vouched is not None:
                number = vouched.national_card_id
            else:
                number = await generate_card_number(db)
            if await cards.get(number) is None:
                await cards.add(
                    medical_card_number=number,
                    hospital_id=hospital_id,
                    name=name,
                    gender=gender,
                    birthdate=birthdate,
                    address=address,
                    id_card_number=id_number,
                    phone=phone,
                )
            card = {
                "medical_card_number": number,
                "name": name,
                "sex": sex_of(gender),
                "gender": gender,
                "birthday": birthdate.isoformat(),
                "address": address,
                "id_card": id_number,
                "card_no_type": "01" if id_number else None,
                "phone": phone,
            }
            # A refusal raises here and the transaction rolls back: no card the hospital never filed.
            if newborn is None:
                await self._his.call(CREATE_CARD, hospital_id, CreateCardRequest(**card), deadline=deadline)
            else:
                request = NewbornCreateCardRequest(
                    **card,
                    mother_name=newborn.mother_name,
                    mother_id_card=newborn.mother_id_number,
                    birth_order=newborn.birth_order,
                )
                await self._his.call(NEWBORN_CREATE_CARD, hospital_id, request, deadline=deadline)
            changed = await AccountRepository(db).add_card(
                account_id=account_id,
                medical_card_number=number,
                hospital_id=hospital_id,
                relation=relation,
                how="created",
                id_card_number=id_number if vouched is not None else None,
            )
        self._cards_changed(account_id)
        return changed

    async def unbind(self, *, account_id: int, medical_card_number: str, deadline: float | None = None) -> bool:
        """Drop a card from the account; a bound card is unlinked at its hospital first (2.1.4)."""
        async with self._db.session() as db:
            cards = await AccountRepository(db).cards(account_id)
            card = next(
                (c for c in cards if medical_card_number in (c.medical_card_number, c.physical_card_number)), None
            )
            if card is None:
                return False
            if card.how == "bound" and card.hospital_id and card.physical_card_number:
                record = await HealthCardRepository(db).get(card.medical_card_number)
                await self._his.call(
                    UN_RELATE_HIS_PATIENT_CARD,
                    card.hospital_id,
                    UnRelateHisPatientCardRequest(
                        name=record.name if record else "",
                        old_medical_card_number=card.physical_card_number,
                        new_medical_card_number=card.medical_card_number,
                    ),
                    deadline=deadline,
                )
            changed = await AccountRepository(db).remove_card(
                account_id=account_id, medical_card_number=card.medical_card_number
            )
        self._cards_changed(account_id)
        return changed

    async def _use_code(self, *, account_id: int, purpose: str, code: str) -> None:
        """Spend one attempt on the latest code, then the code itself if it is right.

        Both are conditional updates, so concurrent guesses (batches, aliases) cannot share an attempt and
        a right code is used once: the attempt is counted (committed) whether or not the code is right.
        """
        now = utcnow()
        async with self._db.session() as db:
            pending = await db.scalar(
                select(OneTimeCode)
                .where(
                    OneTimeCode.account_id == account_id,
                    OneTimeCode.purpose == purpose,
                    OneTimeCode.used_at.is_(None),
                )
                .order_by(OneTimeCode.id.desc())
                .limit(1)
            )
            if pending is None or pending.expires_at < now or pending.attempts >= CODE_ATTEMPTS:
                raise IdentityRefused(RefusalCode.SMS_CODE_INVALID, CODE_EXPIRED, field="code")
            counted = await db.execute(
                update(OneTimeCode)
                .where(
                    OneTimeCode.id == pending.id,
                    OneTimeCode.used_at.is_(None),
                    OneTimeCode.attempts < CODE_ATTEMPTS,
                )
                .values(attempts=OneTimeCode.attempts + 1)
                .execution_options(synchronize_session=False)
            )
            pending_id, pending_hash = pending.id, pending.code_hash
        if getattr(counted, "rowcount", 0) != 1:
            raise IdentityRefused(RefusalCode.SMS_CODE_INVALID, CODE_EXPIRED, field="code")
        if not hmac.compare_digest(pending_hash.encode(), _code_hash(code.strip(), purpose).encode()):
            raise IdentityRefused(RefusalCode.SMS_CODE_INVALID, CODE_WRONG, field="code")
        async with self._db.session() as db:
            used = await db.execute(
                update(OneTimeCode)
                .where(OneTimeCode.id == pending_id, OneTimeCode.used_at.is_(None))
                .values(used_at=now)
                .execution_options(synchronize_session=False)
            )
        if getattr(used, "rowcount", 0) != 1:
            raise IdentityRefused(RefusalCode.SMS_CODE_INVALID, CODE_EXPIRED, field="code")


SMS_CODE_INVALID: Final = RefusalCode.SMS_CODE_INVALID
"""Our own code for a one-time SMS code that is wrong, expired, used or out of attempts: ask for a new one.
20003 stays the spec's 格式错误 (a malformed phone, ID number...), so one code means one thing (issue 12 item 14)."""
CODE_WRONG: Final = "验证码错误，请核对短信中的验证码。"
CODE_EXPIRED: Final = "验证码无效或已过期，请重新获取。"
NO_MATCH: Final = "就诊卡号、姓名与身份证号不匹配。"


def _too_often(retry_after_s: int) -> IdentityRefused:
    return IdentityRefused(
        RefusalCode.THROTTLED, f"验证码发送过于频繁，请{retry_after_s}秒后再试。", retryAfterS=retry_after_s
    )


def _date_or_none(text: str) -> date | None:
    try:
        return datetime.strptime(text.strip()[:10], "%Y-%m-%d").date()
    except ValueError:
        return None
