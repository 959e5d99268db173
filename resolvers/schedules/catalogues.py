"""What the hospital sells online (互联网医院, 25.1.3-25.1.6): drugs, lab tests, examinations and their prices."""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_QUERY_HOSPITAL_DRUG_CHARGE,
    INTERNET_HOSPITAL_QUERY_HOSPITAL_LIS_CHARGE,
    INTERNET_HOSPITAL_QUERY_HOSPITAL_PACS_CHARGE,
    INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE,
    InternetHospitalQueryHospitalDrugChargeRequest,
    InternetHospitalQueryHospitalLisChargeRequest,
    InternetHospitalQueryHospitalPacsChargeRequest,
    InternetHospitalQueryHospitalSingleChargeRequest,
)

from ..context import Info
from ..scalars import Money
from .common import ask_hospital


@strawberry.enum(description="What kind of charge item (chargeType of 25.1.6).")
class ChargeKind(Enum):
    EXAMINATION = strawberry.enum_value(1, description="检查.")
    LAB_TEST = strawberry.enum_value(2, description="检验.")
    DRUG = strawberry.enum_value(3, description="处方 (a drug).")


async def current_price(info: Info, hospital_id: str, charge_id: str, kind: ChargeKind) -> Money | None:
    request = InternetHospitalQueryHospitalSingleChargeRequest(charge_id=charge_id, charge_type=kind.value)
    reply = await ask_hospital(info, hospital_id, INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE, request)
    return Money(reply) if reply is not None else None


_CURRENT_PRICE = (
    "The item's price now (获取单个项目价格, 25.1.6). The hospital refuses an item that was withdrawn or a drug out "
    "of stock: the field is then null with the hospital's error."
)


@strawberry.type(description="A drug the hospital sells online (可线上销售药品目录, 25.1.3).")
class DrugCatalogEntry:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    charge_id: str = strawberry.field(
        description="The charge item's code (收费项目唯一编码, chargeId); orders send it."
    )
    name: str = strawberry.field(description="The drug (药品名称, chargeName).")
    approval_number: str = strawberry.field(description="The approval number (国药准字号, gyzz).")
    specification: str = strawberry.field(description="The specification (药品规格, ggmc), e.g. 250mg*24.")
    package_unit: str = strawberry.field(description="The package unit (包装单位, bzdw), e.g. 盒.")
    dose_unit: str | None = strawberry.field(description="The dose unit (计量单位, jldw), e.g. mg.")
    units_per_package: str = strawberry.field(description="How many dose units a package holds (转换系数, zhxs).")
    manufacturer: str = strawberry.field(description="The maker or origin (生产厂商/产地, changshang).")
    price: Money = strawberry.field(description="The unit price in the catalogue (单价).")

    @strawberry.field(description=_CURRENT_PRICE)
    async def current_price(self, info: Info) -> Money | None:
        return await current_price(info, self.hospital_id, self.charge_id, ChargeKind.DRUG)


@strawberry.type(description="A lab test or examination the hospital sells online (25.1.4, 25.1.5).")
class ChargeCatalogEntry:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital.")
    kind: ChargeKind = strawberry.field(description="Lab test or examination.")
    charge_id: str = strawberry.field(
        description="The charge item's code (收费项目唯一编码, chargeId); orders send it."
    )
    name: str = strawberry.field(description="The item (项目名称, chargeName).")
    price: Money = strawberry.field(description="The unit price in the catalogue (单价).")

    @strawberry.field(description=_CURRENT_PRICE)
    async def current_price(self, info: Info) -> Money | None:
        return await current_price(info, self.hospital_id, self.charge_id, self.kind)


@strawberry.type
class HospitalCatalogueFields:
    """Online-sale catalogue fields of Hospital (25.1.3-25.1.6)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(description="Drugs the hospital sells online (25.1.3).")
    async def drug_catalog(self, info: Info) -> list[DrugCatalogEntry] | None:
        request = InternetHospitalQueryHospitalDrugChargeRequest()
        reply = await ask_hospital(info, self.id, INTERNET_HOSPITAL_QUERY_HOSPITAL_DRUG_CHARGE, request)
        return [
            DrugCatalogEntry(
                hospital_id=self.id,
                charge_id=d.charge_id,
                name=d.charge_name,
                approval_number=d.approval_number,
                specification=d.specification,
                package_unit=d.package_unit,
                dose_unit=d.measure_unit,
                units_per_package=d.conversion_factor,
                manufacturer=d.manufacturer,
                price=Money(d.price),
            )
            for d in reply or []
        ]

    @strawberry.field(description="Lab tests the hospital sells online (检验销售目录, 25.1.4).")
    async def lab_test_catalog(self, info: Info) -> list[ChargeCatalogEntry] | None:
        request = InternetHospitalQueryHospitalLisChargeRequest()
        reply = await ask_hospital(info, self.id, INTERNET_HOSPITAL_QUERY_HOSPITAL_LIS_CHARGE, request)
        return [
            ChargeCatalogEntry(
                hospital_id=self.id,
                kind=ChargeKind.LAB_TEST,
                charge_id=e.charge_id,
                name=e.charge_name,
                price=Money(e.price),
            )
            for e in reply or []
        ]

    @strawberry.field(description="Examinations the hospital sells online (检查销售目录, 25.1.5).")
    async def examination_catalog(self, info: Info) -> list[ChargeCatalogEntry] | None:
        request = InternetHospitalQueryHospitalPacsChargeRequest()
        reply = await ask_hospital(info, self.id, INTERNET_HOSPITAL_QUERY_HOSPITAL_PACS_CHARGE, request)
        return [
            ChargeCatalogEntry(
                hospital_id=self.id,
                kind=ChargeKind.EXAMINATION,
                charge_id=e.charge_id,
                name=e.charge_name,
                price=Money(e.price),
            )
            for e in reply or []
        ]

    @strawberry.field(description=_CURRENT_PRICE + " By code and kind.")
    async def charge_price(
        self,
        info: Info,
        charge_id: Annotated[str, strawberry.argument(description="The item's code (收费项目唯一编码, chargeId).")],
        kind: Annotated[ChargeKind, strawberry.argument(description="Examination, lab test or drug (chargeType).")],
    ) -> Money | None:
        return await current_price(info, self.id, charge_id, kind)
