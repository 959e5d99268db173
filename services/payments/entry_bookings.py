"""Pricing paid bookings of exams and items: physical exams, lab appointments, self-chosen items."""

from __future__ import annotations

import uuid
from decimal import Decimal

from his_clients.errors import HisError
from his_clients.models.lab_appointments import (
    PROJECT_APPT_GET_PROJECT_SCHEDULE,
    PROJECT_APPT_SAVE_APPT_INFO,
    ProjectApptGetProjectScheduleRequest,
    ProjectApptSaveApptInfoRequest,
)
from his_clients.models.physical_exam import PHYSICAL_GET_PACKAGE_LIST, PhysicalGetPackageListRequest
from his_clients.models.self_order import (
    SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST,
    SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE,
    SelectedGroup,
    SelectedItem,
    SelfPrescriptionGetSelfHisChargeListRequest,
    SelfPrescriptionSelfAppointmentDateRequest,
)

from .entry_base import HospitalAsk, PricedOrder
from .quotes import ChosenGroup, LabAppointmentQuote, PhysicalExamQuote, SelfOrderQuote
from .results import PAYMENT_EXPIRES_AFTER, ZERO, QuoteUnavailable, require_part
from .sagas.lab_appointment import LabAppointmentFlow
from .sagas.physical_exam import PhysicalExamFlow
from .sagas.self_order import SelfOrderFlow


async def physical_exam_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    id_card: str,
    name: str,
    sex: str,
    package_ids: list[str],
    date: str,
    tel_no: str | None,
    profession_code: str | None,
    org_id: str | None,
    group_id: str | None,
) -> PricedOrder:
    """An order for exam packages at the acPrice 28.1.1 quotes now; 28.1.6 books them after payment.

    `date` is the booking time as 28.1.6 writes it (yyyy-MM-dd HH:mm). Extra items (itemIds) are not
    offered: 28.1.1 quotes packages only.
    """
    packages = await ask.his.call(
        PHYSICAL_GET_PACKAGE_LIST,
        hospital_id,
        PhysicalGetPackageListRequest(
            id_card=id_card, medical_card_number=medical_card_number, profession_code=profession_code
        ),
        deadline=ask.deadline(),
    )
    prices = {package.package_id: package.ac_price for package in packages}
    unknown = [package for package in package_ids if package not in prices]
    if not package_ids or unknown:
        raise QuoteUnavailable(f"28.1.1 quotes no package {unknown or package_ids}")
    total = sum((prices[package] for package in package_ids), ZERO)
    snapshot = PhysicalExamQuote(
        amount=total,
        prices={package: prices[package] for package in package_ids},
        package_ids=tuple(package_ids),
        patient_name=name,
        sex=sex,
        id_card=id_card,
        tel_no=tel_no,
        profession_code=profession_code,
        date=date,
        org_id=org_id,
        group_id=group_id,
    )
    return PricedOrder(
        business_type=PhysicalExamFlow.business_type,
        description="体检预约",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=total,
        quote=snapshot,
    )


async def lab_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    patient_name: str,
    sex: str,
    telephone: str,
    project_id: str,
    scheduling_id: str,
    source_id: str | None,
    id_card: str | None,
) -> PricedOrder:
    """Lock the slot with 33.1.3 (our recordId) at the price 33.1.1 quotes, then the order; 33.1.4 follows.

    The total is the project's price plus its 诊查费 (inspectingPrice) when 33.1.1 names one. An unknown
    project or schedule, or a refused lock, raises QuoteUnavailable; no order is written.
    """
    try:
        projects = await ask.his.call(
            PROJECT_APPT_GET_PROJECT_SCHEDULE,
            hospital_id,
            ProjectApptGetProjectScheduleRequest(),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("33.1.1 quoted no project", code=error.code) from error
    project = next((p for p in projects if p.project_id == project_id), None)
    if project is None or not any(s.scheduling_id == scheduling_id for s in project.schedule_list):
        raise QuoteUnavailable(f"33.1.1 quotes no project {project_id} on schedule {scheduling_id}")
    total = project.project_price + (project.inspecting_price or ZERO)
    record_id = uuid.uuid4().hex
    lock = ProjectApptSaveApptInfoRequest(
        medical_card_number=medical_card_number,
        id_card_no=id_card,
        pat_name=patient_name,
        sex=sex,
        telephone=telephone,
        source_id=source_id,
        scheduling_id=scheduling_id,
        lock_time=str(int(PAYMENT_EXPIRES_AFTER.total_seconds() // 60)),
        project_id=project_id,
        record_id=record_id,
    )
    try:
        locked = await ask.his.call(PROJECT_APPT_SAVE_APPT_INFO, hospital_id, lock, deadline=ask.deadline())
    except HisError as error:
        raise QuoteUnavailable("33.1.3 refused the slot", code=error.code) from error
    snapshot = LabAppointmentQuote(
        amount=total,
        project_price=project.project_price,
        inspecting_price=project.inspecting_price,
        project_id=project_id,
        project_name=project.project_name,
        scheduling_id=scheduling_id,
        source_id=source_id,
        record_id=record_id,
        time_point=locked.time_point,
        patient_name=patient_name,
        sex=sex,
        telephone=telephone,
        id_card=id_card,
    )
    return PricedOrder(
        business_type=LabAppointmentFlow.business_type,
        description="检验项目预约",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=total,
        quote=snapshot,
    )


async def self_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    groups: dict[str, list[str]],
    appointment_date: str,
    patient_name: str | None,
    id_card: str | None,
    balance_payment: Decimal,
) -> PricedOrder:
    """An order for self-chosen items (29.1.1 prices them now) on a date 29.1.2 offers; 29.1.3 follows payment.

    `groups` maps each chosen groupId to its chosen itemIds (empty: every item of the group). The total
    is the sum of the chosen items' prices. Anything 29.1.1 does not list, or a date 29.1.2 does not
    offer, raises QuoteUnavailable; no order is written.
    """
    try:
        departments = await ask.his.call(
            SELF_PRESCRIPTION_GET_SELF_HIS_CHARGE_LIST,
            hospital_id,
            SelfPrescriptionGetSelfHisChargeListRequest(medical_card_number=medical_card_number, id_card=id_card),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("29.1.1 quoted no items", code=error.code) from error
    listed = {group.group_id: group for department in departments for group in department.group}
    chosen: dict[str, list[str]] = {}
    prices: dict[str, Decimal] = {}
    total = ZERO
    for group_id, item_ids in groups.items():
        group = listed.get(group_id)
        if group is None:
            raise QuoteUnavailable(f"29.1.1 lists no group {group_id}")
        items = {item.item_id: item.price for item in group.item}
        wanted = item_ids or list(items)
        unknown = [item for item in wanted if item not in items]
        if not wanted or unknown:
            raise QuoteUnavailable(f"29.1.1 lists no item {unknown or wanted} in group {group_id}")
        chosen[group_id] = wanted
        for item in wanted:
            prices[item] = items[item]
            total += items[item]
    if not chosen:
        raise QuoteUnavailable("nothing chosen")
    selection = [
        SelectedGroup(group_id=group_id, item=[SelectedItem(item_id=item) for item in items])
        for group_id, items in chosen.items()
    ]
    try:
        dates = await ask.his.call(
            SELF_PRESCRIPTION_SELF_APPOINTMENT_DATE,
            hospital_id,
            SelfPrescriptionSelfAppointmentDateRequest(
                medical_card_number=medical_card_number, id_card=id_card, group=selection
            ),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("29.1.2 offered no date", code=error.code) from error
    if not any(d.appointment_date == appointment_date and d.count.strip() not in ("", "0") for d in dates):
        raise QuoteUnavailable(f"29.1.2 does not offer {appointment_date}")
    balance_payment = require_part(balance_payment, total=total)
    snapshot = SelfOrderQuote(
        amount=total,
        groups=tuple(ChosenGroup(group_id=group_id, item_ids=tuple(items)) for group_id, items in chosen.items()),
        prices=prices,
        appointment_date=appointment_date,
        patient_name=patient_name,
        id_card=id_card,
    )
    return PricedOrder(
        business_type=SelfOrderFlow.business_type,
        description="自选套餐",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=total,
        balance_payment=balance_payment,
        quote=snapshot,
    )
