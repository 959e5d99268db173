"""Requests name their parameters as the spec's table and example do (issue 11 item 12)."""

from __future__ import annotations

import httpx

from his_clients.models.cards import SelHisCardListByNameAndIdCardRequest
from tests.conftest import calls, run_graphql


def test_2_1_3_sends_the_id_number_under_the_tables_and_the_examples_name() -> None:
    """issue 11 item 12: 2.1.3's table says idCard, its example idCardNo; a hospital built to either finds it."""
    request = SelHisCardListByNameAndIdCardRequest(name="张三", id_card="110101199505211144")
    assert request.to_wire() == {"name": "张三", "idCard": "110101199505211144", "idCardNo": "110101199505211144"}


EMPLOYER_GROUPS = """
{ hospital(hospitalId: "253") {
    employerBookings(idCardNumber: "370102197907025236") { employerId groups { id items { code name price } } }
} }"""


async def test_28_1_11_group_items_are_used_without_asking_28_1_12(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 11 item 12: 28.1.11 lists a group's items (groupCombs); the graph shows them and asks 28.1.12 only
    for the group it lists without (the simulator leaves them out of its last group)."""
    body = await run_graphql(gateway, EMPLOYER_GROUPS)
    assert "errors" not in body, body["errors"]
    [booking] = body["data"]["hospital"]["employerBookings"]
    first, *_, last = booking["groups"]
    assert {"code": "13002", "name": "动脉硬化检查", "price": "80.00"} in first["items"]
    assert last["items"]
    asked = calls(sim_admin, method="hospital.interface.physical.getOrgGroupComb")
    assert [c["body"]["groupId"] for c in asked] == [last["id"]]
