"""What the hospital said about a payment order after it was made (20.2.1 挂号状态, 25.2.2 登记/取药状态)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from services.payments.hospital_status import HospitalStatus

from ..arguments import beijing


@strawberry.type(
    description=(
        "The hospital's latest word about one item of an order: a today's registration's state (20.2.1 更新挂号状态) "
        "or one prescribed charge's registration / dispensing status (25.2.2). It moves no money: a registration "
        "the hospital cancelled is refunded when the hospital asks for it (20.2.2)."
    )
)
class OrderHospitalStatus:
    section: str = strawberry.field(description="The spec section the hospital called: 20.2.1 or 25.2.2.")
    state: str = strawberry.field(
        description="The spec's code: registerState 3 已过号, 4 已取消, 5 已就诊; or status 1 已登记（取药）, "
        "2 取消登记（已退药）."
    )
    description: str = strawberry.field(description="What the code means, in the spec's words.")
    charge_id: str | None = strawberry.field(description="The charge (chargeId) for 25.2.2; null for a registration.")
    charge_type: str | None = strawberry.field(
        description="The charge's type for 25.2.2 (1 检查, 2 检验, 3 处方); null for a registration."
    )
    at: datetime = strawberry.field(description="When the hospital told us (Beijing time, +08:00).")

    @classmethod
    def of(cls, status: HospitalStatus) -> OrderHospitalStatus:
        return cls(
            section=status.section,
            state=status.state,
            description=status.description,
            charge_id=status.charge_id,
            charge_type=status.charge_type,
            at=beijing(status.at),
        )
