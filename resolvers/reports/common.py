"""What every kind of report shares: why one is withheld, whose it is, which time window is asked.

Also what the kinds would otherwise repeat: one hospital's list entry (``ReportsAtHospital``) and
the link to the PDF a detail names (``pdf_link``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Generic, Self, TypeVar

import strawberry
from strawberry.types.enum import StrawberryEnumDefinition

from his_clients.errors import HisError
from his_clients.method import HisMethod, ReplyT, RequestT
from his_clients.models.cards import QUERY_PATIENT_INFO, QueryPatientInfoRequest
from services.cards import get_patient_info
from services.files import WithheldReason, withheld_reason
from services.payments.clock import CHINA_TIME
from services.refusals import RefusalCode, Refused

from ..arguments import beijing, in_order, spec_instant
from ..context import Info
from ..files import file_url
from ..hospitals.entry import HospitalEntry
from ..hospitals.types import Hospital

DEFAULT_WINDOW_DAYS = 365
"""Report lists look back this far when no startTime is given."""


ReportWithheldReason = strawberry.enum(
    WithheldReason,
    name="ReportWithheldReason",
    description="Why a report's details and files are not shown to the patient.",
)
_WITHHELD_MEANINGS = {
    WithheldReason.SENSITIVE: "敏感报告 (isPositive 1): shown to the patient only at the hospital.",
    WithheldReason.NOT_AUDITED: "reportStatus 1: not audited yet, or recalled after auditing (审核之后又召回).",
    WithheldReason.RESTRICTED: (
        "41.1.1 reportStatus 3: audited but sensitive, and this hospital does not show such reports online."
    ),
    WithheldReason.NOT_FINISHED: "isFinished 0: the physical exam's summary (总检) is not done yet.",
}
# The enum lives in services (no strawberry there), so its values get their GraphQL descriptions here.
_DEFINITION: StrawberryEnumDefinition = vars(ReportWithheldReason)["__strawberry_definition__"]
for _value in _DEFINITION.values:
    _value.description = _WITHHELD_MEANINGS[WithheldReason(_value.value)]

_MESSAGES = {
    WithheldReason.SENSITIVE: "该报告为敏感报告，不支持线上查看详情，请到医院咨询。",
    WithheldReason.NOT_AUDITED: "报告尚未审核（或已被召回），暂不能查看。",
    WithheldReason.RESTRICTED: "根据医院规定，该报告不支持线上查看，请到医院咨询。",
    WithheldReason.NOT_FINISHED: "体检报告尚未总检完成，暂不能查看。",
}


@strawberry.enum(description="Which of the patient's reports to list (patType); leave it out for all.")
class ReportPatientType(Enum):
    OUTPATIENT = strawberry.enum_value("1", description="门诊: outpatient reports.")
    INPATIENT = strawberry.enum_value("2", description="住院: inpatient reports.")
    PHYSICAL_EXAM = strawberry.enum_value("3", description="体检: physical-examination reports.")
    GREEN_CHANNEL = strawberry.enum_value("4", description="绿色通道: fast-track reports.")
    OTHER = strawberry.enum_value("5", description="其他: any other.")

    @classmethod
    def read(cls, text: str | None) -> ReportPatientType | None:
        """The spec's patType code; null for one it does not know."""
        return next((kind for kind in cls if str(kind.value) == (text or "").strip()), None)


@strawberry.enum(description="A special kind of report that needs its own display (specialTypes).")
class ReportSpecialType(Enum):
    NUCLEIC_ACID_SINGLE = strawberry.enum_value("NucleicAcidSingleTesting", description="核酸单检: single test.")
    NUCLEIC_ACID_MIXED = strawberry.enum_value("NucleicAcidMixedTesting", description="核酸混检: pooled test.")
    MICROBIOLOGY_POSITIVE = strawberry.enum_value(
        "MicrobiologicalTestingPositive", description="微生物检测阳性: microbiology, positive."
    )
    MICROBIOLOGY_NEGATIVE = strawberry.enum_value(
        "MicrobiologicalTestingNegative", description="微生物检测阴性: microbiology, negative."
    )

    @classmethod
    def read(cls, text: str | None) -> ReportSpecialType | None:
        """The spec's specialTypes; null for an ordinary report or a kind the spec does not know."""
        return next((kind for kind in cls if str(kind.value).lower() == (text or "").strip().lower()), None)


@strawberry.type(
    description=(
        "A report that exists but whose details and files are not shown to the patient: sensitive (isPositive 1), "
        "not audited or recalled (reportStatus 1), restricted by the hospital (41.1.1 reportStatus 3), or a "
        "physical exam not yet summarised (isFinished 0)."
    )
)
class ReportWithheld:
    reason: WithheldReason = strawberry.field(description="Why it is withheld.")
    message: str = strawberry.field(description="A sentence to show the patient, in Chinese.")

    @classmethod
    def of(cls, reason: WithheldReason) -> ReportWithheld:
        return cls(reason=reason, message=_MESSAGES[reason])

    @classmethod
    def check(
        cls,
        *,
        is_positive: str | None = None,
        report_status: str | None = None,
        is_finished: str | None = None,
        show_restricted: bool = False,
    ) -> ReportWithheld | None:
        """The spec's rule (services.files.withheld_reason) as GraphQL data; None when the report may be shown."""
        reason = withheld_reason(
            is_positive=is_positive,
            report_status=report_status,
            is_finished=is_finished,
            show_restricted=show_restricted,
        )
        return None if reason is None else cls.of(reason)


def registry_hospital(info: Info, hospital_id: str) -> Hospital | None:
    found = info.context.registry.hospital(hospital_id)
    return Hospital.from_registry(found) if found else None


Report = TypeVar("Report")


@strawberry.type
class ReportsAtHospital(HospitalEntry, Generic[Report]):
    """One hospital's entry in a report list; each kind subclasses it with its own report type and description.

    Only the subclasses reach the schema, each under its own class name, each a ``HospitalEntry``.
    """

    reports: list[Report] = strawberry.field(description="Its reports in the window, newest first.")

    @classmethod
    def none(cls, hospital_id: str) -> Self:
        return cls(hospital_id=strawberry.ID(hospital_id), reports=[])


def pdf_link(
    info: Info,
    pdf_url: str | None,
    *,
    hospital_id: str,
    method: HisMethod[RequestT, ReplyT],
    request: RequestT,
    filename: str,
) -> str | None:
    """A download link to the PDF a detail reply names (pdfUrl), fetched again through that call; None without one."""
    if not pdf_url:
        return None
    return file_url(
        info,
        hospital_id=hospital_id,
        method=method,
        request=request,
        kind="url",
        field="pdfUrl",
        filename=filename,
        content_type="application/pdf",
    )


def listed_hospital_id(labelled: bool) -> str | None:
    """The hospitalId a detail request carries: the hospital's (None: the client writes it) when the list
    labelled the report, else ``""``, which the client sends as no hospitalId at all, as 40.1.2 and 41.1.2
    ask ("如果接口…未返回hospitalId字段或返回的字段值为null或空字符串，则调用此接口时不会传递此参数")."""
    return None if labelled else ""


def shows_restricted_pathology(info: Info, hospital_id: str) -> bool:
    found = info.context.registry.hospital(hospital_id)
    return bool(found and found.show_audited_sensitive_pathology)


def window(start: datetime | None, end: datetime | None) -> tuple[str, str]:
    """The spec's ``yyyy-MM-dd HH:mm:ss`` window in Beijing time; by default the last ``DEFAULT_WINDOW_DAYS`` days
    up to now. A ``from`` after ``to`` is refused (PARAMETER_RANGE)."""
    last = beijing(end) if end is not None else datetime.now(UTC).astimezone(CHINA_TIME)
    first = beijing(start) if start is not None else last - timedelta(days=DEFAULT_WINDOW_DAYS)
    in_order(first, last)
    return spec_instant(first), spec_instant(last)


@dataclass(frozen=True, slots=True)
class CardHolder:
    """Who holds a card: 16.1.1, 40.1.1 and 41.1.1 require the patient's name, 34.1.1 the ID number."""

    name: str
    id_card: str | None


class CardHolderUnknown(Refused):
    """Neither the platform nor any hospital asked knows the card (附四 20215; the number is not repeated)."""

    def __init__(self, medical_card_number: str) -> None:
        super().__init__(RefusalCode.CARD_NOT_FOUND_20215)
        self.medical_card_number = medical_card_number


async def card_holder(info: Info, medical_card_number: str, hospital_ids: list[str]) -> CardHolder:
    """The platform's own card record (1.3.x) first; else the first hospital asked that knows the card (2.1.1)."""
    record = await get_patient_info(info.context.services.db, medical_card_number)
    if record is not None and record.name:
        return CardHolder(name=record.name, id_card=record.id_card_number)
    last_error: HisError | None = None
    for hospital_id in hospital_ids:
        try:
            patient = await info.context.loaders.his(
                QUERY_PATIENT_INFO, hospital_id, QueryPatientInfoRequest(medical_card_number=medical_card_number)
            )
        except HisError as error:
            last_error = error
            continue
        return CardHolder(name=patient.name, id_card=patient.id_card_no or None)
    if last_error is not None and last_error.code not in ("10002", "20215", "60506"):
        raise last_error
    raise CardHolderUnknown(medical_card_number)
