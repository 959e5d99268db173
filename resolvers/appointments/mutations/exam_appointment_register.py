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
    HisRefusal,
    HospitalUnavailable,
    InputRefused,
    InvalidInput,
    TargetHospital,
    his_write,
    optional_id_number,
    required,
)


@strawberry.input(description="One exam order to register, as the booked exams list it (24.1.5).")
class ExamRegistrationOrderInput:
    application_id: str = strawberry.field(description="The application form (applyMainId, 申请单id).")
    order_id: str = strawberry.field(description="The exam project (orderId, 检查项目ID).")
    room_id: str = strawberry.field(description="The department or room (roomId, 科室ID).")
    executing_department_id: str = strawberry.field(description="The executing department (exeDeptId, 执行科室).")


@strawberry.input(description="Whose exam orders to register (24.1.8 执行登记); only those with onlineRegisterFlag 1.")
class ExamAppointmentRegisterInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    orders: list[ExamRegistrationOrderInput] = strawberry.field(description="The orders to register; at least one.")


@strawberry.type(description="The hospital registered the orders it lists (24.1.8).")
class ExamAppointmentRegisterSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that registered them.")
    registered_order_ids: list[str] = strawberry.field(
        description="The orders the hospital registered (successDetailIdList, 登记成功项目id集合)."
    )
    unregistered_order_ids: list[str] = strawberry.field(
        description="The orders asked for that the hospital did not list as registered."
    )


ExamAppointmentRegisterResult = Annotated[
    ExamAppointmentRegisterSuccess | HisRefusal | HospitalUnavailable | InvalidInput,
    strawberry.union(
        "ExamAppointmentRegisterResult",
        description="Success, or the hospital's refusal with its code, or no usable answer, or bad input.",
    ),
]


def _orders(orders: list[ExamRegistrationOrderInput]) -> list[ExamRegistrationOrder]:
    if not orders:
        raise InputRefused("orders", ReturnCode.MISSING_PARAMETER, "give at least one order")
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
class ExamAppointmentRegisterMutation:
    @strawberry.mutation(
        description="Register booked exam orders on arrival (24.1.8 执行登记). Sent once, never retried."
    )
    async def exam_appointment_register(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[ExamAppointmentRegisterInput, strawberry.argument(description="What to write.")],
    ) -> ExamAppointmentRegisterResult:
        def registered(hospital: str, reply: ExamRegistration) -> ExamAppointmentRegisterSuccess:
            done = list(reply.success_detail_id_list)
            asked = [order.order_id.strip() for order in input.orders]
            return ExamAppointmentRegisterSuccess(
                hospital_id=strawberry.ID(hospital),
                registered_order_ids=done,
                unregistered_order_ids=[order_id for order_id in asked if order_id not in done],
            )

        return await his_write(
            info,
            method=APPOINTMENT_REGISTER,
            hospital_id=hospital_id,
            request=lambda: AppointmentRegisterRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCard", input.id_card),
                order_list=_orders(input.orders),
            ),
            success=registered,
        )
