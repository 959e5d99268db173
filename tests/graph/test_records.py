"""The patient's records through the real app: fan-out, regional group calls, no-data, lazy details, file links."""

from __future__ import annotations

import re

import httpx

from tests.conftest import calls, inject, run_graphql

CARD = "001000056254587"
NAME = "张三"
ALL = "253,254,255,256,257"

PRESCRIPTIONS = """
query Prescriptions($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    prescriptions(
      hospitalId: $hospitals, patientName: "张三", from: "2018-01-01T00:00:00+08:00", to: "2021-12-31T23:59:59+08:00"
    ) {
      hospitalId
      prescriptions { hospitalId prescriptionId }
    }
  }
}
"""


async def test_a_failing_hospital_is_one_error_and_the_others_answer(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method="hospital.interface.getPrescriptionRecord", kind="http500")
    body = await run_graphql(gateway, PRESCRIPTIONS, card=CARD, hospitals=ALL)
    entries = body["data"]["patient"]["prescriptions"]
    assert [e and e["hospitalId"] for e in entries] == ["253", None, "255", "256", "257"]
    assert all(e["prescriptions"] for e in entries if e)
    [error] = body["errors"]
    assert error["path"] == ["patient", "prescriptions", 1]
    assert error["extensions"]["hospitalId"] == "254"
    assert error["extensions"]["method"] == "hospital.interface.getPrescriptionRecord"


async def test_the_regional_group_is_asked_in_one_call_and_split_by_hospital(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await run_graphql(gateway, PRESCRIPTIONS, card=CARD, hospitals="256,257")
    assert "errors" not in body
    entries = body["data"]["patient"]["prescriptions"]
    assert [e["hospitalId"] for e in entries] == ["256", "257"]
    for entry in entries:
        assert entry["prescriptions"]
        assert {p["hospitalId"] for p in entry["prescriptions"]} == {entry["hospitalId"]}
    # The simulator records the one request once per hospital it carried; two calls would carry one id each.
    recorded = calls(sim_admin, method="hospital.interface.getPrescriptionRecord")
    assert sorted(c["hospitalId"] for c in recorded) == ["256", "257"]
    assert {c["body"]["hospitalId"] for c in recorded} == {"256,257"}


async def test_no_data_from_a_hospital_is_an_empty_entry_not_an_error(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    inject(
        sim_admin, hospitalId="253", method="hospital.interface.electronicInvoiceInformation", kind="code", code="10002"
    )
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      invoices(hospitalId: "253,254", from: "2018-01-01", to: "2021-12-31") {
        hospitalId invoices { invoiceId }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    first, second = body["data"]["patient"]["invoices"]
    assert first == {"hospitalId": "253", "invoices": []}
    assert second["invoices"]


async def test_two_fields_needing_the_same_call_make_one_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      a: cardBalances(hospitalId: "253,254") { balance }
      b: cardBalances(hospitalId: "254,253") { hospitalId balance }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    assert body["data"]["patient"]["a"][0]["balance"] == "200.63"
    assert sorted(c["hospitalId"] for c in calls(sim_admin, method="hospital.interface.queryBalance")) == ["253", "254"]


async def test_details_are_asked_only_when_selected(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    await run_graphql(gateway, PRESCRIPTIONS, card=CARD, hospitals="253")
    assert calls(sim_admin, method="hospital.interface.getPrescriptionDetail") == []
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      prescriptions(
        hospitalId: "253", patientName: "张三", from: "2020-12-30T00:00:00+08:00", to: "2020-12-30T23:59:59+08:00"
      ) {
        prescriptions { prescriptionId detail { doctorName drugs { drugId name leaflet { title content } } } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    [entry] = body["data"]["patient"]["prescriptions"]
    details = [p["detail"] for p in entry["prescriptions"]]
    assert details
    assert all(d["drugs"] for d in details)
    asked = {c["body"]["prescriptionId"] for c in calls(sim_admin, method="hospital.interface.getPrescriptionDetail")}
    assert asked == {p["prescriptionId"] for p in entry["prescriptions"]}
    assert any(drug["leaflet"] for d in details for drug in d["drugs"])


async def test_an_electronic_invoice_is_a_download_link_never_base64(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      invoices(hospitalId: "253", from: "2020-12-30", to: "2020-12-30") {
        invoices { invoiceId electronicInvoice { invoiceId pageUrl fileType fileUrl } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    [entry] = body["data"]["patient"]["invoices"]
    assert entry["invoices"]
    for invoice in entry["invoices"]:
        electronic = invoice["electronicInvoice"]
        assert electronic["invoiceId"] == invoice["invoiceId"]
        assert electronic["fileType"] in ("PDF", "IMAGE")
        assert re.fullmatch(r"https?://[^/]+/files/f1\.[A-Za-z0-9_-]+\?expires=\d+", electronic["fileUrl"])
        assert "iVBOR" not in electronic["fileUrl"]


async def test_outpatient_fees_take_a_window_of_beijing_instants(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 12 item 8: a window of times is from/to as DateTime; instants go out in Beijing time and come back
    with their +08:00 offset."""
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      outpatientFees(hospitalId: "253", patientName: "张三", from: "2020-12-29T16:00:00Z", to: "2020-12-30T23:59:59") {
        bills { chargedAt total items { amount } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body
    [entry] = body["data"]["patient"]["outpatientFees"]
    assert entry["bills"]
    assert all(re.fullmatch(r"2020-12-30T\d\d:\d\d:\d\d\+08:00", b["chargedAt"]) for b in entry["bills"])
    [call] = calls(sim_admin, method="hospital.interface.queryOutpatientCostDetail")
    assert (call["body"]["startTime"], call["body"]["endTime"]) == ("2020-12-30 00:00:00", "2020-12-30 23:59:59")


async def test_a_bill_under_another_name_is_not_shown(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    """issue 12 item 11: a field that requires patientName uses it: bills the hospital lists under another name
    than the one asked are not the patient's."""
    query = """
    query Fees($name: String!) { patient(medicalCardNumber: "001000056254587") {
      outpatientFees(hospitalId: "253", patientName: $name, from: "2020-12-30T00:00:00", to: "2020-12-30T23:59:59") {
        bills { patientName }
      }
    } }
    """
    own = await run_graphql(gateway, query, name="张三")
    [entry] = own["data"]["patient"]["outpatientFees"]
    assert entry["bills"]
    assert {b["patientName"] for b in entry["bills"]} == {"张三"}
    other = await run_graphql(gateway, query, name="李四")
    assert "errors" not in other
    assert other["data"]["patient"]["outpatientFees"] == [{"bills": []}]


async def test_a_window_that_ends_before_it_starts_is_refused_before_any_call(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      invoices(hospitalId: "253", from: "2020-12-31", to: "2020-12-30") { hospitalId }
    } }
    """
    body = await run_graphql(gateway, query)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "20004"  # PARAMETER_RANGE
    assert error["extensions"]["field"] == "from"
    assert calls(sim_admin, method="hospital.interface.electronicInvoiceInformation") == []


async def test_a_malformed_day_is_refused_before_any_call(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      invoices(hospitalId: "253", from: "2020/12/30", to: "2020-12-30") { hospitalId }
    } }
    """
    body = await run_graphql(gateway, query)
    [error] = body["errors"]
    assert "cannot represent a Date" in error["message"]
    assert calls(sim_admin, method="hospital.interface.electronicInvoiceInformation") == []


async def test_visited_doctors_follow_the_window(gateway: httpx.AsyncClient, sim_admin: httpx.Client) -> None:
    query = """
    query Doctors($begin: Date!, $end: Date!) { patient(medicalCardNumber: "001000056254587") {
      visitedDoctors(hospitalId: "253", from: $begin, to: $end) { doctors { name lastVisitAt } }
    } }
    """
    body = await run_graphql(gateway, query, begin="2019-04-01", end="2019-04-03")
    [entry] = body["data"]["patient"]["visitedDoctors"]
    assert entry["doctors"]
    assert all(d["lastVisitAt"].startswith("2019-04-0") for d in entry["doctors"])
    body = await run_graphql(gateway, query, begin="2000-01-01", end="2000-01-02")
    assert body["data"]["patient"]["visitedDoctors"] == [{"doctors": []}]


async def test_sex_is_the_sex_enum_and_a_birth_date_is_a_date(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 8: 2.1.1 writes sex 男/女 and 2.1.3 gender 1/0; both read into Sex, birth dates into Date."""
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      hospitalProfiles(hospitalId: "253") { profile { sex birthDate } }
      cardsOfHolder(hospitalId: "253", name: "张三", idCardNumber: "370102197907025236") { cards { sex birthDate } }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body, body
    patient = body["data"]["patient"]
    [profile] = patient["hospitalProfiles"]
    assert profile["profile"]["sex"] in ("MALE", "FEMALE")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", profile["profile"]["birthDate"])
    [held] = patient["cardsOfHolder"]
    assert held["cards"]
    assert {card["sex"] for card in held["cards"]} <= {"MALE", "FEMALE"}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", card["birthDate"]) for card in held["cards"])


async def test_guide_sheet_kinds_and_states_are_enums(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 8: a room's kind and an item's state are enums; the spec's state code stays readable."""
    query = """
    query { patient(medicalCardNumber: "001000056254587") {
      guideSheets(hospitalId: "253", patientName: "张三", date: "2018-01-01") {
        rooms { kind items { state stateCode stateName appointment } }
      }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body, body
    [sheet] = body["data"]["patient"]["guideSheets"]
    assert sheet["rooms"]
    kinds = {"PHARMACY", "LAB_TEST", "IMAGING", "ECG", "PATHOLOGY", "MATERIAL", "CHINESE_MEDICINE"}
    assert {room["kind"] for room in sheet["rooms"]} <= kinds | {"WESTERN_MEDICINE", "OTHER"}
    items = [item for room in sheet["rooms"] for item in room["items"]]
    assert items
    for item in items:
        assert re.fullmatch(r"\d{4}", item["stateCode"])
        assert (item["state"] is None) == (item["stateName"] is None)
    assert any(item["state"] for item in items)


async def test_every_per_hospital_entry_reads_through_one_hospital_entry_fragment(gateway: httpx.AsyncClient) -> None:
    """issue 12 item 4: per-hospital containers are <What>AtHospital and implement HospitalEntry, so one fragment
    reads the hospital of any of them."""
    query = """
    fragment Where on HospitalEntry { __typename hospitalId hospital { name } }
    query { patient(medicalCardNumber: "001000056254587") {
      pendingPayments(hospitalId: "253") { ...Where }
      cardBalances(hospitalId: "253") { ...Where }
      refundableBalances(hospitalId: "253") { ...Where }
      guideSheets(hospitalId: "253", date: "2018-01-01") { ...Where }
      labReports(hospitalId: "253") { ...Where reports { ...Where } }
      nucleicAcidTests(hospitalId: "253") { ...Where }
      inpatientStays(hospitalId: "253") { ...Where stay { ...Where } }
    } }
    """
    body = await run_graphql(gateway, query)
    assert "errors" not in body, body
    for field, entries in body["data"]["patient"].items():
        [entry] = entries
        assert entry["__typename"].endswith("AtHospital"), field
        assert entry["hospitalId"] == "253", field
        assert entry["hospital"]["name"], field
