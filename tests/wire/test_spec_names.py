"""Requests name their parameters as the spec's table and example do (issue 11 item 12)."""

from __future__ import annotations

from his_clients.models.cards import SelHisCardListByNameAndIdCardRequest


def test_2_1_3_sends_the_id_number_under_the_tables_and_the_examples_name() -> None:
    """issue 11 item 12: 2.1.3's table says idCard, its example idCardNo; a hospital built to either finds it."""
    request = SelHisCardListByNameAndIdCardRequest(name="张三", id_card="110101199505211144")
    assert request.to_wire() == {"name": "张三", "idCard": "110101199505211144", "idCardNo": "110101199505211144"}
