"""Operators' views across hospitals: statistics (30.x) and the hospitals' side of reconciliation (14.2.x)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import calls, inject, run_graphql, sign_in_operator


@pytest.fixture(autouse=True)
def as_region_operator(gateway: httpx.AsyncClient) -> None:
    """The dashboards are for operators: every test here asks as a region operator."""
    sign_in_operator(gateway, role="region")


DATA_STATISTICS = "hospital.interface.dataStatistics"
HOSPITAL_STATISTICS = "hospital.interface.hospitalStatistics"
DETAIL = "hospital.interface.reconciliation.detail"
BY_TRADE = "hospital.interface.reconciliation.queryByOutTradeNo"
BY_REFUND = "hospital.interface.reconciliation.queryByOutTradeNoAndRefundNo"

# The simulator's example patient paid, and was refunded, inside this window at every hospital.
TRADE_NO = "ZJZF-SCXRMYY-18062229155"
REFUND_NO = "RE202006231344002295"
START, END = "2019-04-01 00:00:00", "2019-04-03 00:00:00"

STATISTICS = """
query ($hospitals: String!, $start: DateTime!, $end: DateTime!) {
  operator {
    transactionStatistics(hospitalId: $hospitals, from: $start, to: $end) {
      hospitalId hospital { name } outpatientAmount outpatientTransactions inpatientAmount inpatientTransactions
    }
  }
}
"""


async def test_statistics_of_three_hospitals_with_one_failing(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method=DATA_STATISTICS, kind="code", code="10003", msg="系统错误")
    body = await run_graphql(gateway, STATISTICS, hospitals="253,254,255", start=START, end=END)
    entries = body["data"]["operator"]["transactionStatistics"]
    assert [e and e["hospitalId"] for e in entries] == ["253", None, "255"]
    for entry in (entries[0], entries[2]):
        assert entry["hospital"]["name"]
        assert entry["outpatientTransactions"] >= 1
        assert entry["outpatientAmount"].count(".") == 1
    [error] = body["errors"]
    assert error["extensions"] == {"hospitalId": "254", "code": "10003", "method": DATA_STATISTICS}
    assert error["path"] == ["operator", "transactionStatistics", 1]
    assert len(calls(sim_admin, method=DATA_STATISTICS)) == 3


async def test_no_data_is_zero_not_an_error(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=DATA_STATISTICS, kind="code", code="10002")
    body = await run_graphql(gateway, STATISTICS, hospitals="253", start=START, end=END)
    assert "errors" not in body
    [entry] = body["data"]["operator"]["transactionStatistics"]
    assert entry["outpatientAmount"] == "0.00"
    assert entry["outpatientTransactions"] == 0


async def test_a_malformed_or_reversed_window_is_refused_before_calling(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, STATISTICS, hospitals="253,254", start="2019-04-01 25:00:00", end=END)
    assert body["data"] is None  # not a DateTime: the operation is refused as a whole, before any resolver
    assert "DateTime" in body["errors"][0]["message"]
    body = await run_graphql(gateway, STATISTICS, hospitals="253", start=END, end=START)
    assert body["data"] == {"operator": {"transactionStatistics": None}}  # issue 15 item 13: that field alone
    assert body["errors"][0]["extensions"] == {"code": "20004", "field": "from"}
    assert calls(sim_admin, method=DATA_STATISTICS) == []


async def test_a_window_without_an_offset_is_beijing_time(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """from/to are DateTime: one with an offset is converted to the spec's Beijing yyyy-MM-dd HH:mm:ss."""
    body = await run_graphql(
        gateway, STATISTICS, hospitals="253", start="2019-03-31T16:00:00Z", end="2019-04-03T00:00:00+08:00"
    )
    assert "errors" not in body, body.get("errors")
    [asked] = calls(sim_admin, method=DATA_STATISTICS)
    assert (asked["body"]["startTime"], asked["body"]["endTime"]) == ("2019-04-01 00:00:00", "2019-04-03 00:00:00")


async def test_hospital_counts_keep_each_hospitals_own_row(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = """
    query ($hospitals: String!, $start: DateTime!, $end: DateTime!) {
      operator {
        hospitalTransactionCounts(hospitalId: $hospitals, from: $start, to: $end) {
          hospitalId hospitalName outpatientTransactions outpatientAmount healthCardVisits appointments
        }
      }
    }
    """
    body = await run_graphql(gateway, query, hospitals="253,256,257", start=START, end=END)
    assert "errors" not in body
    entries = body["data"]["operator"]["hospitalTransactionCounts"]
    assert [e["hospitalId"] for e in entries] == ["253", "256", "257"]
    assert all(e["hospitalName"] and e["outpatientTransactions"] >= 1 for e in entries)
    assert len(calls(sim_admin, method=HOSPITAL_STATISTICS)) == 3


RECORDS = """
query ($hospitals: String!, $start: DateTime!, $end: DateTime!) {
  operator {
    all: reconciliationRecords(hospitalId: $hospitals, from: $start, to: $end) {
      hospitalId records { outTradeNo refundNo kind amount tradeTime payType description patientName complete }
    }
    refunds: reconciliationRecords(hospitalId: $hospitals, from: $start, to: $end, kind: REFUND) {
      hospitalId records { outTradeNo refundNo kind amount }
    }
    weChat: reconciliationRecords(hospitalId: $hospitals, from: $start, to: $end, payType: "AliPay") {
      records { outTradeNo }
    }
  }
}
"""


async def test_reconciliation_records_filtered_by_kind_share_one_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, RECORDS, hospitals="253,256", start=START, end=END)
    assert "errors" not in body
    views = body["data"]["operator"]
    everything = {(r["outTradeNo"], r["refundNo"], r["kind"]) for r in views["all"][0]["records"]}
    assert (TRADE_NO, None, "PAYMENT") in everything
    assert (TRADE_NO, REFUND_NO, "REFUND") in everything
    refunds = views["refunds"][0]["records"]
    assert refunds
    assert all(r["kind"] == "REFUND" and r["refundNo"] for r in refunds)
    assert views["weChat"][0]["records"] == []  # every simulated trade is WeChatPay
    # Three fields, two hospitals: the per-request loader asks each hospital once.
    assert sorted(c["hospitalId"] for c in calls(sim_admin, method=DETAIL)) == ["253", "256"]


async def test_reconciliation_by_order_and_by_refund(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = """
    query ($hospitals: String!, $trade: String!, $refund: String!) {
      operator {
        reconciliationOrders(hospitalId: $hospitals, outTradeNo: $trade) {
          hospitalId orders { outTradeNo amount tradeTime payType complete }
        }
        reconciliationRefund(hospitalId: $hospitals, outTradeNo: $trade, refundNo: $refund) {
          hospitalId refund { outTradeNo refundNo amount complete }
        }
      }
    }
    """
    body = await run_graphql(gateway, query, hospitals="253,254", trade=TRADE_NO, refund=REFUND_NO)
    assert "errors" not in body
    orders = body["data"]["operator"]["reconciliationOrders"]
    assert [o["hospitalId"] for o in orders] == ["253", "254"]
    assert {o["outTradeNo"] for o in orders[0]["orders"]} == {TRADE_NO}
    refunds = body["data"]["operator"]["reconciliationRefund"]
    assert refunds[0]["refund"]["refundNo"] == REFUND_NO
    assert len(calls(sim_admin, method=BY_TRADE)) == 2
    assert len(calls(sim_admin, method=BY_REFUND)) == 2


async def test_an_unknown_order_is_empty_not_an_error(gateway: httpx.AsyncClient) -> None:
    query = """
    query {
      operator {
        reconciliationOrders(hospitalId: "253", outTradeNo: "ZJZF-NOSUCH") { hospitalId orders { outTradeNo } }
        reconciliationRefund(hospitalId: "253", outTradeNo: "ZJZF-NOSUCH", refundNo: "RE-NOSUCH") {
          refund { refundNo }
        }
      }
    }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    assert body["data"]["operator"]["reconciliationOrders"] == [{"hospitalId": "253", "orders": []}]
    assert body["data"]["operator"]["reconciliationRefund"] == [{"refund": None}]
