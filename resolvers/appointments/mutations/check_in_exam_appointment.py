"""24.1.8 执行登记: register (check in) booked exam orders at the executing departments."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from his_clients.models.exam_appointments import (
    APPOINTMENT_REGISTER,
    AppointmentRegisterRequest,
    ExamRegistration,
    ExamRegistrationOrder,
)

from ...context import Info
from ...results import (
    InputRefused,
    Refusal,
    TargetHospital,
    his_write,
    optional_id_number,
    required,
)


@strawberry.input(description="One exam order to check in, as the booked exams list it (24.1.5).")
class ExamRegistrationOrderInput:
    application_id: str = strawberry.field(description="The application form (applyMainId, 申请单id).")
    order_id: str = strawberry.field(description="The exam project (orderId, 检查项目ID).")
    room_id: str = strawberry.field(description="The department or room (roomId, 科室ID).")
    executing_department_id: str = strawberry.field(description="The executing department (exeDeptId, 执行科室).")


@strawberry.input(description="Whose exam orders to check in (24.1.8 执行登记); only those with onlineRegisterFlag 1.")
class CheckInExamAppointmentInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    orders: list[ExamRegistrationOrderInput] = strawberry.field(description="The orders to check in; at least one.")


@strawberry.type(description="The hospital checked in the orders it lists (24.1.8 执行登记).")
class CheckInExamAppointmentSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that checked them in.")
    checked_in_order_ids: list[str] = strawberry.field(
        description="The orders the hospital checked in (successDetailIdList, 登记成功项目id集合)."
    )
    not_checked_in_order_ids: list[str] = strawberry.field(
        description="The orders asked for that the hospital did not list as checked in."
    )


CheckInExamAppointmentResult = Annotated[
    CheckInExamAppointmentSuccess | Refusal,
    strawberry.union(
        "CheckInExamAppointmentResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


def _orders(orders: list[ExamRegistrationOrderInput]) -> list[ExamRegistrationOrder]:
    if not orders:
        raise InputRefused("orders", ReturnCode.MISSING_PARAMETER, "请至少选择一个检查项目。")
    return [
        ExamRegistrationOrder(
            apply_main_id=required(f"orders[{index}].applicationId", order.application_id),
            order_id=required(f"orders[{index}].orderId", order.order_id),
            room_id=required(f"orders[{index}].roomId", order.room_id),
            exe_dept_id=required(f"orders[{index}].executingDepartmentId", order.executing_department_id),
        )
        for index, order in enumerate(orders)
    ]


@strawberry.type
class CheckInExamAppointmentMutation:
    @strawberry.mutation(
        description="Check in booked exam orders on arrival (24.1.8 执行登记). Sent once, never retried."
    )
    async def check_in_exam_appointment(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CheckInExamAppointmentInput, strawberry.argument(description="What to write.")],
    ) -> CheckInExamAppointmentResult:
        def registered(hospital: str, reply: ExamRegistration) -> CheckInExamAppointmentSuccess:
            done = list(reply.success_detail_id_list)
            asked = [order.order_id.strip() for order in input.orders]
            return CheckInExamAppointmentSuccess(
                hospital_id=strawberry.ID(hospital),
                checked_in_order_ids=done,
                not_checked_in_order_ids=[order_id for order_id in asked if order_id not in done],
            )

        return await his_write(
            info,
            method=APPOINTMENT_REGISTER,
            hospital_id=hospital_id,
            request=lambda: AppointmentRegisterRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                order_list=_orders(input.orders),
            ),
            success=registered,
        )
