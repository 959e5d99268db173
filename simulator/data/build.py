"""Builds one hospital's data deterministically from (seed, hospital id)."""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime, timedelta
from decimal import Decimal

from simulator.data import examples, vocab
from simulator.data.model import (
    Department,
    Deposit,
    Doctor,
    Hospital,
    InpatientStay,
    Patient,
    PendingItem,
    Recharge,
    Report,
    Trade,
    Visit,
    beijing_now,
)

GENERATED_PATIENTS = 24
REPORT_KINDS = ("lab", "pacs", "exam", "ecg", "pathology")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def stable_int(*parts: object) -> int:
    """A process-independent hash (str hash is salted per process)."""
    return zlib.crc32("|".join(str(part) for part in parts).encode())


def id_card_number(area: str, born: date, serial: int) -> str:
    body = f"{area}{born:%Y%m%d}{serial:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


class _Builder:
    def __init__(self, hospital: Hospital, rng: random.Random, now: datetime) -> None:
        self.hospital = hospital
        self.rng = rng
        self.now = now

    def seq(self, prefix: str) -> str:
        return self.hospital.next_id(prefix)

    def doctor_name(self) -> str:
        return self.rng.choice(vocab.DOCTOR_NAMES)

    def departments(self) -> None:
        for type_id, type_name, depts in vocab.DEPARTMENT_TYPES:
            for dept_id, name, addr in depts:
                self.hospital.departments.append(Department(dept_id, name, addr, type_id, type_name))
        known = {dept.dept_id for dept in self.hospital.departments}
        for dept_id, name, addr, *_ in examples.EXAMPLE_DOCTORS:
            if dept_id not in known:
                known.add(dept_id)
                self.hospital.departments.append(Department(dept_id, name, addr, "mz", "门诊"))
        for dept in self.hospital.departments:
            for index in range(2):
                title, class_name, fee = vocab.TITLES[(stable_int(dept.dept_id, index) + index) % 4]
                doctor_id = f"{dept.dept_id}{index + 1:02d}"
                name = self.rng.choice(vocab.SURNAMES) + self.rng.choice(vocab.GIVEN_MALE + vocab.GIVEN_FEMALE)
                self.hospital.doctors[doctor_id] = Doctor(
                    doctor_id,
                    name,
                    dept.dept_id,
                    dept.name,
                    dept.addr,
                    title,
                    f"{dept.dept_id}-{index}",
                    class_name,
                    fee,
                )
        for dept_id, dept_name, addr, doctor_id, name, title, class_id, class_name, fee in examples.EXAMPLE_DOCTORS:
            self.hospital.doctors[doctor_id] = Doctor(
                doctor_id, name, dept_id, dept_name, addr, title, class_id, class_name, fee
            )

    def person(self, index: int) -> Patient:
        rng = self.rng
        sex = rng.choice("男女")
        name = rng.choice(vocab.SURNAMES) + rng.choice(vocab.GIVEN_MALE if sex == "男" else vocab.GIVEN_FEMALE)
        area, province, city, district = rng.choice(vocab.AREAS)
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 80))
        serial = rng.randrange(0, 500) * 2 + (1 if sex == "男" else 0)
        street = f"{rng.choice(vocab.STREETS)}{rng.randrange(1, 300)}号"
        address = f"{province}{city}{district}{street}{rng.choice(vocab.COMMUNITIES)}"
        card = f"0010{self.hospital.hospital_id[-3:].zfill(3)}{index:08d}"
        return Patient(
            patient_id=self.seq("P"),
            name=name,
            sex=sex,
            birthdate=born,
            id_card=id_card_number(area, born, serial % 1000),
            phone=f"1{rng.choice('3578')}{rng.randrange(10**8, 10**9)}",
            address=address,
            cards=[card],
            balance=Decimal(rng.randrange(0, 50000)) / 100,
        )

    def example_person(self, person: examples.ExamplePerson) -> Patient:
        return Patient(
            patient_id=self.seq("P"),
            name=person.name,
            sex=person.sex,
            birthdate=person.birthdate,
            id_card=person.id_card,
            phone=person.phone,
            address=person.address,
            cards=list(person.cards),
            balance=Decimal("200.63"),
        )

    def pending(self, patient: Patient, count: int) -> None:
        for _ in range(count):
            name, unit, price, _category = self.rng.choice(vocab.DRUGS)
            patient.pending.append(
                PendingItem(
                    self.seq("D"),
                    name,
                    price,
                    self.rng.randrange(1, 4),
                    unit,
                    self.doctor_name(),
                    self.seq("CF"),
                    self.now - timedelta(hours=2),
                )
            )

    def report(self, patient: Patient, kind: str, at: datetime, report_id: str | None = None) -> Report:
        rng = self.rng
        items = {
            "lab": rng.choice(vocab.LAB_ITEMS)[0],
            "pacs": rng.choice(vocab.PACS_ITEMS)[0],
            "exam": "入职体检套餐",
            "ecg": "十二导联心电图",
            "pathology": "胃镜活检组织病理检查",
        }
        item = items[kind]
        report_id = report_id or self.seq(kind[0].upper())
        dcm_ids = (f"{report_id}-1", f"{report_id}-2") if kind == "pacs" else ()
        report = Report(
            kind,
            report_id,
            item,
            at,
            self.doctor_name(),
            rng.choice(["心内科", "消化内科", "呼吸内科", "骨科"]),
            "reviewed",
            rng.random() < 0.2,
            dcm_ids,
        )
        patient.reports.append(report)
        return report

    def visit(
        self, patient: Patient, at: datetime, visit_id: str | None = None, invoice_id: str | None = None
    ) -> Visit:
        rng = self.rng
        lines: list[tuple[str, str, Decimal, int]] = []
        for name, _unit, price, category in rng.sample(vocab.DRUGS, 2):
            lines.append((category, name, price, rng.randrange(1, 3)))
        name, price, category = rng.choice(vocab.EXAMS)
        lines.append((category, name, price, 1))
        visit = Visit(
            visit_id=visit_id or self.seq("V"),
            invoice_id=invoice_id or self.seq("I"),
            prescription_id=visit_id or self.seq("RX"),
            time=at,
            dept=rng.choice(["呼吸内科", "消化内科", "心内科", "神经内科"]),
            doctor=self.doctor_name(),
            diagnosis=rng.choice(vocab.DIAGNOSES),
            complaint=rng.choice(vocab.COMPLAINTS),
            lines=lines,
        )
        patient.visits.append(visit)
        return visit

    def stay(
        self,
        patient: Patient,
        admitted: datetime,
        discharged: datetime | None,
        *,
        stay_id: str | None = None,
        admission: str | None = None,
    ) -> InpatientStay:
        rng = self.rng
        ward = rng.choice(vocab.WARDS)
        stay = InpatientStay(
            stay_id=stay_id or self.seq("S"),
            admission_number=admission or self.seq("Z"),
            dept=ward.removesuffix("病区"),
            ward=ward,
            bed=str(rng.randrange(1, 60)),
            doctor=self.doctor_name(),
            diagnosis=rng.choice(vocab.DIAGNOSES),
            admitted=admitted,
            discharged=discharged,
        )
        for index in range(rng.randrange(1, 3)):
            stay.deposits.append(
                Deposit(
                    self.seq("ZYYJ-"),
                    Decimal(rng.choice([1000, 2000, 3000, 5000])),
                    rng.choice(["百灵微信", "现金", "银联卡"]),
                    admitted + timedelta(hours=index * 30),
                    self.seq("YJ"),
                    stay.admission_number,
                )
            )
        patient.stays.append(stay)
        return stay

    def trade(
        self,
        patient: Patient,
        trade_no: str,
        amount: Decimal,
        at: datetime,
        *,
        refund_no: str = "",
        category: str = "outpatient",
    ) -> None:
        body = {"outpatient": "诊间支付", "recharge": "就诊卡充值", "inpatient": "住院押金", "registration": "挂号"}[
            category
        ]
        self.hospital.trades.append(
            Trade(trade_no, refund_no, amount, at, "WeChatPay", body, patient.name, patient.card, category)
        )

    def generated_patient(self, index: int) -> Patient:
        patient = self.person(index)
        rng = self.rng
        self.pending(patient, rng.randrange(0, 4))
        for _ in range(rng.randrange(1, 3)):
            self.visit(patient, self.now - timedelta(days=rng.randrange(1, 700), hours=rng.randrange(0, 8)))
        for kind in REPORT_KINDS:
            if rng.random() < 0.6:
                self.report(patient, kind, self.now - timedelta(days=rng.randrange(0, 400), hours=rng.randrange(0, 8)))
        if rng.random() < 0.3:
            admitted = self.now - timedelta(days=rng.randrange(1, 20), hours=rng.randrange(0, 10))
            self.stay(patient, admitted, None)
        return patient

    def full_example_patient(self, patient: Patient) -> None:
        """Records of every kind inside every example query window, plus recent ones."""
        recent = (self.now - timedelta(days=3), self.now - timedelta(days=40))
        for at in (*examples.EXAMPLE_ANCHORS, *recent):
            for kind in REPORT_KINDS:
                self.report(patient, kind, at)
            self.visit(patient, at)
            self.trade(patient, self.seq("ZJZF-"), patient.visits[-1].total, at)
        self.pending(patient, 2)
        stay = self.stay(patient, datetime(2017, 12, 28, 10, 2, 23), None)
        stay.bed = "12"
        self.stay(patient, datetime(2016, 3, 1, 9, 0, 0), datetime(2016, 3, 12, 10, 0, 0))

    def zhang_san(self, patient: Patient) -> None:
        created = self.now - timedelta(hours=1)
        for item_id, item, price, quantity, unit, pres_code in (*examples.PENDING_PAYABLE, *examples.PENDING_OTHER):
            patient.pending.append(PendingItem(item_id, item, price, quantity, unit, "李时珍", pres_code, created))
        for recharge_no, amount, left in examples.RECHARGES:
            patient.recharges.append(Recharge(recharge_no, amount, left, datetime(2020, 6, 23, 13, 44, 0)))
        anchor = examples.EXAMPLE_ANCHORS[0]
        for kind, report_id in examples.REPORT_IDS.items():
            self.report(patient, kind, anchor, report_id)
        pacs = self.report(patient, "pacs", anchor, examples.PACS_DCM_REPORT_ID)
        pacs.dcm_ids = examples.DCM_IDS
        self.visit(patient, examples.EXAMPLE_ANCHORS[5], examples.VISIT_ID, examples.INVOICE_IDS[0])
        for invoice_id in examples.INVOICE_IDS[1:]:
            self.visit(patient, examples.EXAMPLE_ANCHORS[2], invoice_id=invoice_id)
        stay = self.stay(
            patient,
            datetime(2017, 12, 28, 10, 2, 23),
            None,
            stay_id=examples.STAY_ID,
            admission=examples.ADMISSION_NUMBER,
        )
        stay.ward, stay.dept, stay.bed, stay.diagnosis, stay.doctor = (
            "康复医学科病区",
            "康复医学科",
            "12",
            "脑梗死恢复期",
            "华佗",
        )
        self.trade(patient, "ZJZF-SCXRMYY-18062229155", Decimal("65.10"), datetime(2019, 4, 1, 17, 32, 1))
        self.trade(
            patient,
            "ZJZF-SCXRMYY-18062229155",
            Decimal("-65.10"),
            datetime(2019, 4, 2, 9, 12, 21),
            refund_no="RE202006231344002295",
        )
        self.trade(
            patient,
            "ZJZF-SCXRMYY-18062229055",
            Decimal("-23.50"),
            datetime(2019, 4, 1, 17, 32, 1),
            refund_no=examples.CARD_REFUND_NO,
        )


def build_hospital(hospital_id: str, *, seed: int, now: datetime | None = None) -> Hospital:
    """One hospital: generated patients plus every person and identifier the examples name."""
    now = now or beijing_now()
    name_index = stable_int(seed, hospital_id) % len(vocab.HOSPITAL_NAMES)
    hospital = Hospital(hospital_id, vocab.HOSPITAL_NAMES[name_index])
    rng = random.Random(stable_int(seed, hospital_id))  # noqa: S311 - simulated data, not secrets
    builder = _Builder(hospital, rng, now)
    builder.departments()
    zhang_san = builder.example_person(examples.ZHANG_SAN)
    builder.zhang_san(zhang_san)
    builder.full_example_patient(zhang_san)
    hospital.add_patient(zhang_san)
    for placeholder in examples.ZHANG_SAN.spec_placeholders:
        hospital.by_card.setdefault(placeholder, zhang_san)  # the spec's examples answered, never listed
    for person in examples.OTHER_EXAMPLE_PEOPLE:
        patient = builder.example_person(person)
        builder.full_example_patient(patient)
        hospital.add_patient(patient)
    for index in range(GENERATED_PATIENTS):
        hospital.add_patient(builder.generated_patient(index))
    wang_zhen = hospital.by_card[examples.WANG_ZHEN.cards[0]]
    for stay in wang_zhen.stays:
        if stay.in_hospital:  # in arrears, so 11.1.1 always has someone to list
            stay.deposits = stay.deposits[:1]
            stay.deposits[0].amount = Decimal("1000")
    for patient in hospital.patients:
        hospital.index_patient_records(patient)
    for alias in examples.STAY_ALIASES:
        hospital.stays_by_id[alias] = hospital.stays_by_id[examples.STAY_ID]
        hospital.stay_owner[alias] = zhang_san
    return hospital
