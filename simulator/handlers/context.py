"""What a handler gets: the entry, the lenient body, the hospital(s) asked and the write helper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from simulator.catalog import Entry
from simulator.data.model import Hospital, Patient
from simulator.envelope import (
    CARD_UNKNOWN,
    CARD_UNKNOWN_FOR_CARD_SERVICES,
    INVALID_PARAM,
    NOT_FOUND,
    Rejected,
    Reply,
)
from simulator.validation import Body

# Chapters whose 附四 code for an unknown card is 60506 (card services) rather than 20215.
_CARD_SERVICE_CHAPTERS = ("1.", "2.", "7.", "8.")
_CARD_KEYS = ("medicalCardNumber", "medicalCard", "patientMedicalCardNumber", "outCardNo")
_ID_KEYS = ("idCard", "idcardNo", "idCardNumber", "patientId", "patientIdCard")


@dataclass(slots=True)
class CallContext:
    entry: Entry
    body: Body
    hospitals: list[Hospital]
    now: datetime

    @property
    def hospital(self) -> Hospital:
        return self.hospitals[0]

    @property
    def card_number(self) -> str:
        for key in _CARD_KEYS:
            value = self.body.text(key)
            if value:
                return value
        return ""

    def find_patient(self, hospital: Hospital | None = None) -> Patient | None:
        """The patient named by card (preferred, 约定: the card is the identity) or by ID number."""
        hospital = hospital or self.hospital
        card = self.card_number
        if card:
            return hospital.by_card.get(card)
        for key in _ID_KEYS:
            number = self.body.text(key)
            if number:
                return hospital.by_id_card.get(number)
        return None

    def patient(self, hospital: Hospital | None = None) -> Patient:
        patient = self.find_patient(hospital)
        if patient is not None:
            return patient
        if self.card_number:
            card_service = self.entry.section.startswith(_CARD_SERVICE_CHAPTERS)
            raise Rejected(CARD_UNKNOWN_FOR_CARD_SERVICES if card_service else CARD_UNKNOWN)
        raise Rejected(NOT_FOUND, "未查询到患者信息")

    def patients_in_each(self) -> Iterable[tuple[Hospital, Patient]]:
        """(hospital, patient) for every hospital asked where the patient is known."""
        found = False
        for hospital in self.hospitals:
            patient = self.find_patient(hospital)
            if patient is not None:
                found = True
                yield hospital, patient
        if not found:
            self.patient()

    def amount(self, name: str) -> Decimal:
        raw = self.body.text(name) or "0"
        try:
            return Decimal(raw)
        except InvalidOperation:
            raise Rejected(INVALID_PARAM, f"金额格式错误: {name}") from None

    def window(self) -> tuple[datetime, datetime]:
        """The startTime/endTime (or beginTime, startDate/endDate) window asked, open where absent."""
        start = _parse_time(self.body.text("startTime") or self.body.text("beginTime") or self.body.text("startDate"))
        end = _parse_time(self.body.text("endTime") or self.body.text("endDate"), end_of_day=True)
        return start or datetime.min, end or datetime.max

    def once(self, key: str, apply: Callable[[], Reply], *, hospital: Hospital | None = None) -> Reply:
        """Apply a business write once per identifier (约定: 业务接口必须符合幂等原则)."""
        hospital = hospital or self.hospital
        stored = hospital.writes.get(key)
        if stored is not None:
            return stored
        reply = apply()
        if reply.get("success") is True:
            hospital.writes[key] = reply
            hospital.applied[key] += 1
        return reply


def _parse_time(text: str, *, end_of_day: bool = False) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d"):
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if end_of_day and fmt in ("%Y-%m-%d", "%Y%m%d"):
            parsed = parsed.replace(hour=23, minute=59, second=59)
        return parsed
    return None


def money(value: Decimal) -> str:
    """Amounts as the examples write them: yuan with two decimals."""
    return f"{value.quantize(Decimal('0.01'))}"


def stamp(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S")
