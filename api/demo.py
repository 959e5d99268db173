"""The demo region: the gateway in front of the simulated hospitals, on an embedded SQLite file."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import httpx

from his_clients.registry import LOOPBACK, Endpoint, Hospital, Registry, SoapStyle, SoapVersion
from services.payments.clock import CHINA_TIME

if TYPE_CHECKING:
    from simulator.server import RunningSimulator
    from simulator.uploads import Published

DEMO_HOSPITALS = {
    "253": "济南市第一人民医院",
    "254": "济南市中心医院",
    "255": "山东省立第三医院",
    "256": "平阴县人民医院",
    "257": "平阴县中医医院",
}
STANDALONE = ("253", "254", "255")
REGIONAL = ("256", "257")
REGIONAL_ENDPOINT = "pingyin"
DEMO_WEBSERVICE: Mapping[str, SoapStyle] = MappingProxyType({"255": "per_method"})
"""Hospitals (or the regional endpoint, by its id) the demo calls over WebService (SOAP) instead of HTTP:
255 speaks SOAP 1.1 to the simulator's /soap/methods/his/255, its address and namespace from the WSDL."""
SOAP_OPERATION_NAMES = {"hospital.interface.medicalInsurance.paySuccess": "medicalInsurancePaySuccess"}
"""per_method: where two methods share a last part, the simulator's WSDL names one differently (simulator/soap.py)."""

SIGN_IN = """\
mutation SignIn {
  logInForDevelopment { token expiresAt }
}"""
"""Development mode's sign-in: an account holding the spec's example patient 张三 (card 001000056254587, ID
370102197907025236), whom the simulator gives data at every hospital. Patient queries need its token."""

DEMO_HOW_TO = """
SMS codes: the demo sends no SMS. Each code (card binding) is printed on this console as
  "demo SMS to 138****1234: code 123456 (绑定就诊卡)"; type it into confirmCardBinding.
Binding a card from zero: sign in with logInForDevelopment(name: "new", withCard: false) (an account with no card),
  then startCardBinding(hospitalId: "253", medicalCardNumber: "001000056254587", name: "张三",
  idCardNumber: "370102197907025236") and confirmCardBinding with the code printed here.
Payments: dev mode pays with a sandbox provider. Create an order (e.g. createTodayRegistrationPayment), then
  mutation { payInSandbox(outTradeNo: "<the order's outTradeNo>") { outTradeNo state } }
  stands for wx.requestPayment; the payment worker then tells the hospital. Follow it with
  me { orders(first: 10) { edges { node { outTradeNo status refunds { state } } } } }.
"""
"""What a front-end developer needs to walk the journeys in the demo (issue 12 item 15): where the SMS codes
appear, how to start from an account with no card, and how to simulate a payment."""

# The one-day fee list (一日清单) is asked for the day the demo starts, as the mini-program would.
_TODAY = datetime.now(CHINA_TIME).date().isoformat()
"""Today in Beijing (the spec's dates), whatever the host's zone."""

SAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Bills waiting to be paid at five hospitals (3.1.1)",
        """\
query PendingBills {
  patient(medicalCardNumber: "001000056254587") {
    pendingPayments(hospitalId: "253,254,255,256,257") {
      hospitalId
      hospital { name }
      totalAmount
      discountAmount
      items { name quantity unit amount doctor createdAt prescriptionNumber }
    }
  }
}""",
    ),
    (
        "Lab and imaging reports with details; sensitive ones are withheld (16.1.1-16.1.3)",
        """\
query Reports {
  patient(medicalCardNumber: "001000056254587") {
    labReports(hospitalId: "253,256") {
      hospitalId
      reports {
        id
        item
        auditedAt
        detail {
          __typename
          ... on LabReportDetail {
            specimenCategory
            orderingDoctor
            results { item result unit flag referenceText }
            pdf
          }
          ... on ReportWithheld { reason message }
        }
      }
    }
    imagingReports(hospitalId: "253,256") {
      hospitalId
      reports {
        id
        item
        auditedAt
        detail {
          __typename
          ... on ImagingReportDetail {
            bodyParts
            findings
            conclusion
            pdf
            imageSeries { series thumbnail dicomImages }
          }
          ... on ReportWithheld { reason message }
        }
      }
    }
  }
}""",
    ),
    (
        "Current inpatient stay with deposits and today's fees (10.1.1, 12.1.2, 18.1.5)",
        f"""\
query InpatientStay {{
  patient(medicalCardNumber: "001000056254587") {{
    inpatientStays(hospitalId: "253,256", patientName: "张三", idCardNumber: "370102197907025236") {{
      hospitalId
      hospital {{ name }}
      stay {{
        admissionNumber
        department
        bedNumber
        admittedAt
        totalCost
        prepaidLeft
        depositAllowed
        deposits {{ outTradeNo amount payTypeName paidAt }}
        dailyFees(date: "{_TODAY}") {{ total items {{ name amount }} }}
      }}
    }}
  }}
}}""",
    ),
    (
        "Today's departments, doctors and remaining slots at 253 and 256 (20.1.1-20.1.3)",
        """\
query TodayRegistration {
  hospitals(hospitalId: "253,256") {
    id
    name
    todayDepartments {
      name
      departments { id name address }
    }
    todayDepartment(id: "sjnk") {
      name
      schedules {
        displayName
        registersToDepartment
        doctor { name title expertise }
        clinicTypeName
        registrationFee
        remainingCount
        slots { slotId halfDay from to remaining }
      }
    }
  }
}""",
    ),
    (
        "Physical-exam packages with their items, and the notice to read first (28.1.1, 28.1.2, 28.1.9)",
        """\
query PhysicalExamPackages {
  hospital(hospitalId: "253") {
    name
    physicalExamPackages(medicalCardNumber: "001000056254587", idCardNumber: "370102197907025236") {
      id
      name
      kind
      introduction
      price
      standardPrice
      items { code name price }
    }
    physicalExamNotice(medicalCardNumber: "001000056254587", idCardNumber: "370102197907025236")
  }
}""",
    ),
)
"""What ``hisgraph demo`` offers to paste into GraphiQL: (title, query), patient graph then hospital graph."""


def soap_keys(base: str, path: str, style: SoapStyle, version: SoapVersion) -> dict[str, Any]:
    """The registry keys of a simulated WebService HIS at ``base/soap/<style>/<path>`` (its WSDL says the rest)."""
    keys: dict[str, Any] = {
        "transport": "webservice",
        "wsdl_url": f"{base}/soap/{'dispatch' if style == 'dispatch' else 'methods'}/{path}?wsdl",
        "soap_style": style,
        "soap_version": version,
        "base_url": f"{base}/{path}",  # file downloads (16.1.4) stay HTTP GETs
    }
    if style == "dispatch":
        keys |= {"soap_operation": "invoke", "soap_method_param": "methodName", "soap_param": "param"}
    else:
        keys["method_paths"] = SOAP_OPERATION_NAMES
    return keys


def simulated_region(
    simulator_base_url: str,
    *,
    timeout_s: float = 3.0,
    webservice: Mapping[str, SoapStyle] = DEMO_WEBSERVICE,
    soap_version: SoapVersion = "1.1",
) -> Registry:
    """The registry for a simulator at ``simulator_base_url`` (hisgraph simulate's default layout).

    ``webservice`` names the hospitals (and the regional endpoint, by its id) called over SOAP, with the style.
    """
    base = simulator_base_url.rstrip("/")
    # The simulated hospitals serve report PDFs and images from the simulator itself.
    file_hosts = (base.split("://", 1)[-1],)
    hospitals = [
        Hospital(
            id=h,
            name=DEMO_HOSPITALS[h],
            region="济南市",
            timeout_s=timeout_s,
            file_hosts=file_hosts,
            hos_code=f"0531_{h}",  # the hosCode its 21.1.x uploads carry
            allowed_ips=LOOPBACK,  # the simulated hospitals call our shims from this machine
            **(
                soap_keys(base, f"his/{h}", webservice[h], soap_version)
                if h in webservice
                else {"base_url": f"{base}/his/{h}"}
            ),
        )
        for h in STANDALONE
    ]
    hospitals += [
        Hospital(
            id=h,
            name=DEMO_HOSPITALS[h],
            region="平阴县",
            endpoint=REGIONAL_ENDPOINT,
            timeout_s=timeout_s,
            file_hosts=file_hosts,
            hos_code=f"0531_{h}",
            allowed_ips=LOOPBACK,  # the simulated hospitals call our shims from this machine
        )
        for h in REGIONAL
    ]
    endpoint_soap = (
        soap_keys(base, "regional", webservice[REGIONAL_ENDPOINT], soap_version)
        if REGIONAL_ENDPOINT in webservice
        else {"base_url": f"{base}/regional"}
    )
    endpoint = Endpoint(id=REGIONAL_ENDPOINT, name="平阴县区域HIS", timeout_s=timeout_s, **endpoint_soap)
    return Registry(hospitals=tuple(hospitals), endpoints=(endpoint,))


# -- the hospitals' schedules (21.1.4) and the sample appointment journey --------------------------------

SCHEDULE_DAYS = 7
"""The demo's hospitals open today and the next six days for booking (Beijing dates)."""


def schedule_days(today: date | None = None) -> list[date]:
    """The Beijing dates the demo's hospitals upload schedules for: today and the next ``SCHEDULE_DAYS - 1``."""
    first = today or datetime.now(CHINA_TIME).date()
    return [first + timedelta(days=n) for n in range(SCHEDULE_DAYS)]


_BOOKING_DAY = (datetime.now(CHINA_TIME) + timedelta(days=1)).strftime("%Y-%m-%d")

APPOINTMENT_JOURNEY: tuple[tuple[str, str], ...] = (
    (
        "Find tomorrow morning's slots with 扁鹊 (神经内科) at 253 (21.2.1): each answers the slotId booking takes",
        f"""\
query AppointmentSlots {{
  hospital(hospitalId: "253") {{
    appointmentSession(departmentId: "0256", doctorId: "256654", date: "{_BOOKING_DAY}", halfDay: MORNING) {{
      slots {{ slotId from remaining }}
    }}
  }}
}}""",
    ),
    (
        "Book the first slot at the fee 253 uploaded (21.1.4, 21.2.5, then 21.2.2)",
        """\
mutation BookAppointment($slotId: ID!) {
  createAppointmentPayment(
    slotId: $slotId, medicalCardNumber: "001000056254587", patientName: "张三",
    idCardNumber: "370102197907025236", phone: "15689898989", shownFee: "16.00"
  ) {
    __typename
    ... on CreatedPayment { order { outTradeNo state totalAmount onlineAmount } payParams }
    ... on Refusal { code message }
  }
}""",
    ),
    (
        "Pay it with the sandbox provider (the payment worker then tells 253 with 21.2.4)",
        """\
mutation PayAppointment($outTradeNo: String!) {
  payInSandbox(outTradeNo: $outTradeNo) { outTradeNo state }
}""",
    ),
    (
        "The order once 253 has it (state NOTIFIED, 253's serial number)",
        """\
query AppointmentOrder($outTradeNo: String!) {
  paymentOrder(outTradeNo: $outTradeNo) { outTradeNo paidFor state totalAmount hisSerial }
}""",
    ),
)
"""An appointment from its slot to the hospital's receipt (dev mode's sandbox pays; booking takes a slot's
``slotId``, the later steps the order's ``outTradeNo``, as variables). Printed once the simulated hospitals have
uploaded their schedules."""


def publish_demo_schedules(
    simulator: RunningSimulator, gateway_url: str, registry: Registry, *, days: list[date] | None = None
) -> list[Published]:
    """The simulated hospitals upload their schedules to the gateway's 21.1.4 shim, each as itself."""
    from simulator.uploads import publish_schedules

    hos_codes = {h.id: h.hos_code for h in registry.hospitals if h.hos_code}
    return publish_schedules(
        simulator.app.state.simulator, gateway_url, hos_codes=hos_codes, days=days or schedule_days()
    )


def publish_when_ready(
    simulator: RunningSimulator,
    gateway_url: str,
    registry: Registry,
    *,
    say: Callable[[str], None] = print,
    wait_s: float = 60.0,
) -> threading.Thread:
    """Once the gateway answers /healthz, the simulated hospitals upload their schedules (``publish_demo_schedules``)
    and ``say`` tells the outcome and the appointment journey. Runs in a daemon thread: the gateway serves meanwhile.
    """

    def run() -> None:
        give_up = time.monotonic() + wait_s
        while True:
            try:
                if httpx.get(f"{gateway_url}/healthz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > give_up:
                say("\nThe gateway did not start: the hospitals' schedules (21.1.4) were not uploaded.")
                return
            time.sleep(0.1)
        try:
            published = publish_demo_schedules(simulator, gateway_url, registry)
        except httpx.HTTPError as failure:
            say(f"\nThe hospitals' schedules (21.1.4) could not be uploaded: {type(failure).__name__}")
            return
        refused = [p.hospital_id for p in published if not p.accepted]
        sessions = sum(p.sessions for p in published if p.accepted)
        journey = "".join(f"\n# {title}\n{query}\n" for title, query in APPOINTMENT_JOURNEY)
        say(
            f"\nThe simulated hospitals uploaded {sessions} half-day schedules (21.1.4) through the gateway's shim"
            + (f"; refused for {', '.join(refused)}" if refused else "")
            + f".\nBook an appointment (signed in as above):\n{journey}"
        )

    thread = threading.Thread(target=run, name="demo-schedule-uploads", daemon=True)
    thread.start()
    return thread
