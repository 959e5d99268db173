"""The patient's stays through the real app: one call per distinct HIS call, per-hospital failures and no-data."""

from __future__ import annotations

import httpx

from tests.conftest import calls, inject, run_graphql

STAYS = """
query Stays($hospitals: String!) { patient(medicalCardNumber: "001000056254587") {
  inpatientStays(hospitalId: $hospitals, patientName: "张三", idCardNumber: "370102197907025236") {
    hospitalId
    stay { hospitalId admissionNumber inHospital totalCost prepaidLeft depositAllowed }
  }
} }
"""


async def test_a_stay_asked_twice_and_its_deposits_asked_twice_make_one_call_each(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      current: inpatientStays(hospitalId: "253,254", patientName: "张三", idCardNumber: "370102197907025236") {
        stay { admissionNumber deposits { outTradeNo amount } }
      }
      again: inpatientStays(hospitalId: "253,254", patientName: "张三", idCardNumber: "370102197907025236") {
        stay { totalCost feeSummary { total } }
      }
      depositRecords(hospitalId: "253,254", patientName: "张三", idCardNumber: "370102197907025236") {
        hospitalId deposits { outTradeNo amount }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    patient = body["data"]["patient"]
    for hospital in (0, 1):
        assert patient["current"][hospital]["stay"]["deposits"] == patient["depositRecords"][hospital]["deposits"]
        assert patient["again"][hospital]["stay"]["feeSummary"]["total"]
    for method in ("queryInpatientInfo", "getDepositRecord"):
        asked = sorted(c["hospitalId"] for c in calls(sim_admin, method=f"hospital.interface.{method}"))
        assert asked == ["253", "254"], method


async def test_deposits_ask_one_hospital_per_call_even_behind_a_regional_his(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      depositRecords(hospitalId: "256,257", patientName: "张三") { hospitalId deposits { hospitalId amount } }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    for entry in body["data"]["patient"]["depositRecords"]:
        assert entry["deposits"]
        assert {d["hospitalId"] for d in entry["deposits"]} == {entry["hospitalId"]}
    bodies = sorted(c["body"]["hospitalId"] for c in calls(sim_admin, method="hospital.interface.getDepositRecord"))
    assert bodies == ["256", "257"]


async def test_hospitalizations_ask_the_regional_group_in_one_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      hospitalizations(
        hospitalId: "253,256,257", patientName: "张三", from: "2016-01-01T00:00:00", to: "2030-12-31T00:00:00"
      ) {
        hospitalId
        hospitalizations { hospitalId id cost feeSummary { total byDate { date } } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    entries = body["data"]["patient"]["hospitalizations"]
    assert [e["hospitalId"] for e in entries] == ["253", "256", "257"]
    for entry in entries:
        assert entry["hospitalizations"]
        assert {h["hospitalId"] for h in entry["hospitalizations"]} == {entry["hospitalId"]}
    # The simulator records the regional request once per hospital it carried, each with the body sent.
    recorded = calls(sim_admin, method="hospital.interface.queryHospitalizationRecord")
    assert sorted((c["hospitalId"], c["body"]["hospitalId"]) for c in recorded) == [
        ("253", "253"),
        ("256", "256,257"),
        ("257", "256,257"),
    ]


async def test_no_stay_at_a_hospital_is_a_null_stay_not_an_error(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method="hospital.interface.queryInpatientInfo", kind="code", code="10002")
    body = await run_graphql(gateway, STAYS, hospitals="253,254")
    assert "errors" not in body
    first, second = body["data"]["patient"]["inpatientStays"]
    assert first["stay"]["admissionNumber"] == "060508"
    assert second == {"hospitalId": "254", "stay": None}


async def test_five_hospitals_with_one_failing_give_four_stays_and_one_error(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="255", method="hospital.interface.queryInpatientInfo", kind="code", code="10003")
    body = await run_graphql(gateway, STAYS, hospitals="253,254,255,256,257")
    entries = body["data"]["patient"]["inpatientStays"]
    assert entries[2] is None
    assert [e["stay"]["hospitalId"] for e in entries if e] == ["253", "254", "256", "257"]
    [error] = body["errors"]
    assert error["extensions"] == {
        "hospitalId": "255",
        "code": "10003",
        "method": "hospital.interface.queryInpatientInfo",
    }


async def test_a_stay_hangs_its_fees_and_caregiver_pass_off_itself(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      inpatientStays(hospitalId: "253", patientName: "张三") {
        stay {
          admissionNumber
          feeSummary { total byDate { date total } }
          caregiverPass(caregiverIdCardNumber: "110101202008227457") { passId revoked source }
        }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    [entry] = body["data"]["patient"]["inpatientStays"]
    stay = entry["stay"]
    day = stay["feeSummary"]["byDate"][0]["date"]
    assert stay["caregiverPass"]["passId"]
    [caregiver_call] = calls(sim_admin, method="hospital.interface.getCaregiversInfo")
    assert caregiver_call["body"]["admissionNumber"] == stay["admissionNumber"]

    daily = """
    query Daily($day: Date!) { patient(medicalCardNumber: "001000056254587") {
      inpatientStays(hospitalId: "253", patientName: "张三") {
        stay { dailyFees(date: $day) { total items { amount } } }
      }
    } }
    """
    body = await run_graphql(gateway, daily, day=day)
    assert "errors" not in body
    sheet = body["data"]["patient"]["inpatientStays"][0]["stay"]["dailyFees"]
    assert sheet["total"] == stay["feeSummary"]["byDate"][0]["total"]
    # The HIS gave the ID number with the stay, so 12.1.2's required idCard came from it.
    [daily_call] = calls(sim_admin, method="hospital.interface.dailycost")
    assert daily_call["body"]["idCard"] == "370102197907025236"


async def test_past_stays_need_an_id_number_or_an_admission_number(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      pastStays(hospitalId: "253", patientName: "张三") { hospitalId }
    } }
    """
    body = await run_graphql(gateway, query)
    [error] = body["errors"]
    assert "idCardNumber or admissionNumber" in error["message"]
    assert calls(sim_admin, method="hospital.interface.inpatientRecord") == []


async def test_discharges_lead_to_the_drugs_taken_home(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      discharges(hospitalId: "253", patientName: "张三", idCardNumber: "370102197907025236") {
        discharges { stayId medicines { drugs { name } } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    [entry] = body["data"]["patient"]["discharges"]
    assert entry["discharges"]
    assert all(d["medicines"]["drugs"] for d in entry["discharges"])
    asked = {
        c["body"]["patientInHospitalId"] for c in calls(sim_admin, method="hospital.interface.getDrugItemForDischarged")
    }
    assert asked == {d["stayId"] for d in entry["discharges"]}
