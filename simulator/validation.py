"""Request checks from the catalog: required parameters (20001) and malformed values (20003).

The catalog's tables have mistakes, so the checks are lenient where the spec contradicts itself:
a parameter marked required that the entry's own request example omits is not enforced, names match
case- and whitespace-insensitively, and known table/example disagreements accept either name.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from simulator.catalog import Entry, his_entries
from simulator.data.model import beijing_now
from simulator.envelope import INVALID_PARAM, MISSING_PARAM, Rejected

# Table name and example name that mean the same parameter (normalised).
_ALIAS_GROUPS = (
    {"idcard", "idcardno"},
    {"histradeid", "histradeids"},
    {"outorderid", "hosrecordid"},
    {"refoundno", "refundno"},
    {"revisittime", "revisitdate"},
)
ALIASES: dict[str, frozenset[str]] = {name: frozenset(group) for group in _ALIAS_GROUPS for name in group}

_FORMATS = {
    "datetime": ("%Y-%m-%d %H:%M:%S",),
    "datetime_minutes": ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"),
    "date": ("%Y-%m-%d",),
    "compact_date": ("%Y%m%d",),
    "time": ("%H:%M", "%H:%M:%S"),
}
_ANY_DATE = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y%m%d", "%H:%M", "%H:%M:%S")
# Names whose value is a date/time even where the description states no format.
_DATE_NAMES = {
    "starttime",
    "endtime",
    "begintime",
    "paytime",
    "tradetime",
    "statetime",
    "consulttime",
    "birthday",
    "birthdate",
    "querydate",
    "startdate",
    "enddate",
    "scheduledate",
    "date",
    "createtime",
    "registrationdate",
    "appointmentdate",
}
_ID_CARD_NAMES = {"idcard", "idcardno", "idcardnumber", "motheridcard", "patientidcard"}
_AMOUNT_NAMES = {
    "amount",
    "payamount",
    "balancepayment",
    "refunamount",
    "total",
    "acprice",
    "registrationfee",
    "aramt",
    "prepayamount",
    "totalamount",
    "mailingfee",
    "printfee",
    "consultfee",
    "unifiedpayamount",
    "discountamount",
    "unifiedamount",
    "blpayment",
    "prepay",
}


def normalise(name: str) -> str:
    return name.strip().lower()


class Body:
    """A request body read leniently: keys compared without whitespace and case, aliases accepted."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.top: dict[str, Any] = {}
        for key, value in raw.items():
            self.top.setdefault(normalise(key), value)
        self.anywhere: dict[str, Any] = {}
        _collect(raw, self.anywhere)

    def get(self, name: str) -> Any:
        key = normalise(name)
        for candidate in (key, *sorted(ALIASES.get(key, frozenset()) - {key})):
            if candidate in self.top:
                return self.top[candidate]
        return None

    def text(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            return ""
        return str(value).strip()

    def has_anywhere(self, name: str) -> bool:
        key = normalise(name)
        return any(_present(self.anywhere.get(candidate)) for candidate in ALIASES.get(key, frozenset({key})) | {key})


def _collect(node: Any, into: dict[str, Any]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            name = normalise(key)
            if not _present(into.get(name)):
                into[name] = value
            _collect(value, into)
    elif isinstance(node, list):
        for item in node:
            _collect(item, into)


def _present(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _format_of(description: str) -> tuple[str, ...] | None:
    text = description.replace("YYYY-MM-DD", "yyyy-MM-dd").replace("yyy-MM-dd", "yyyy-MM-dd")
    if "yyyy-MM-dd HH:mm:ss" in text:
        return _FORMATS["datetime"]
    if "yyyy-MM-dd HH:mm" in text:
        return _FORMATS["datetime_minutes"]
    if "yyyyMMdd" in text:
        return _FORMATS["compact_date"]
    if "yyyy-MM-dd" in text:
        return _FORMATS["date"]
    if "HH:mm" in text:
        return _FORMATS["time"]
    return None


@cache
def _rules(entry: Entry) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """(required names to enforce, (name, accepted formats) pairs) for one entry."""
    example_keys: dict[str, Any] = {}
    _collect(entry.request_example or {}, example_keys)
    required = []
    formats = []
    for param in entry.params:
        key = normalise(param.name)
        in_example = any(_present(example_keys.get(alias)) for alias in ALIASES.get(key, frozenset({key})) | {key})
        if param.required and in_example and key != "hospitalid":
            required.append(key)
        explicit = _format_of(param.description)
        if explicit:
            formats.append((key, explicit))
        elif key in _DATE_NAMES:
            formats.append((key, _ANY_DATE))
    return tuple(required), tuple(formats)


@cache
def example_id_numbers() -> frozenset[str]:
    """ID numbers written in the spec's examples; some fail the birth-date check but must be accepted."""
    found: set[str] = set()
    for entry in his_entries():
        values: dict[str, Any] = {}
        _collect(entry.request_example or {}, values)
        for name in _ID_CARD_NAMES | {"patientid"}:
            if isinstance(values.get(name), str):
                found.add(values[name])
    return frozenset(found)


def _parses(value: str, formats: tuple[str, ...]) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(value, fmt)
        except ValueError:
            continue
        return True
    return False


def valid_id_card(number: str) -> bool:
    """15 or 18 characters with a real birth date; the checksum is deliberately not enforced."""
    if number in example_id_numbers():
        return True
    if len(number) == 18 and re.fullmatch(r"\d{17}[\dXx]", number):
        born = number[6:14]
    elif len(number) == 15 and number.isdigit():
        born = "19" + number[6:12]
    else:
        return False
    try:
        parsed = datetime.strptime(born, "%Y%m%d").date()
    except ValueError:
        return False
    return date(1880, 1, 1) <= parsed <= beijing_now().date()


def validate(entry: Entry, body: Body) -> None:
    """Raise Rejected(20001/20003) when the request breaks the entry's contract."""
    required, formats = _rules(entry)
    for key in required:
        if not body.has_anywhere(key):
            raise Rejected(MISSING_PARAM, f"缺少参数: {key}")
    for key, accepted in formats:
        value = body.get(key)
        if isinstance(value, str) and value.strip() and not _parses(value.strip(), accepted):
            raise Rejected(INVALID_PARAM, f"参数格式错误: {key}={value}")
    for key in _ID_CARD_NAMES:
        value = body.get(key)
        if isinstance(value, str) and value.strip() and not valid_id_card(value.strip()):
            raise Rejected(INVALID_PARAM, f"身份证号无效: {value}")
    for key in _AMOUNT_NAMES:
        value = body.get(key)
        if value is None or value == "" or isinstance(value, bool):
            continue
        try:
            Decimal(str(value).strip())
        except InvalidOperation:
            raise Rejected(INVALID_PARAM, f"金额格式错误: {key}={value}") from None
