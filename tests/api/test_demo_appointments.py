"""`hisgraph demo` from zero: the simulated hospitals upload their schedules (21.1.4) through the gateway's shim
once it listens, and the printed appointment journey books, pays and reaches the hospital at the uploaded fee."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from api.demo import APPOINTMENT_JOURNEY, SIGN_IN

ROOT = Path(__file__).resolve().parents[2]


def _read_until_journey(process: subprocess.Popen[str]) -> str:
    """The demo's output up to the end of the appointment journey it prints after the uploads."""
    assert process.stdout is not None
    last_title = f"# {APPOINTMENT_JOURNEY[-1][0]}\n"
    printed: list[str] = []
    for _ in range(2000):  # lines; the demo prints a few hundred
        line = process.stdout.readline()
        if not line:
            break
        printed.append(line)
        if line == "}\n" and last_title in printed:
            break
    return "".join(printed)


def test_the_demo_books_an_appointment_at_the_fee_the_hospital_uploaded(tmp_path: Path) -> None:
    """issue 10 item 18 follow-up: no fixture writes the schedule; the demo's hospitals upload it (21.1.4)
    through the shim, and the sample journey is charged what 253 uploaded for the session (16.00)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", "0", "--data-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        text = _read_until_journey(process)
        assert "half-day schedules (21.1.4) through the gateway's shim." in text, text[-2000:]
        assert "refused for" not in text
        url = re.search(r"GraphiQL: (http://\S+/graphql)", text)
        simulator = re.search(r"simulated region \(hospitals 253-257\): (http://\S+)", text)
        assert url, text
        assert simulator, text
        section = text[text.index("Book an appointment") :]
        journey = re.findall(r"^# ([^\n]+)\n(.*?^\})$", section, re.MULTILINE | re.DOTALL)
        assert [title for title, _ in journey] == [title for title, _ in APPOINTMENT_JOURNEY]
        (_, find), (_, book), (_, pay), (_, read) = journey

        with httpx.Client(timeout=30) as client:
            token = client.post(url.group(1), json={"query": SIGN_IN}).json()["data"]["logInForDevelopment"]["token"]
            headers = {"Authorization": f"Bearer {token}"}

            def ask(query: str, **variables: str) -> dict[str, Any]:
                body = client.post(url.group(1), json={"query": query, "variables": variables}, headers=headers)
                answer = body.json()
                assert "errors" not in answer, answer
                data: dict[str, Any] = answer["data"]
                return data

            [slot, *_] = ask(find)["hospital"]["appointmentSession"]["slots"]
            created = ask(book, slotId=slot["slotId"])["createAppointmentPayment"]
            assert created["__typename"] == "CreatedPayment", created
            order = created["order"]
            assert order["totalAmount"] == "16.00"  # 扁鹊's fee as 253 uploaded it
            number = order["outTradeNo"]
            assert ask(pay, outTradeNo=number)["payInSandbox"] == {"outTradeNo": number, "state": "PAID"}
            state: dict[str, Any] = {}
            for _ in range(300):  # the payment worker tells 253 (21.2.4) in the background
                state = ask(read, outTradeNo=number)["paymentOrder"]
                if state["state"] == "NOTIFIED":
                    break
                time.sleep(0.1)
            assert state["state"] == "NOTIFIED", state
            assert state["hisSerial"]

            recorded = client.get(f"{simulator.group(1)}/admin/calls").json()
            (booked,) = [c for c in recorded if c["method"] == "hospital.interface.appointmentInfo"]
            assert str(booked["body"]["arAmt"]) in ("16.00", "16")
            (paid,) = [c for c in recorded if c["method"] == "hospital.interface.yyghRegister"]
            assert str(paid["body"]["arAmt"]) in ("16.00", "16")
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()
