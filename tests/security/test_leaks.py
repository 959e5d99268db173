"""What leaks: logs, hospitals' internals, file links, the survey page (issue 10 items 12, 13, 15, 16)."""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from api.logs import JsonFormatter, MaskPersonalData, masked_handler, request_id_var
from api.settings import Settings
from his_clients.client import HisClient
from his_clients.registry import Hospital, Registry
from services.surveys import SurveyInvite, SurveyService
from tests.conftest import DEMO_CARD, DEMO_ID_NUMBER, free_port, inject, run_graphql, running_gateway
from tests.graph import test_reports
from tests.graph.test_files import FILES, first
from tests.graph.test_mutations import BY_FIELD, send

ROOT = Path(__file__).resolve().parents[2]
PHONE = "13800138000"
SECRET_TOKEN = "eyJoIjoiMjUzIiwidCI6IjAiLCJ2IjoiNTI0NTU0MjUxIn0.c2lnbmF0dXJlLW9mLXRoZS1saW5r"
HOSPITAL_INTERNALS = (
    "ORA-00942: table or view does not exist; java.sql.SQLSyntaxErrorException at "
    "com.winning.his.dao.PayDao.query(PayDao.java:88) via jdbc:oracle:thin:@10.1.2.3:1521/HISDB "
    f"patient {DEMO_ID_NUMBER} tel {PHONE}"
)
INTERNAL_MARKS = ("ORA-", "java.", "com.winning", "jdbc:", "10.1.2.3", "SQLSyntax")

file_server = test_reports.file_server
make_gateway = test_reports.make_gateway
reports_gateway = test_reports.reports_gateway


# -- issue 10 item 12: every log line masked ---------------------------------------------------------


def test_uvicorn_access_lines_mask_query_strings_and_link_tokens(tmp_path: Path) -> None:
    """issue 10 item 12: `hisgraph serve`'s access log, through uvicorn itself, masks ?idCard=&phone= and tokens."""
    env = {
        **os.environ,
        "HISGRAPH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'logs.sqlite3'}",
        "HISGRAPH_RUN_JOBS": "false",
        "HISGRAPH_RUN_PAYMENT_WORKER": "false",
    }
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "--log-level", "INFO", "serve", "--config", "hospitals.example.toml"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        answered = httpx.get(f"{base}/healthz?idCard={DEMO_ID_NUMBER}&phone={PHONE}&token=s3cr3t-value")
        assert answered.headers["x-request-id"]
        assert "server" not in answered.headers  # what runs here is not told
        httpx.get(f"{base}/survey/{SECRET_TOKEN}")
        httpx.get(f"{base}/files/f1.{SECRET_TOKEN}?expires=1")
        httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer abc.defghij"})
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    access = [json.loads(line) for line in stderr.splitlines() if '"uvicorn.access"' in line]
    assert len(access) >= 4, stderr[-3000:]
    assert any(entry["request_id"] == answered.headers["x-request-id"] for entry in access)
    assert all("trace_id" in entry for entry in access)
    for secret in (DEMO_ID_NUMBER, PHONE, "s3cr3t-value", SECRET_TOKEN, SECRET_TOKEN.split(".")[0], "abc.defghij"):
        assert secret not in stderr
    assert any("idCard=***&phone=***" in entry["msg"] for entry in access)


def test_tracebacks_extras_and_bearer_tokens_are_masked() -> None:
    """issue 10 item 12: a crash's traceback, extra fields and secrets in the message are masked; JSON with ids."""
    stream = io.StringIO()
    logger = logging.getLogger("hisgraph.test.leaks")
    logger.propagate = False
    logger.addHandler(masked_handler(stream))
    token = request_id_var.set("req-123")
    try:
        try:
            raise ValueError(f"card of {DEMO_ID_NUMBER}, phone {PHONE}, Authorization: Bearer {SECRET_TOKEN}")
        except ValueError:
            logger.exception("crashed at /survey/%s?phone=%s", SECRET_TOKEN, PHONE, extra={"who": {"tel": PHONE}})
    finally:
        request_id_var.reset(token)
        logger.handlers.clear()
        logger.propagate = True
    written = stream.getvalue()
    entry = json.loads(written)
    assert "Traceback" in entry["exc"]
    assert entry["request_id"] == "req-123"
    assert entry["trace_id"] == ""
    for secret in (DEMO_ID_NUMBER, PHONE, SECRET_TOKEN):
        assert secret not in written
    assert "370102********5236" in entry["exc"]


def test_text_built_to_pass_the_quick_check_is_still_masked() -> None:
    """issue 13 item 2 made masking skip text that no pattern can match (api/logs.py): personal data and secrets
    written without any = : or / (bare, in full-width digits, behind Basic/Bearer, a bare signed token), in the
    message, in extras and in a caller's request id, still never reach the log."""
    full_width_phone = "".join(chr(ord(d) + 0xFEE0) for d in PHONE)  # １３８... : \d matches it, so must we
    bare_token = "eyJoIjoiMjUzIiwidCI6IjAifQ.c2lnbmF0dXJlLW9mLXRoZS1saW5r"
    stream = io.StringIO()
    logger = logging.getLogger("hisgraph.test.quick_check")
    logger.propagate = False
    logger.setLevel(logging.INFO)  # whatever level an earlier test left on the root logger
    logger.addHandler(masked_handler(stream))
    token = request_id_var.set(f"req {PHONE}")
    try:
        logger.info("patient %s rang from %s", DEMO_ID_NUMBER, full_width_phone, extra={"link": bare_token})
        logger.info("Basic dXNlcm5hbWVwYXNzd29yZA and bearer %s", "abcdefgh.ijklmnop", extra={"raw": [PHONE]})
    finally:
        request_id_var.reset(token)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
    written = stream.getvalue()
    assert len(written.splitlines()) == 2
    for secret in (DEMO_ID_NUMBER, PHONE, full_width_phone, bare_token, "dXNlcm5hbWVwYXNzd29yZA", "abcdefgh.ijklmnop"):
        assert secret not in written, secret


def test_the_formatter_never_writes_an_unmasked_exception() -> None:
    """issue 10 item 12: the filter leaves only masked text on the record, whatever formatter comes after it."""
    record = logging.LogRecord("uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application", None, None)
    try:
        raise RuntimeError(f"id {DEMO_ID_NUMBER}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert MaskPersonalData().filter(record)
    assert record.exc_info is None
    assert DEMO_ID_NUMBER not in JsonFormatter().format(record)
    assert DEMO_ID_NUMBER not in logging.Formatter().format(record)


def test_every_library_logger_goes_through_the_masked_handler() -> None:
    """issue 10 item 12: uvicorn's, strawberry's and SQLAlchemy's loggers are routed to the one masked handler."""
    script = (
        "import logging\n"
        "from api.logs import configure_logging\n"
        "configure_logging('INFO')\n"
        "for name in ('uvicorn.error', 'uvicorn.access', 'strawberry.execution', 'sqlalchemy.engine', 'x'):\n"
        f"    logging.getLogger(name).warning('%s %s', name, '{DEMO_ID_NUMBER}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60, check=True
    )
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert [entry["logger"] for entry in lines] == [
        "uvicorn.error",
        "uvicorn.access",
        "strawberry.execution",
        "sqlalchemy.engine",
        "x",
    ]
    assert DEMO_ID_NUMBER not in result.stderr


# -- issue 10 item 13: hospitals' internals never reach patients --------------------------------------


PENDING = """
query ($card: String!) {
  patient(medicalCardNumber: $card) { pendingPayments(hospitalId: "253,256") { hospitalId totalAmount } }
}"""


async def test_a_hospital_error_text_never_reaches_the_app(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    """issue 10 item 13: an Oracle error, a Java class and a JDBC address in a HIS message: the patient sees the
    code and the fixed 附四 message; the text goes to the operators' log only."""
    method = "hospital.interface.queryWaitPay"
    inject(sim_admin, hospitalId="256", method=method, kind="code", code="30001", msg=HOSPITAL_INTERNALS)
    with caplog.at_level(logging.WARNING, logger="hisgraph.hospital_said"):
        body = await run_graphql(gateway, PENDING, card=DEMO_CARD)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "30001"
    assert error["message"] == "医院系统暂时无法办理，请稍后再试，或到医院窗口咨询。"
    text = json.dumps(body, ensure_ascii=False)
    assert not [mark for mark in INTERNAL_MARKS if mark in text]
    assert any("ORA-00942" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("field", ["checkInAtTriage"])
async def test_a_refused_write_shows_the_fixed_message_of_its_code(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, field: str
) -> None:
    """issue 10 item 13: Refusal.message is 附四's wording for the code, not the hospital's msg."""
    write = BY_FIELD[field]
    inject(sim_admin, hospitalId="254", method=write.method, kind="code", code="60701", msg=HOSPITAL_INTERNALS)
    result = await send(gateway, write, "254")
    assert (result["__typename"], result["code"]) == ("Refusal", "ALREADY_TRIAGED")
    assert result["message"] == "已分诊，同一诊室/医生不能重复分诊，请到分诊台处理"
    inject(sim_admin, hospitalId="254", method=write.method, kind="code", code="99999", msg=HOSPITAL_INTERNALS)
    unknown = await send(gateway, write, "254")
    assert not [mark for mark in INTERNAL_MARKS if mark in json.dumps(unknown, ensure_ascii=False)]


@pytest.mark.parametrize("kind", ["http500", "invalid_json"])
async def test_an_unavailable_hospital_is_told_in_a_fixed_message(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, kind: str
) -> None:
    """issue 10 item 13: connection and protocol failures carry no internal detail either."""
    write = BY_FIELD["checkInAtTriage"]
    inject(sim_admin, hospitalId="254", method=write.method, kind=kind)
    result = await send(gateway, write, "254")
    assert (result["__typename"], result["outcomeUnknown"]) == ("Refusal", True)
    assert result["message"].startswith("医院系统")
    assert "127.0.0.1" not in result["message"]


# -- issue 10 item 15 and issue 12 item 13: file links ------------------------------------------------


def _decodable_parts(link: str) -> list[bytes]:
    parts = []
    for piece in link.replace("?", "/").replace("=", "/").replace(".", "/").split("/"):
        try:
            parts.append(base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4)))
        except (binascii.Error, ValueError):
            continue
    return parts


async def test_file_links_are_absolute_opaque_and_need_no_header(reports_gateway: httpx.AsyncClient) -> None:
    """issue 10 item 15, issue 12 item 13: absolute, says its expiry, no readable card number, no header needed."""
    issued_after = int(time.time())
    body = await run_graphql(reports_gateway, FILES, card=DEMO_CARD, hospitals="253")
    issued_before = int(time.time()) + 1
    link = first(body, "labReports", "pdf")
    url = httpx.URL(link)
    assert url.scheme in ("http", "https")
    assert url.host
    expires = int(url.params["expires"])
    # The link lives the configured 10 minutes from when it was made (bounded by the clock read around the request).
    assert issued_after + 600 <= expires <= issued_before + 600
    assert DEMO_CARD not in link
    for decoded in _decodable_parts(link):
        assert DEMO_CARD.encode() not in decoded
        assert b"lisReportPdf" not in decoded
    app = reports_gateway._transport.app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as no_session:
        response = await no_session.get(link)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_file_host_without_a_port_allows_its_default_port_only(file_server: str) -> None:
    """issue 10 item 15: `file_hosts = ["127.0.0.1"]` no longer reaches a service on another port of that host."""
    host, port = file_server.split(":")
    pinned = Hospital(id="253", name="x", base_url=f"http://{file_server}/his/253", file_hosts=[host])
    async with HisClient(Registry(hospitals=(pinned,))) as his:
        with pytest.raises(ValueError, match="file hosts"):
            await his.open_url_stream("253", f"http://{host}:{port}/files/253/lab/1.pdf", what="t")
    with_port = pinned.model_copy(update={"file_hosts": (file_server,)})
    async with HisClient(Registry(hospitals=(with_port,))) as his:
        stream = await his.open_url_stream("253", f"http://{file_server}/files/253/lab/1.pdf", what="t")
        await stream.aclose()


# -- issue 10 item 16: the survey page ---------------------------------------------------------------


@pytest.fixture
async def survey_gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'survey.sqlite3'}",
        registry=region,
        public_base_url="https://gateway.example",
    )
    async with running_gateway(settings, signed_in=False) as client:
        yield client


def _survey_path(client: httpx.AsyncClient) -> str:
    service: SurveyService = client._transport.app.state.services.surveys  # type: ignore[attr-defined]
    invite = SurveyInvite(hospital_id="253", questionnaire_type="0", visit_key="leak-test-1")
    return f"/survey/{service.links.token(invite)}"


ANSWERS = {"overall": "5", "doctor": "4", "nurse": "5", "waiting": "3", "environment": "4", "recommend": "愿意"}


async def test_the_survey_page_cannot_be_framed(survey_gateway: httpx.AsyncClient) -> None:
    """issue 10 item 16: frame-ancestors 'none' and X-Frame-Options DENY, on the page and on its refusals."""
    for path in (_survey_path(survey_gateway), "/survey/forged"):
        response = await survey_gateway.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "https://gateway.example.evil.example"},
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://gateway.example"},
        {"Referer": "https://evil.example/page"},
    ],
    ids=["foreign-origin", "null-origin", "lookalike-origin", "sec-fetch-cross-site", "foreign-referer"],
)
async def test_a_cross_site_survey_submit_is_refused(
    survey_gateway: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """issue 10 item 16: another site's form cannot submit a patient's survey (CSRF); our own page can."""
    path = _survey_path(survey_gateway)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = await survey_gateway.post(path, content=urlencode(ANSWERS), headers={**form, **headers})
    assert refused.status_code == 403
    assert refused.headers["x-frame-options"] == "DENY"
    for ours in ("https://gateway.example", "http://gateway"):
        page = await survey_gateway.get(path)
        assert page.status_code == 200  # still unanswered
        accepted = await survey_gateway.post(path, content=urlencode(ANSWERS), headers={**form, "Origin": ours})
        assert accepted.status_code in (200, 409)


REGISTRATION_CHECK = """
query ($card: String!) {
  hospitals(hospitalId: "253") { todayDepartment(id: "0235") { registrationCheck(medicalCardNumber: $card) {
    allowed reason code
  } } }
}"""


@pytest.mark.parametrize(("code", "reason"), [("60210", "挂号次数超出限制"), ("", "今日暂不能挂此科室的号")])
async def test_a_registration_limit_shows_the_code_not_the_hospital_text(
    gateway: httpx.AsyncClient, sim_admin: httpx.Client, code: str, reason: str
) -> None:
    """issue 10 item 13, a sibling: 20.1.5's refusal reason is the code's fixed words, never the hospital's msg."""
    method = "hospital.interface.todayRegisterGetDeptLimit"
    inject(sim_admin, hospitalId="253", method=method, kind="code", code=code or "x", msg=HOSPITAL_INTERNALS)
    body = await run_graphql(gateway, REGISTRATION_CHECK, card=DEMO_CARD)
    [hospital] = body["data"]["hospitals"]
    check = hospital["todayDepartment"]["registrationCheck"]
    assert check["allowed"] is False
    assert reason in check["reason"]
    assert not [mark for mark in INTERNAL_MARKS if mark in json.dumps(body, ensure_ascii=False)]
