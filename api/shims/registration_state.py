"""20.2.1 prefront/todayRegister/updateRecordsState: the hospital tells us a today's registration changed.

20.2.1's narrative: "当患者通过his直接取消挂号，患者就诊，患者未能及时就诊导致作废，his需要调用公众号接口更新挂号状态"
(registerState 3 已过号, 4 已取消, 5 已就诊). The state is noted on the today's-registration order whose
todayRegisterId (sent in 20.1.7) the hospital names, in the same transaction as the call's ledger row
(services.shims.order_status). Nothing else happens here: a registration the hospital cancelled is
refunded when the hospital calls 20.2.2 for it, never on this word alone. The same state twice answers
success again; an unknown todayRegisterId (or another hospital's) answers 10002.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services.payments.hospital_status import REGISTER_STATES
from services.shims.ledger import ShimCall
from services.shims.order_status import Recorded, record_registration_state

from .envelope import ShimError
from .platform import platform_shim, reply_response, success_reply


@platform_shim("20.2.1")
async def update_records_state_shim(request: Request, call: ShimCall, fields: dict[str, Any]) -> Response:
    """20.2.1: note a today's registration's state (3 已过号, 4 已取消, 5 已就诊) on our order."""
    state = str(fields["registerState"])
    if state not in REGISTER_STATES:
        raise ShimError(ReturnCode.PARAMETER_RANGE, "参数超出范围: registerState 应为 3、4 或 5")
    reply = success_reply("20.2.1")
    outcome, _ = await record_registration_state(
        request.app.state.services.db,
        call,
        today_register_id=fields["todayRegisterId"],
        register_state=state,
        reply=reply,
    )
    if outcome is Recorded.NO_ORDER:
        raise ShimError(ReturnCode.NO_DATA, "未查询到数据: 没有此当日挂号记录")
    return reply_response(reply)


routes = [Route("/prefront/todayRegister/updateRecordsState", update_records_state_shim, methods=["POST"])]
