"""The chaos run's patient: orders through the gateway's real GraphQL mutations, pays at the provider.

Signed in once with logInForDevelopment (development mode); the session secret is fixed, so the token outlives
every gateway restart. A request that finds the gateway down (or killed under it) is tried again
after a pause; a create mutation cut off that way may leave a CREATED order nobody pays, as a real
phone whose network dropped would.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx

CARD = "001000056254587"
"""张三, whom every simulated hospital knows: pending bills, a balance, an ongoing stay."""
NAME = "张三"
ID_NUMBER = "370102197907025236"
PHONE = "13526521254"
HOSPITALS = ("253", "254", "255", "256", "257")
STANDALONE = ("253", "254", "255")

RESULT = "__typename ... on CreatedPayment { order { outTradeNo onlineAmount } } ... on Refusal { code message }"
MUTATIONS = {
    "outpatient": f"""mutation($h: ID!, $c: String!, $b: Money) {{
        r: createOutpatientPayment(hospitalId: $h, medicalCardNumber: $c, balancePayment: $b) {{ {RESULT} }} }}""",
    "recharge": f"""mutation($h: ID!, $c: String!, $a: Money!) {{
        r: createRechargePayment(hospitalId: $h, medicalCardNumber: $c, amount: $a) {{ {RESULT} }} }}""",
    "deposit": f"""mutation($h: ID!, $c: String!, $n: String!, $a: Money!) {{
        r: createDepositPayment(hospitalId: $h, medicalCardNumber: $c, patientName: $n, amount: $a,
            admissionNumber: "060508") {{ {RESULT} }} }}""",
    "registration_today": f"""mutation($s: ID!, $c: String!, $n: String!) {{
        r: createTodayRegistrationPayment(slotId: $s, medicalCardNumber: $c, patientName: $n) {{ {RESULT} }} }}""",
    "registration_appointment": f"""mutation($s: ID!, $c: String!, $n: String!, $id: String!, $p: String!) {{
        r: createAppointmentPayment(slotId: $s, medicalCardNumber: $c, patientName: $n, idCardNumber: $id,
            phone: $p) {{ {RESULT} }} }}""",
}
FLOWS = tuple(MUTATIONS)
TODAY_SLOTS = """query($h: ID!, $d: String!) { hospital(hospitalId: $h) {
    todaySchedules(departmentId: $d) { doctor { id } clinicTypeId slotId } } }"""
APPOINTMENT_SLOTS = """query($h: ID!, $d: String!, $doc: String!, $day: Date!, $half: HalfDay!) {
    hospital(hospitalId: $h) { appointmentSession(departmentId: $d, doctorId: $doc, date: $day, halfDay: $half) {
        slots { slotId } } } }"""
CANCELLABLE = frozenset({"registration_today", "registration_appointment"})
CANCEL = """mutation($o: String!) { r: cancelPaidBooking(outTradeNo: $o) {
    __typename ... on PaymentRefund { outRefundNo state } ... on Refusal { code message } } }"""


async def harness_call(client: httpx.AsyncClient, method: str, url: str, **options: Any) -> httpx.Response:
    """A call of the run's own to the simulator or the provider (admin routes): a dropped keep-alive
    connection is tried again; these servers never go down during the run."""
    for attempt in range(5):
        try:
            return await client.request(method, url, **options)
        except httpx.TransportError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2 * (attempt + 1))
    raise AssertionError("unreachable")


class GatewayGone(Exception):
    """The gateway did not answer within the patient's patience."""


@dataclass(frozen=True)
class Schedule:
    """One bookable schedule row of a hospital (20.1.2), learnt from the simulated hospital itself."""

    department_id: str
    doctor_id: str | None
    reg_class_id: str
    fee: Decimal


@dataclass(frozen=True)
class Created:
    out_trade_no: str
    flow: str
    hospital_id: str
    online: Decimal


def his_path(simulator_url: str, hospital_id: str, method: str) -> tuple[str, dict[str, str]]:
    if hospital_id in STANDALONE:
        return f"{simulator_url}/his/{hospital_id}/{method}", {}
    return f"{simulator_url}/regional/{method}", {"hospitalId": hospital_id}


async def learn_schedules(client: httpx.AsyncClient, simulator_url: str) -> dict[str, list[Schedule]]:
    """Every hospital's registration schedule rows (20.1.1, 20.1.2), straight from the simulator."""
    schedules: dict[str, list[Schedule]] = {}
    for hospital_id in HOSPITALS:
        url, extra = his_path(simulator_url, hospital_id, "hospital.interface.todayRegisterGetDepts")
        groups = (await harness_call(client, "POST", url, json=extra)).json()["data"]
        rows: list[Schedule] = []
        for department_id in [dept["departmentId"] for group in groups for dept in group["dept"]]:
            url, extra = his_path(simulator_url, hospital_id, "hospital.interface.todayRegisterGetDoctors")
            reply = (await harness_call(client, "POST", url, json=extra | {"departmentId": department_id})).json()
            for row in reply.get("data") or []:
                rows.append(
                    Schedule(department_id, row.get("doctorId"), row["regClassId"], Decimal(row["registrationFee"]))
                )
        schedules[hospital_id] = rows
    return schedules


class Patient:
    """One signed-in account holding 张三's card, making and paying orders."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        gateway_url: str,
        provider_url: str,
        simulator_url: str,
        schedules: dict[str, list[Schedule]],
        rng: random.Random,
        patience_s: float = 180.0,
    ) -> None:
        self._client = client
        self._gateway_url = gateway_url
        self._provider_url = provider_url
        self._simulator_url = simulator_url
        self._schedules = schedules
        self._rng = rng
        self._patience_s = patience_s
        self._token = ""
        self.retries = 0
        self.refusals: dict[str, int] = {}

    async def sign_in(self) -> None:
        data = await self.graphql('mutation { logInForDevelopment(name: "chaos") { token } }', {})
        self._token = data["logInForDevelopment"]["token"]

    async def graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The operation's data; network failures and 5xx are tried again until the patience runs out."""
        deadline = time.monotonic() + self._patience_s
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        while True:
            try:
                response = await self._client.post(
                    f"{self._gateway_url}/graphql",
                    json={"query": query, "variables": variables},
                    headers=headers,
                    timeout=30.0,
                )
                if response.status_code < 500:
                    body: dict[str, Any] = response.json()
                    if body.get("errors") or response.status_code != 200:
                        raise RuntimeError(f"GraphQL refused the operation: {response.text[:500]}")
                    data: dict[str, Any] = body["data"]
                    return data
            except httpx.HTTPError:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise GatewayGone(f"no answer from {self._gateway_url} for {self._patience_s} s")
            await asyncio.sleep(0.2 + self._rng.random() * 0.5)

    async def read(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The whole answer (data and errors) of a read a fault may fail; network failures are tried again."""
        deadline = time.monotonic() + self._patience_s
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        while True:
            try:
                response = await self._client.post(
                    f"{self._gateway_url}/graphql",
                    json={"query": query, "variables": variables},
                    headers=headers,
                    timeout=30.0,
                )
                if response.status_code < 500:
                    body: dict[str, Any] = response.json()
                    return body
            except httpx.HTTPError:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise GatewayGone(f"no answer from {self._gateway_url} for {self._patience_s} s")
            await asyncio.sleep(0.2 + self._rng.random() * 0.5)

    async def _upload_schedule(self, hospital_id: str, row: Schedule, day: str, am_pm: str) -> None:
        """The hospital uploads the session's schedule (21.1.4) with its fee: appointments are charged that."""
        schedule = {
            "hosCode": f"0531_{hospital_id}",
            "hosName": hospital_id,
            "deptCode": row.department_id,
            "deptName": row.department_id,
            "docCode": row.doctor_id,
            "docName": row.doctor_id,
            "scheduleDate": day,
            "amPm": am_pm,
            "opType": "2",
            "scheduleType": "1",
            "arAmt": f"{row.fee:.2f}",
            "upLimit": "100",
            "appNum": "0",
        }
        deadline = time.monotonic() + self._patience_s
        while True:
            try:
                response = await self._client.post(
                    f"{self._gateway_url}/prefront/yyghService/insertSchedule", json=[schedule], timeout=30.0
                )
                if response.status_code < 500:
                    reply = response.json()
                    if response.status_code != 200 or reply.get("success") is not True:
                        # The run's own mistake (the schedule is not the hospital's to upload): say so,
                        # or every appointment would be refused with 60002 and the flow never run.
                        raise RuntimeError(f"the schedule upload (21.1.4) was refused: {response.text[:300]}")
                    return
            except httpx.HTTPError:
                pass
            self.retries += 1
            if time.monotonic() > deadline:
                raise GatewayGone(f"no answer from {self._gateway_url} for {self._patience_s} s")
            await asyncio.sleep(0.2 + self._rng.random() * 0.5)

    async def create(self, flow: str, hospital_id: str) -> Created | None:
        """A new order of `flow` at the hospital; None when the gateway refused it (the code is counted)."""
        variables: dict[str, Any] = {"h": hospital_id, "c": CARD}
        rng = self._rng
        if flow == "outpatient":
            await self._prescribe(hospital_id, rng.randint(1, 3))
            variables["b"] = "1.00" if rng.random() < 0.2 else None
        elif flow == "recharge":
            variables["a"] = str(Decimal(rng.randint(100, 50000)).scaleb(-2))
        elif flow == "deposit":
            variables |= {"n": NAME, "a": str(Decimal(rng.randint(10000, 300000)).scaleb(-2))}
        elif flow == "registration_today":
            row = rng.choice(self._schedules[hospital_id])
            read = await self.read(TODAY_SLOTS, {"h": hospital_id, "d": row.department_id})
            schedules = ((read.get("data") or {}).get("hospital") or {}).get("todaySchedules") or []
            chosen = [
                s["slotId"]
                for s in schedules
                if s["clinicTypeId"] == row.reg_class_id and (s["doctor"] or {}).get("id") == row.doctor_id
            ]
            if not chosen:  # the schedules could not be read (a fault): no order
                self.refusals["SLOTS_UNREAD"] = self.refusals.get("SLOTS_UNREAD", 0) + 1
                return None
            variables |= {"n": NAME, "s": chosen[0]}
        else:
            row = rng.choice([r for r in self._schedules[hospital_id] if r.doctor_id])
            day = date.today() + timedelta(days=rng.randint(1, 180))
            half_day = rng.choice(("AM", "PM"))
            await self._upload_schedule(hospital_id, row, f"{day:%Y%m%d}", half_day)
            asked = {
                "h": hospital_id,
                "d": row.department_id,
                "doc": row.doctor_id,
                "day": f"{day:%Y-%m-%d}",
                "half": {"AM": "MORNING", "PM": "AFTERNOON"}[half_day],
            }
            read = await self.read(APPOINTMENT_SLOTS, asked)
            session = ((read.get("data") or {}).get("hospital") or {}).get("appointmentSession") or {}
            slots = session.get("slots") or []
            if not slots:  # the slots could not be read (a fault): no order
                self.refusals["SLOTS_UNREAD"] = self.refusals.get("SLOTS_UNREAD", 0) + 1
                return None
            variables |= {"n": NAME, "id": ID_NUMBER, "p": PHONE, "s": rng.choice(slots)["slotId"]}
        result = (await self.graphql(MUTATIONS[flow], variables))["r"]
        if result["__typename"] != "CreatedPayment":
            self.refusals[result["code"]] = self.refusals.get(result["code"], 0) + 1
            return None
        order = result["order"]
        return Created(order["outTradeNo"], flow, hospital_id, Decimal(order["onlineAmount"]))

    async def cancel(self, out_trade_no: str) -> str:
        """Cancel a paid booking: "asked" (its refund is under way or done), "wait" (the hospital has not
        made it yet), or "never" (the order ended otherwise, e.g. refunded because the slot was gone)."""
        result = (await self.graphql(CANCEL, {"o": out_trade_no}))["r"]
        if result["__typename"] == "PaymentRefund":
            return "asked"
        return "wait" if " is PAID" in result["message"] else "never"

    async def pay(self, out_trade_no: str) -> bool:
        """The payer pays in WeChat: the provider takes the money and notifies the gateway (again and again)."""
        response = await harness_call(
            self._client, "POST", f"{self._provider_url}/admin/pay", json={"outTradeNo": out_trade_no}
        )
        # Each order is paid once: SUCCESS is this payment, whether this answer or a lost one made it.
        return response.status_code == 200 and response.json()["state"] in {"SUCCESS", "REFUND"}

    async def _prescribe(self, hospital_id: str, items: int) -> None:
        """A doctor adds a prescription to the card's bill, so there is always something to pay (3.1.1)."""
        response = await harness_call(
            self._client,
            "POST",
            f"{self._simulator_url}/admin/prescribe",
            json={"hospitalId": hospital_id, "medicalCardNumber": CARD, "items": items},
        )
        response.raise_for_status()
