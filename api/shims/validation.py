"""Checking a hospital's request against the spec's catalog entry for the shim it called.

``validate(section, body)`` reads the ``direction: "platform"`` entry of spec/interfaces.json and checks
the body against its parameter table, answering the spec's 附四 codes:

- 20001 a required field is missing or empty (the message names it);
- 20002 a field has the wrong JSON type (an object where text belongs, a number for a card number...);
- 20003 a field is malformed: a date or time not in the format its description states
  (``yyyy-MM-dd HH:mm:ss`` by default for time fields; a date alone is also taken there, as the spec's
  own 19.1.4 example sends one), an amount that is not a decimal with at most two places, a code outside
  附一 民族 / 附五 亲属关系 / 附七 证件类型, an ID number that is not 15 or 18 characters with a real
  birth date (the checksum is not enforced: the spec's own example fails it);
- 20004 a value out of range (a negative amount where the description allows none, an amount over
  ``MAX_AMOUNT``, a flag not 0/1).

Keys match leniently (stray spaces, any case), and where a table and its example name a field
differently both names are accepted. The result maps each table name (as the table spells it) to the
value sent, strings stripped; a list of objects (11.2.1 ``patientList``) maps to a list of such dicts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal

from his_clients.codes import ReturnCode
from services.payments.clock import CHINA_TIME

from .envelope import ShimError

SPEC_DIR: Final = Path(__file__).resolve().parents[2] / "spec"

Kind = Literal["text", "list", "object"]
Format = Literal[
    "datetime", "date", "compact_date", "hhmm", "amount", "nation", "relation", "id_document_type", "id_number"
]

# Table and example disagree (spec/README.md "Table and example disagree"), or the table has a typo:
# the first name is the table's, the others are accepted as well.
ALIASES: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("19.1.8", "revisitTime"): ("revisitDate",),
    ("41.2.1", "auditDoctor"): ("doctorName",),
    ("19.1.7", "rommId"): ("roomId",),
    ("2.1.3", "idCard"): ("idCardNo",),
    ("5.1.3", "hisTradeId"): ("hisTradeIds",),
    ("33.1.5", "outOrderId"): ("hosRecordId",),
    ("36.1.3", "refoundNo"): ("refundNo",),
    ("9.1.1", "refoundNo"): ("refundNo",),
    ("13.2.1", "refoundNo"): ("refundNo",),
}
# Table names with a typo in them: the name a caller actually sends.
RENAMES: Final[dict[tuple[str, str], str]] = {("19.1.2", "参hospitalId"): "hospitalId"}
# Fields an example sends that its table does not list.
EXTRA_FIELDS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "41.2.1": (("sensitiveReport", "是否敏感报告，0为否，1为是（示例中的字段名）"),),
}
# Closed sets of values (20004 outside them).
ENUMS: Final[dict[str, frozenset[str]]] = {
    "gender": frozenset({"1", "2"}),
    "isPositive": frozenset({"0", "1"}),
    "sensitiveReport": frozenset({"0", "1"}),
    "questionnaireType": frozenset({"0", "1"}),
}
# Time-named fields that are free text shown in a message (the spec's own examples put prose there).
FREE_TEXT_TIMES: Final = frozenset({"remindTime"})
_AMOUNT_WORDS: Final = ("金额", "余额", "限额", "押金", "总额", "费用")
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]{1,2})?$")
MAX_AMOUNT: Final = Decimal("99999999.99")
"""No amount in the spec comes near a hundred million yuan; a larger one (a 40-digit refund) is 20004."""
_SMALL_NUMBER = re.compile(r"^(0|[1-9][0-9]{0,2})$")
_WHEN_REQUIRED = re.compile(r"sendway\s*=\s*[“\"](\w+)[”\"]\s*时必传", re.IGNORECASE)


@dataclass(frozen=True)
class FieldRule:
    """One row of a parameter table, as checked."""

    name: str
    aliases: tuple[str, ...]
    required: bool
    kind: Kind
    fmt: Format | None = None
    negative_ok: bool = False
    numeric_ok: bool = False
    enum: frozenset[str] | None = None
    required_unless: str | None = None
    """Required only when this other field is empty (1.3.2: gender and birthdate when idcard is empty)."""
    required_when: tuple[str, str] | None = None
    """Required only when (field, value) holds (11.2.1: the TWO figures when sendWay is TWO)."""

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(n.strip().lower() for n in (self.name, *self.aliases))


@dataclass(frozen=True)
class EntryRules:
    """What a platform entry's request must hold."""

    section: str
    http_path: str
    fields: tuple[FieldRule, ...]
    items: Mapping[str, tuple[FieldRule, ...]] = field(default_factory=dict)
    """Members of each list (or object) field, by the parent's name."""
    one_of: tuple[str, ...] = ()
    """At least one of these (card number or ID number) must be given."""


@cache
def catalog() -> tuple[dict[str, Any], ...]:
    """Every entry of spec/interfaces.json."""
    entries: list[dict[str, Any]] = json.loads((SPEC_DIR / "interfaces.json").read_text(encoding="utf-8"))
    return tuple(entries)


@cache
def platform_entry(section: str) -> dict[str, Any]:
    """The ``direction: platform`` entry of this section (KeyError if there is none)."""
    for entry in catalog():
        if entry["direction"] == "platform" and entry["section"] == section:
            return entry
    raise KeyError(f"no platform entry {section}")


@cache
def _codes(key: str) -> frozenset[str]:
    dictionaries: dict[str, Any] = json.loads((SPEC_DIR / "dictionaries.json").read_text(encoding="utf-8"))
    table = dictionaries[key]
    entries = table["entries"] if isinstance(table, dict) else table
    return frozenset(str(e["code"]) for e in entries)


def _find_parent(example: Any, name: str, *, nested: bool = False) -> str | None:
    """The top-level key of the example whose list or object holds ``name``; None at the top level
    (``nested``: look only inside lists and objects)."""
    if not isinstance(example, dict):
        return None
    wanted = name.strip().lower()
    if not nested and any(isinstance(k, str) and k.strip().lower() == wanted for k in example):
        return None
    for key, value in example.items():
        members = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else value
        if isinstance(members, dict) and any(isinstance(k, str) and k.strip().lower() == wanted for k in members):
            return str(key).strip()
    return None


def _example_value(example: Any, parent: str | None, name: str) -> Any:
    holder = example
    if parent is not None and isinstance(example, dict):
        holder = _get(example, frozenset({parent.lower()}))
        if isinstance(holder, list):
            holder = holder[0] if holder else None
    return _get(holder, frozenset({name.strip().lower()})) if isinstance(holder, dict) else None


def _get(body: Mapping[str, Any], keys: frozenset[str]) -> Any:
    for key, value in body.items():
        if isinstance(key, str) and key.strip().lower() in keys:
            return value
    return None


def _format_of(name: str, description: str) -> Format | None:
    lowered = name.lower()
    if lowered in {"idcard", "idcardno"}:
        return "id_number"
    if "民族字典" in description or "附录一" in description:
        return "nation"
    if "亲属关系" in description or "附五" in description or "附录五" in description:
        return "relation"
    if "证件类型" in description or "附七" in description or "附录七" in description:
        return "id_document_type"
    if "yyyy-MM-dd HH:mm" in description:
        return "datetime"
    if "yyyy-MM-dd" in description:
        return "date"
    if "yyyyMMdd" in description:
        return "compact_date"
    if "HH:mm" in description:
        return "hhmm"
    headline = re.split(r"[，,（(]", description, maxsplit=1)[0]
    if lowered == "amount" or any(word in headline for word in _AMOUNT_WORDS):
        return "amount"
    if lowered in {"birthdate"}:
        return "date"
    if name not in FREE_TEXT_TIMES and (lowered == "time" or name.endswith("Time")) and "时间" in description:
        return "datetime"
    return None


def _rule(section: str, name: str, required: bool | None, description: str, example_value: Any) -> FieldRule:
    name = RENAMES.get((section, name), name)
    kind: Kind = "text"
    if isinstance(example_value, list) or (example_value is None and "List" in description):
        kind = "list"
    elif isinstance(example_value, dict):
        kind = "object"
    fmt = _format_of(name, description) if kind == "text" else None
    numeric_ok = fmt == "amount" or "必须为数字" in description
    if isinstance(example_value, str) and _SMALL_NUMBER.match(example_value.strip()) and fmt is None:
        numeric_ok = True
    required_unless = None
    if "如果idcard参数为空" in description.replace(" ", ""):
        required_unless = "idcard"
    when = _WHEN_REQUIRED.search(description)
    required_when = ("sendWay", when.group(1)) if when else None
    return FieldRule(
        name=name,
        aliases=ALIASES.get((section, name), ()),
        required=bool(required) and required_unless is None,
        kind=kind,
        fmt=fmt,
        negative_ok="负数" in description,
        numeric_ok=numeric_ok and name.lower() not in {"medicalcardnumber", "idcard", "hospitalid"},
        enum=ENUMS.get(name),
        required_unless=required_unless,
        required_when=required_when,
    )


@cache
def rules_for(section: str) -> EntryRules:
    """The checks of a platform entry, derived from its parameter table and request example."""
    entry = platform_entry(section)
    example = entry["request_example"]
    if isinstance(example, list) and example and isinstance(example[0], dict):
        example = example[0]  # 21.1.x upload lists: every record is checked as the first
    top: list[FieldRule] = []
    items: dict[str, list[FieldRule]] = {}
    card_or_id: set[str] = set()
    params = [(p["name"], p["required"], p["description"]) for p in entry["params"]]
    params += [(name, False, description) for name, description in EXTRA_FIELDS.get(section, ())]
    seen: set[tuple[str | None, str]] = set()
    for name, required, description in params:
        clean = RENAMES.get((section, name), name)
        parent = _find_parent(example, clean)
        if (parent, clean.lower()) in seen:
            # Listed twice (21.1.2 description: the department's, then the doctor's): the member's.
            parent = _find_parent(example, clean, nested=True)
            if parent is None or (parent, clean.lower()) in seen:
                continue
        seen.add((parent, clean.lower()))
        rule = _rule(section, name, required, description, _example_value(example, parent, clean))
        if parent is None:
            top.append(rule)
        else:
            items.setdefault(parent, []).append(rule)
        if re.search(r"至少传一个|不能同时为空|为空时", description) and clean in {"medicalCardNumber", "idCard"}:
            card_or_id.add(clean)
    named = {r.name.lower() for r in top}
    # A list the table lists only by its members (21.1.3 doctors): required when a member is.
    top += [
        FieldRule(name=p, aliases=(), required=any(r.required for r in rs), kind="list")
        for p, rs in items.items()
        if p.lower() not in named
    ]
    one_of = ("medicalCardNumber", "idCard") if card_or_id else ()
    if one_of:
        # Each of the pair is optional on its own; together at least one is needed.
        top = [replace(r, required=False) if r.name in one_of else r for r in top]
        items = {p: [replace(r, required=False) if r.name in one_of else r for r in rs] for p, rs in items.items()}
    return EntryRules(
        section=section,
        http_path=entry["http_path"],
        fields=tuple(top),
        items={p: tuple(rs) for p, rs in items.items()},
        one_of=one_of,
    )


def validate(section: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's fields under their table names, or a ShimError with the spec's code."""
    rules = rules_for(section)
    if not isinstance(body, Mapping):
        raise ShimError(ReturnCode.PARAMETER_FORMAT, "请求体必须是JSON对象")
    return _check_object(rules, rules.fields, body, where="", root=body)


def validate_list(section: str, body: Any) -> list[dict[str, Any]]:
    """A body that is a JSON array of records (21.1.2-21.1.6 upload lists), each checked as ``validate`` does."""
    rules = rules_for(section)
    if not isinstance(body, list):
        raise ShimError(ReturnCode.PARAMETER_TYPE, "参数类型错误: 请求体应为数组")
    checked = []
    for index, item in enumerate(body):
        if not isinstance(item, Mapping):
            raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: [{index}] 应为对象")
        checked.append(_check_object(rules, rules.fields, item, where=f"[{index}].", root=item))
    return checked


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _check_object(
    rules: EntryRules, fields: tuple[FieldRule, ...], body: Mapping[str, Any], *, where: str, root: Mapping[str, Any]
) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for rule in fields:
        value = _get(body, rule.keys)
        found[rule.name] = None if _empty(value) else value
    out: dict[str, Any] = {}
    for rule in fields:
        label = f"{where}{rule.name}"
        value = found[rule.name]
        needed = rule.required
        if rule.required_unless is not None:
            other = next((v for k, v in found.items() if k.lower() == rule.required_unless), None)
            needed = other is None
        if rule.required_when is not None:
            other_name, other_value = rule.required_when
            other = _get(root, frozenset({other_name.lower()}))
            needed = isinstance(other, str) and other.strip().upper() == other_value
        if value is None:
            if needed:
                raise ShimError(ReturnCode.MISSING_PARAMETER, f"缺少参数: {label}")
            out[rule.name] = None
            continue
        out[rule.name] = _check_value(rules, rule, value, label, root)
    if rules.one_of and set(rules.one_of) <= set(out) and all(out[n] is None for n in rules.one_of):
        names = " 或 ".join(f"{where}{n}" for n in rules.one_of)
        raise ShimError(ReturnCode.MISSING_PARAMETER, f"缺少参数: {names} (至少传一个)")
    return out


def _check_value(rules: EntryRules, rule: FieldRule, value: Any, label: str, root: Mapping[str, Any]) -> Any:
    if rule.kind == "list":
        if not isinstance(value, list):
            raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label} 应为数组")
        members = rules.items.get(rule.name, ())
        checked = []
        for index, item in enumerate(value):
            if not members:
                checked.append(item)
                continue
            if not isinstance(item, dict):
                raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label}[{index}] 应为对象")
            checked.append(_check_object(rules, members, item, where=f"{label}[{index}].", root=root))
        return checked
    if rule.kind == "object":
        if not isinstance(value, dict):
            raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label} 应为对象")
        members = rules.items.get(rule.name, ())
        return _check_object(rules, members, value, where=f"{label}.", root=root) if members else value
    if isinstance(value, (bool, dict, list)):
        raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label} 应为字符串")
    if isinstance(value, (int, float)):
        if not rule.numeric_ok:
            raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label} 应为字符串")
        text = format(Decimal(str(value)), "f")
    elif isinstance(value, str):
        text = value.strip()
    else:  # pragma: no cover - JSON has no other types
        raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {label}")
    if rule.fmt is not None:
        _check_format(rule, text, label)
    if rule.enum is not None and text not in rule.enum:
        allowed = "/".join(sorted(rule.enum))
        raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 应为 {allowed}")
    return text


def _bad(label: str, what: str) -> ShimError:
    return ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} {what}")


def _parses(text: str, *formats: str) -> bool:
    for fmt in formats:
        try:
            datetime.strptime(text, fmt)
        except ValueError:
            continue
        return True
    return False


def _check_format(rule: FieldRule, text: str, label: str) -> None:
    fmt = rule.fmt
    if fmt == "datetime":
        if not _parses(text, "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
            raise _bad(label, "应为 yyyy-MM-dd HH:mm:ss")
    elif fmt == "date":
        if not _parses(text, "%Y-%m-%d"):
            raise _bad(label, "应为 yyyy-MM-dd")
    elif fmt == "compact_date":
        if len(text) != 8 or not _parses(text, "%Y%m%d"):
            raise _bad(label, "应为 yyyyMMdd")
    elif fmt == "hhmm":
        if not _parses(text, "%H:%M"):
            raise _bad(label, "应为 HH:mm")
    elif fmt == "amount":
        if not _AMOUNT.match(text):
            raise _bad(label, "应为金额(元, 最多两位小数)")
        try:
            amount = Decimal(text)
        except InvalidOperation as error:  # pragma: no cover - the pattern admits only decimals
            raise _bad(label, "应为金额") from error
        if amount < 0 and not rule.negative_ok:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 不能为负数")
        if abs(amount) > MAX_AMOUNT:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 不能超过 {MAX_AMOUNT}")
    elif fmt == "nation":
        if text not in _codes("nation"):
            raise _bad(label, "不在附一民族字典中")
    elif fmt == "relation":
        if text not in _codes("relationship"):
            raise _bad(label, "不在附五亲属关系字典中")
    elif fmt == "id_document_type":
        if text not in _codes("id_document_type"):
            raise _bad(label, "不在附七证件类型字典中")
    elif fmt == "id_number" and not is_plausible_id_number(text):
        raise _bad(label, "应为15或18位身份证号, 且含有效出生日期")


def id_birth_date(number: str) -> date | None:
    """The birth date an ID number carries, or None when it is not 15 or 18 characters with a real one.

    The check digit is not verified: the spec's own example (370102197907025236) fails it.
    """
    number = number.strip()
    if len(number) == 18 and number[:17].isdigit() and (number[17].isdigit() or number[17] in "Xx"):
        digits = number[6:14]
    elif len(number) == 15 and number.isdigit():
        digits = "19" + number[6:12]
    else:
        return None
    try:
        born = datetime.strptime(digits, "%Y%m%d").date()
    except ValueError:
        return None
    if born.year < 1880 or born > datetime.now(CHINA_TIME).date():  # born by today in Beijing
        return None
    return born


def is_plausible_id_number(number: str) -> bool:
    """15 or 18 characters with a real birth date (no checksum: see id_birth_date)."""
    return id_birth_date(number) is not None
