"""The HIS probe: checks one hospital's HIS against the spec before it goes live (``hisgraph probe``).

It calls every read method the hospital has opened (the registry's ``opened``; every catalog method when it
lists none), over HTTP or WebService as the registry says, through ``his_clients`` (never the simulator), one
deadline per call. Writes are called only when asked (``writes=True``) and only those the spec marks
idempotent (约定: "业务接口…必须符合幂等原则"; 5.1.2 and 7.1.2 say so again). Each reply is checked as it came
over the wire, before any lenient reading: the envelope, the 附四 code, required fields, types, the spec's
time formats and its dictionaries. The report lists every method as ``pass``, ``no_data`` (10002 for the
test patient), ``deviation`` (which field, what the spec expects, what came), ``not_opened`` or ``skipped``,
and names the registry setting (or the lenient reading) that already absorbs a deviation, where one does.

Requests are the spec's own examples with the test patient put in, and identifiers (department, doctor,
dates) taken from earlier replies where the chain allows (departments -> doctors -> schedules).

Values received are never copied into the report (they may be a patient's data): only their JSON type and
length, except codes checked against a dictionary.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import AliasChoices, ValidationError

from his_clients import catalog
from his_clients.client import HisClient, describe_validation_error
from his_clients.codes import ReturnCode
from his_clients.errors import HisError, HisHttpError, HisProtocolError, HisTimeout
from his_clients.method import Access, Envelope, HisMethod
from his_clients.models.base import HisReply
from his_clients.registry import Hospital, Registry
from his_clients.resilience import GatewaySaturated
from his_clients.transport import RawReply

SPEC_DIR: Final = Path(__file__).resolve().parents[1] / "spec"

# How often a call is made when the time ran out in the probe itself (GatewaySaturated), not at the hospital.
OWN_STALL_ATTEMPTS: Final = 3

Status = Literal["pass", "no_data", "refused", "deviation", "not_opened", "skipped"]

IDEMPOTENT_WRITES: Final = frozenset(
    {
        "1.2.1",  # 建卡 (约定: 业务接口…建卡…必须符合幂等原则)
        "1.2.2",
        "1.2.3",
        "3.1.2",  # 诊间支付
        "5.1.2",  # 医保结算: "接口必须要遵循幂等原则"
        "7.1.2",  # 就诊卡充值: "院内接口必须要支持幂等原则"
        "10.1.2",  # 住院押金
        "20.1.7",  # 挂号
        "21.2.4",  # 预约挂号
        "25.1.1",  # 在线问诊
    }
)
"""Writes the spec requires to be idempotent (same parameters, same result): the only ones ``--writes`` calls."""

PATIENT_KEYS: Final = {
    "card": ("medicalCardNumber", "newMedicalCardNumber", "cardNo", "patientCardNo"),
    "id_card": ("idCard", "idCardNo", "idCardNumber", "idcard", "idNo"),
    "name": ("name", "patientName"),
}
"""Request parameters the test patient's card, ID number and name replace."""

CHAINED: Final = re.compile(r"(?:Id|ID|Code|No|Date|date|Time)$")
"""Parameters worth taking from an earlier reply (identifiers and dates), if one carried the same name."""

CHAIN_ALIASES: Final = {"docCode": "doctorId", "deptCode": "departmentId", "deptId": "departmentId"}
"""Request parameters an earlier reply names otherwise (21.2.1 docCode is 20.1.2's doctorId); the alias wins
over a same-named value from an unrelated reply (15.1.1's docCode is a triage code)."""

NOT_CHAINED: Final = frozenset({"hospitalId", "outTradeNo", "outRefundNo", "hosCode"}) | {
    key for keys in PATIENT_KEYS.values() for key in keys
}

FORMATS: Final = (
    ("yyyy-MM-dd HH:mm:ss", re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")),
    ("yyyy-MM-dd", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("yyyyMMdd", re.compile(r"^\d{8}$")),
    ("HH:mm", re.compile(r"^\d{2}:\d{2}$")),
)
"""Time formats as field descriptions name them (longest first).

The spec's 约定: 所有时间格式皆为yyyy-MM-dd HH:mm:ss."""

DICTIONARIES_CITED: Final = {"附一": "nation", "附五": "relationship", "附七": "id_document_type"}
"""A reply field whose description cites one of these appendices holds its codes (or names)."""

DICTIONARY_FIELDS: Final = {"paytype": "pay_types"}
"""Reply fields (lower-cased) whose values come from a dictionary whatever their description says (约定's payType).
A field such as 37.1.1 ``relationShip`` ("关系", example "父子") cites none and is free text."""

REFUSAL_HINTS: Final = {
    ("20.1.7", "60202"): (
        "; if the hospital reads registrationFee as the whole fee (its example's reading), the registry's"
        ' registration_fee = "total" absorbs it'
    ),
}
"""Business refusals a registry setting may absorb, by (section, code)."""

LENIENT: Final = "lenient reading (his_clients/models/base.py) already absorbs it"


@dataclass
class Deviation:
    """One way a reply differs from the spec."""

    field: str
    expected: str
    received: str
    absorbed_by: str | None = None
    """The registry setting (or the lenient reading) that absorbs it; None: the hospital must change."""
    absorbed: bool = False
    """Whether it is absorbed already (the lenient reading, the spec's own example), or only would be once the
    registry setting named is set."""


@dataclass
class MethodResult:
    section: str
    variant: str | None
    method: str
    title: str
    access: str
    status: Status
    deviations: list[Deviation] = field(default_factory=list)
    note: str = ""
    ms: float | None = None


@dataclass
class ProbeReport:
    hospital_id: str
    hospital_name: str
    transport: str
    started_at: str
    writes: bool
    results: list[MethodResult] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in get_args(Status)}
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def passed(self) -> bool:
        return not any(r.status == "deviation" for r in self.results)

    def to_json(self) -> str:
        body = asdict(self) | {"counts": self.counts()}
        return json.dumps(body, ensure_ascii=False, indent=2) + "\n"

    def summary(self, *, absorbed: bool = False) -> str:
        """A few lines for a terminal or a README: the counts, then each deviation (with ``absorbed``, also
        those a registry setting or the lenient reading already absorbs)."""
        counts = self.counts()
        tolerated = sum(1 for r in self.results for d in r.deviations if d.absorbed)
        lines = [
            f"hospital {self.hospital_id} {self.hospital_name} ({self.transport}): "
            + ", ".join(f"{counts[s]} {s}" for s in get_args(Status))
            + f"; {tolerated} absorbed deviations"
        ]
        for result in self.results:
            for deviation in result.deviations:
                if deviation.absorbed and not absorbed:
                    continue
                fix = f" -> {deviation.absorbed_by}" if deviation.absorbed_by else ""
                fix = f" -> would be absorbed by: {deviation.absorbed_by}" if fix and not deviation.absorbed else fix
                lines.append(
                    f"  {result.section} {result.method}: {deviation.field}: expected {deviation.expected},"
                    f" received {deviation.received}{fix}"
                )
        return "\n".join(lines)

    def to_html(self) -> str:
        e = html.escape
        rows = []
        for r in self.results:
            details = "".join(
                f"<li><code>{e(d.field)}</code>: expected {e(d.expected)}, received {e(d.received)}"
                + (
                    f" <em>{'absorbed' if d.absorbed else 'would be absorbed'} by: {e(d.absorbed_by)}</em>"
                    if d.absorbed_by
                    else ""
                )
                + "</li>"
                for d in r.deviations
            )
            rows.append(
                f'<tr class="{e(r.status)}"><td>{e(r.section)}{e(" " + r.variant if r.variant else "")}</td>'
                f"<td><code>{e(r.method)}</code><br>{e(r.title)}</td><td>{e(r.access)}</td>"
                f"<td>{e(r.status)}</td><td>{'' if r.ms is None else f'{r.ms:.0f} ms'}</td>"
                f"<td>{e(r.note)}<ul>{details}</ul></td></tr>"
            )
        counts = ", ".join(f"{n} {e(s)}" for s, n in self.counts().items())
        return (
            '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f"<title>HIS probe {e(self.hospital_id)}</title><style>"
            "body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px}"
            ".pass{background:#e8f5e9}.deviation{background:#ffebee}.no_data{background:#fffde7}"
            ".not_opened,.skipped{color:#777}</style></head><body>"
            f"<h1>HIS probe: {e(self.hospital_id)} {e(self.hospital_name)}</h1>"
            f"<p>transport {e(self.transport)}; started {e(self.started_at)}; writes "
            f"{'on' if self.writes else 'off'}; {counts}</p>"
            "<table><tr><th>section</th><th>method</th><th>access</th><th>result</th><th>time</th>"
            f"<th>details</th></tr>{''.join(rows)}</table></body></html>\n"
        )

    def write(self, directory: Path) -> tuple[Path, Path]:
        """``probe-<hospital>.json`` and ``.html`` in ``directory``."""
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / f"probe-{self.hospital_id}.json"
        html_path = directory / f"probe-{self.hospital_id}.html"
        json_path.write_text(self.to_json(), encoding="utf-8")
        html_path.write_text(self.to_html(), encoding="utf-8")
        return json_path, html_path


@cache
def _entries() -> Mapping[tuple[str, str | None], dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((SPEC_DIR / "interfaces.json").read_text(encoding="utf-8"))
    return {(e["section"], e["variant"]): e for e in entries if e["direction"] == "his"}


@cache
def _format_of(description: str) -> tuple[str, re.Pattern[str]] | None:
    return next(((label, pattern) for label, pattern in FORMATS if label in description), None)


@cache
def _dictionary(key: str) -> frozenset[str]:
    tables: dict[str, Any] = json.loads((SPEC_DIR / "dictionaries.json").read_text(encoding="utf-8"))
    table = tables[key]
    entries = table["entries"] if isinstance(table, dict) else table
    return frozenset(str(e[column]) for e in entries for column in ("code", "name", "meaning") if e.get(column))


def _kind(value: Any) -> str:
    """What a value is, without the value: ``string(11)``, ``number``, ``object``..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, str):
        return f"string({len(value)})"
    if isinstance(value, list):
        return f"array({len(value)})"
    return "object"


def _learn(data: Any, learned: dict[str, Any]) -> None:
    """Remember the first scalar of each name in a reply, for later requests' identifiers and dates."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and isinstance(value, str | int) and not isinstance(value, bool):
                if value != "" and CHAINED.search(key) and key not in NOT_CHAINED:
                    learned.setdefault(key, value)
            else:
                _learn(value, learned)
    elif isinstance(data, list):
        for item in data:
            _learn(item, learned)


def build_request(
    entry: Mapping[str, Any], patient: Mapping[str, str | None], learned: Mapping[str, Any]
) -> dict[str, Any]:
    """The spec's example request with the test patient and values learned from earlier replies put in."""
    example = entry.get("request_example")
    body: dict[str, Any] = dict(example) if isinstance(example, dict) else {}
    for what, keys in PATIENT_KEYS.items():
        value = patient.get(what)
        if value:
            for key in keys:
                if key in body:
                    body[key] = value
    for key in body:
        source = CHAIN_ALIASES[key] if CHAIN_ALIASES.get(key) in learned else key
        if source in learned and key not in NOT_CHAINED and not isinstance(body[key], dict | list):
            body[key] = learned[source]
    return body


class _Checker:
    """Checks one decoded reply against the spec: the envelope, then ``data`` against the method's model."""

    def __init__(self, method: HisMethod[Any, Any], entry: Mapping[str, Any]) -> None:
        self.method = method
        fields = entry.get("response_fields", ())
        self.required = {f["name"] for f in fields if f.get("required")}
        self.descriptions = {f["name"]: f.get("description") or "" for f in fields}
        self.example_formats: set[str] = set()
        """Fields the spec's own example writes in another format than its table names (23.1.1 pushTime)."""
        self.shown_formats: dict[str, tuple[str, re.Pattern[str]]] = {}
        """Time fields whose table names no format, by the format their example value has (14.2.2 tradeTime)."""
        self._example_formats(entry.get("response_example"))
        self.deviations: list[Deviation] = []

    def _example_formats(self, example: Any) -> None:
        if isinstance(example, list):
            for item in example:
                self._example_formats(item)
        elif isinstance(example, dict):
            for key, value in example.items():
                label = _format_of(self.descriptions.get(key, ""))
                if label is not None and isinstance(value, str) and value and not label[1].match(value.strip()):
                    self.example_formats.add(key)
                if label is None and isinstance(value, str) and key not in self.shown_formats:
                    # No format named in the table: the one the spec's example shows (约定: 所有时间格式皆为…).
                    shown = next((f for f in FORMATS[:2] if f[1].match(value.strip())), None)
                    if shown is not None:
                        self.shown_formats[key] = shown
                self._example_formats(value)

    def add(self, where: str, expected: str, received: str, absorbed_by: str | None = None) -> None:
        self.deviations.append(Deviation(where, expected, received, absorbed_by, absorbed=absorbed_by is not None))

    def envelope(self, reply: dict[str, Any]) -> str:
        """The reply's code, after checking ``success``, ``msg`` and ``code`` themselves."""
        for key in reply:
            if isinstance(key, str) and key != key.strip() and key.strip() in ("success", "msg", "code", "data"):
                self.add(repr(key), f"the key {key.strip()!r}", "spaces around it", LENIENT)
        success = reply.get("success")
        code_value = reply.get("code")
        code = str(code_value).strip() if code_value is not None else ""
        if "success" not in reply:
            self.add("success", "boolean true/false", "absent", LENIENT + " (the code decides)")
        elif not isinstance(success, bool):
            self.add("success", "boolean true/false", _kind(success), LENIENT)
        if code_value is None:
            self.add("code", "a 附四 code (string)", "absent")
        elif not isinstance(code_value, str):
            self.add("code", "a 附四 code as a string", _kind(code_value), LENIENT)
        if code and ReturnCode.parse(code) is None:
            self.add("code", "a code of 附四", repr(code)[:20])
        if "msg" not in reply and "message" not in reply:
            self.add("msg", "msg (string)", "absent", LENIENT)
        return code

    def data(self, data: Any) -> None:
        reply_type = self.method.reply
        if self.method.envelope is Envelope.BARE or reply_type is type(None):
            return
        if get_origin(reply_type) is list:
            (item_type,) = get_args(reply_type)
            if data is None or data == "":
                self.add("data", "an array (empty when there is nothing)", _kind(data), LENIENT)
                return
            if isinstance(data, dict):
                self.add("data", "an array", "one object", LENIENT)
                data = [data]
            if not isinstance(data, list):
                self.add("data", "an array", _kind(data))
                return
            for index, item in enumerate(data[:20]):
                self._value(f"data[{index}]", item, item_type)
            return
        self._value("data", data, reply_type)

    def _value(self, where: str, value: Any, annotation: Any) -> None:
        model = _model_of(annotation)
        if model is None:
            return
        if not isinstance(value, dict):
            self.add(where, f"an object ({model.__name__})", _kind(value))
            return
        self._model(where, value, model)

    def _model(self, where: str, raw: dict[str, Any], model: type[HisReply]) -> None:
        spellings = _spellings(model)
        seen: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                continue
            found = spellings.get(key.strip().lower())
            if found is None:
                continue
            name, exact = found
            if key not in exact:
                wire = model.model_fields[name].alias or name
                self.add(f"{where}.{key.strip()}", f"the spec's spelling {wire!r}", repr(key), LENIENT)
            if value is not None or name not in seen:
                seen[name] = value
        for name, info in model.model_fields.items():
            wire = info.alias or name
            value = seen.get(name)
            path = f"{where}.{wire}"
            if value is None or (value == "" and not _is_text(info.annotation)):
                if wire in self.required and (info.is_required() or (value is None and name not in seen)):
                    self.add(path, "present (required by the spec)", "absent" if name not in seen else _kind(value))
                continue
            self._field(path, wire, value, info.annotation, self.descriptions.get(wire) or info.description or "")
        try:
            model.model_validate(raw)
        except ValidationError as invalid:
            if not any(d.field.startswith(where) and not d.absorbed for d in self.deviations):
                self.add(where, f"readable as {model.__name__}", describe_validation_error(invalid))

    def _field(self, path: str, wire: str, value: Any, annotation: Any, description: str) -> None:
        nested = _model_of(annotation)
        if nested is not None:
            if isinstance(value, list):
                for index, item in enumerate(value[:20]):
                    self._value(f"{path}[{index}]", item, nested)
            elif isinstance(value, dict):
                if _is_list(annotation):
                    self.add(path, "an array", "one object", LENIENT)
                self._model(path, value, nested)
            elif value != "":
                self.add(path, f"an object or array of {nested.__name__}", _kind(value))
            elif _is_list(annotation):
                self.add(path, "an array", "an empty string", LENIENT)
            return
        if _is_text(annotation) and isinstance(value, int | float) and not isinstance(value, bool):
            self.add(path, "a string", "a number", LENIENT)
        if _is_decimal(annotation) and isinstance(value, float):
            self.add(path, "an amount as a string with two decimals (元)", "a JSON number", LENIENT)
        time_format = _format_of(description) or self.shown_formats.get(wire)
        if isinstance(value, str) and value.strip() and time_format is not None:
            label, pattern = time_format
            if not pattern.match(value.strip()):
                absorbed = "none needed: the spec's own example writes it so" if wire in self.example_formats else None
                self.add(path, label, f"another format ({_kind(value)})", absorbed)
        table = DICTIONARY_FIELDS.get(wire.lower()) or next(
            (key for cited, key in DICTIONARIES_CITED.items() if cited in description), None
        )
        if (
            table is not None
            and isinstance(value, str | int)
            and value != ""
            and str(value).strip() not in _dictionary(table)
        ):
            self.add(path, f"a code of dictionaries.{table}", repr(str(value))[:24])


@cache
def _spellings(model: type[HisReply]) -> Mapping[str, tuple[str, frozenset[str]]]:
    """Each accepted spelling of a model's fields, lower-cased: (field name, the exact spellings the spec uses)."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    for name, info in model.model_fields.items():
        exact = {name, info.alias or name}
        if isinstance(info.validation_alias, AliasChoices):
            exact |= {c for c in info.validation_alias.choices if isinstance(c, str)}
        elif isinstance(info.validation_alias, str):
            exact.add(info.validation_alias)
        for spelling in exact:
            found.setdefault(spelling.lower(), (name, frozenset(exact)))
    return found


def _model_of(annotation: Any) -> type[HisReply] | None:
    if isinstance(annotation, type) and issubclass(annotation, HisReply):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) is list or any(_is_list(arg) for arg in get_args(annotation))


def _is_text(annotation: Any) -> bool:
    return annotation is str or any(_is_text(arg) for arg in get_args(annotation))


def _is_decimal(annotation: Any) -> bool:
    return annotation is Decimal or any(_is_decimal(arg) for arg in get_args(annotation))


def _decode(body: bytes) -> tuple[dict[str, Any] | None, Deviation | None]:
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, Deviation("<body>", "a JSON object (UTF-8)", f"not JSON ({exc.__class__.__name__})")
    if not isinstance(decoded, dict):
        return None, Deviation("<body>", "the envelope object {success, msg, code, data}", _kind(decoded))
    return decoded, None


def _absorbing(error: HisError, hospital: Hospital) -> str | None:
    """The registry setting that would fix a failed call, where one exists."""
    if isinstance(error, HisHttpError) and error.status in (404, 405):
        return f"method_paths (hospital {hospital.id}: the path or operation this method is served at)"
    if isinstance(error, HisTimeout):
        return f"timeout_s (now {hospital.timeout_s}s), if the method is only slow"
    if isinstance(error, HisProtocolError) and hospital.transport == "webservice":
        return "method_paths (the operation name), soap_style or soap_version"
    return None


def _selected(method: HisMethod[Any, Any], writes: bool) -> str | None:
    """Why a method is not called (None: it is)."""
    if method.access is Access.WRITE:
        if not writes:
            return "a write: called only with --writes"
        if method.section not in IDEMPOTENT_WRITES:
            return "a write the spec does not mark idempotent: never called by the probe"
    if method.envelope is Envelope.FILE:
        return "a file stream (a GET): fetched by reports, not probed"
    return None


async def probe(
    registry: Registry,
    hospital_id: str,
    *,
    card: str | None = None,
    id_card: str | None = None,
    name: str | None = None,
    writes: bool = False,
    timeout_s: float | None = None,
    methods: Iterable[HisMethod[Any, Any]] | None = None,
    client: HisClient | None = None,
) -> ProbeReport:
    """Probe every catalog method (or ``methods``) at one hospital; see the module's docstring."""
    hospital = registry.hospital(hospital_id)
    if hospital is None:
        raise ValueError(f"no hospital {hospital_id!r} in the registry")
    report = ProbeReport(
        hospital_id=hospital.id,
        hospital_name=hospital.name,
        transport=registry.upstream(hospital).transport,
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        writes=writes,
    )
    patient = {"card": card, "id_card": id_card, "name": name}
    learned: dict[str, Any] = {}
    own = client is None
    his = client or HisClient(registry, breaker_threshold=10_000)
    try:
        for method in methods or catalog.ALL_METHODS:
            variant = next((v for (s, v), m in catalog.BY_ENTRY.items() if m is method), None)
            result = MethodResult(method.section, variant, method.name, method.title, method.access.value, "pass")
            report.results.append(result)
            if not hospital.has_opened(method.name):
                result.status = "not_opened"
                continue
            reason = _selected(method, writes)
            if reason is not None:
                result.status, result.note = "skipped", reason
                continue
            entry = _entries()[(method.section, variant)]
            await _probe_one(his, hospital, method, entry, patient, learned, result, timeout_s)
    finally:
        if own:
            await his.aclose()
    return report


async def _probe_one(
    his: HisClient,
    hospital: Hospital,
    method: HisMethod[Any, Any],
    entry: Mapping[str, Any],
    patient: Mapping[str, str | None],
    learned: dict[str, Any],
    result: MethodResult,
    timeout_s: float | None,
) -> None:
    # Every example of the spec carries hospitalId (some as ""): the probe names the hospital it calls.
    body = {**build_request(entry, patient, learned), "hospitalId": hospital.id}
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    started = time.perf_counter()
    reply = await _exchange(his, hospital, method, payload, result, timeout_s)
    result.ms = (time.perf_counter() - started) * 1000
    if reply is None:
        result.status = "deviation"
        return
    checker = _Checker(method, entry)
    code = checker.envelope(reply)
    success = reply.get("success")
    succeeded = success is True or (success is None and code == ReturnCode.SUCCESS) or code == ReturnCode.SUCCESS
    known = ReturnCode.parse(code)
    if code == ReturnCode.NO_DATA:
        result.status, result.note = "no_data", "10002 for the test patient: probe again with a patient who has data"
    elif known is not None and code.startswith("6") and known is not ReturnCode.HOSPITAL_NOT_FOUND:
        result.status = "refused"
        result.note = (
            f"{code} {known.meaning}: a business answer of 附四 to the probe's example request;"
            " the envelope is right, the business rule needs real data to check"
            + REFUSAL_HINTS.get((method.section, code), "")
        )
    elif not succeeded or code != ReturnCode.SUCCESS:
        checker.add(
            "code",
            "10001 (or 10002: no data) for the test patient",
            f"{code or 'none'} {known.meaning if known else ''}".strip(),
        )
    else:
        if method.envelope is Envelope.TOP_LEVEL:
            data: Any = {k: v for k, v in reply.items() if k not in ("success", "msg", "code", "message")}
        else:
            data = reply.get("data")
        if method.envelope is not Envelope.TOP_LEVEL and data is None and _model_of(method.reply) is not None:
            checker.add("data", "the reply's data", "absent")
        else:
            checker.data(data)
        _learn(data, learned)
    if method.access is Access.WRITE:
        await _check_idempotent(his, hospital, method, payload, reply, checker, timeout_s)
    result.deviations = _collapse(checker.deviations + result.deviations)
    if any(not d.absorbed for d in result.deviations):
        result.status = "deviation"


async def _exchange(
    his: HisClient,
    hospital: Hospital,
    method: HisMethod[Any, Any],
    payload: bytes,
    result: MethodResult,
    timeout_s: float | None,
) -> dict[str, Any] | None:
    """One call within its own deadline: the decoded envelope, or None with the deviation added to ``result``."""
    try:
        raw = await _send(his, hospital, method, payload, timeout_s)
    except HisError as error:
        result.deviations.append(
            Deviation("<call>", "an answer within the deadline", f"{error.code}: {error}", _absorbing(error, hospital))
        )
        return None
    if raw.status != 200:
        refusal = HisHttpError(f"HTTP {raw.status}", hospital_id=hospital.id, method=method.name, status=raw.status)
        result.deviations.append(Deviation("<http>", "HTTP 200", f"HTTP {raw.status}", _absorbing(refusal, hospital)))
        return None
    reply, broken = _decode(raw.body)
    if broken is not None:
        result.deviations.append(broken)
    return reply


async def _send(
    his: HisClient, hospital: Hospital, method: HisMethod[Any, Any], payload: bytes, timeout_s: float | None
) -> RawReply:
    """The hospital's raw reply, each try under a deadline of its own. A try whose time ran out in the probe's own
    process (GatewaySaturated: its loop stalled on a loaded machine) says nothing about the HIS, and every call
    the probe makes is a read or an idempotent write: it is asked again, ``OWN_STALL_ATTEMPTS`` times at most."""
    upstream = his.registry.upstream(hospital)
    for attempt in range(1, OWN_STALL_ATTEMPTS + 1):
        deadline = asyncio.get_running_loop().time() + (timeout_s or hospital.timeout_s)
        try:
            return await his.send_unparsed(method, upstream, payload, hospital_id=hospital.id, deadline=deadline)
        except GatewaySaturated:
            if attempt == OWN_STALL_ATTEMPTS:
                raise
    raise AssertionError("unreachable: the last try returns or raises")


async def _check_idempotent(
    his: HisClient,
    hospital: Hospital,
    method: HisMethod[Any, Any],
    payload: bytes,
    first: dict[str, Any],
    checker: _Checker,
    timeout_s: float | None,
) -> None:
    """A write the spec marks idempotent, sent again with the same parameters, must answer the same
    (约定: "使用相同参数可重复执行，并能获得相同结果")."""
    again = MethodResult(method.section, None, method.name, method.title, method.access.value, "pass")
    second = await _exchange(his, hospital, method, payload, again, timeout_s)
    if second is None:
        checker.deviations += [
            Deviation(f"second call: {d.field}", d.expected, d.received, d.absorbed_by, d.absorbed)
            for d in again.deviations
        ]
        return
    same_code = str(first.get("code", "")).strip() == str(second.get("code", "")).strip()
    differing = sorted(
        key for key in {*first, *second} - {"msg", "message"} if first.get(key) != second.get(key) and key != "code"
    )
    if isinstance(first.get("data"), dict) and isinstance(second.get("data"), dict):
        data_first, data_second = first["data"], second["data"]
        differing = [k for k in differing if k != "data"] + sorted(
            f"data.{key}" for key in {*data_first, *data_second} if data_first.get(key) != data_second.get(key)
        )
    if not same_code or differing:
        checker.add(
            "idempotence",
            "the same answer to the same parameters (the spec's 幂等原则)",
            "another code on the second call" if not same_code else f"other values in {', '.join(differing)[:200]}",
        )


def _collapse(deviations: list[Deviation]) -> list[Deviation]:
    """One line per field and kind of deviation, whatever the record (``data[*].x``): a long list says it once."""
    unique: dict[tuple[str, str, str], Deviation] = {}
    for deviation in deviations:
        where = re.sub(r"\[\d+\]", "[*]", deviation.field)
        unique.setdefault(
            (where, deviation.expected, deviation.received),
            Deviation(where, deviation.expected, deviation.received, deviation.absorbed_by, deviation.absorbed),
        )
    return list(unique.values())
