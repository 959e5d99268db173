"""Download links: files served with the right type and bytes, and every way a link or a file is refused."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.errors import HisHttpError
from his_clients.registry import Hospital, Registry
from services.file_links import FileLinkSigner
from services.files import WithheldReason, choose_type, withheld_reason
from tests.conftest import calls, run_graphql, subject_of
from tests.graph import test_reports
from tests.graph.test_reports import CARD, GatewayFactory

# The gateway with a file server and file hosts, as the report tests build it.
file_server = test_reports.file_server
make_gateway = test_reports.make_gateway
reports_gateway = test_reports.reports_gateway

FILES = """
query Files($card: String!, $hospitals: String!) {
  patient(medicalCardNumber: $card) {
    labReports(hospitalId: $hospitals) { reports { id detail { ... on LabReportDetail { pdf } } } }
    imagingReports(hospitalId: $hospitals) {
      reports { id detail { ... on ImagingReportDetail { pdf imageSeries { series thumbnail dicomImages } } } }
    }
    ecgReports(hospitalId: $hospitals) { reports { id detail { ... on EcgReportDetail { image pdf } } } }
    pathologyReports(hospitalId: $hospitals) { reports { id detail { ... on PathologyReportDetail { file pdf } } } }
    physicalExamReports(hospitalId: $hospitals) {
      reports { healthExamNumber detail { ... on PhysicalExamReportDetail { pdf } } }
    }
  }
}"""


def first(body: dict[str, Any], field: str, key: str, *, report: str | None = None) -> Any:
    for entry in body["data"]["patient"][field]:
        for row in entry["reports"]:
            detail = row["detail"]
            if detail and detail.get(key) and (report is None or row.get("id") == report):
                return detail[key]
    raise AssertionError(f"no {field}.{key} in {body}")


async def links(gateway: httpx.AsyncClient, hospitals: str = "253") -> dict[str, Any]:
    body = await run_graphql(gateway, FILES, card=CARD, hospitals=hospitals)
    assert "errors" not in body, body.get("errors")
    return body


async def test_files_download_with_their_type_and_bytes(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await links(reports_gateway)
    [series_by_id, series_by_url] = first(body, "imagingReports", "imageSeries")
    expected = {
        # 16.1.5 reportPdfCode: base64 decoded on the server
        first(body, "labReports", "pdf"): ("application/pdf", b"%PDF"),
        # 16.1.4: the PACS DICOM stream, passed through
        series_by_id["dicomImages"][0]: ("application/dicom", None),
        # 16.1.3 type url: fetched from the hospital's registered file host
        series_by_url["dicomImages"][0]: ("application/dicom", None),
        series_by_id["thumbnail"]: ("image/png", b"\x89PNG"),
        # 40.1.3 img: a data: URI with base64
        first(body, "ecgReports", "image"): ("image/png", b"\x89PNG"),
        # 41.1.3 reportUrl on the file host
        first(body, "pathologyReports", "file"): ("application/pdf", b"%PDF"),
        # pdfUrl of the details (16.1.2, 17.1.2, 40.1.2, 41.1.2)
        first(body, "imagingReports", "pdf"): ("application/pdf", b"%PDF"),
        first(body, "ecgReports", "pdf"): ("application/pdf", b"%PDF"),
        first(body, "physicalExamReports", "pdf"): ("application/pdf", b"%PDF"),
    }
    for link, (content_type, magic) in expected.items():
        response = await reports_gateway.get(link)
        assert response.status_code == 200, (link, response.text)
        assert response.headers["content-type"] == content_type
        assert response.headers["x-content-type-options"] == "nosniff"
        if magic is None:
            assert response.content[128:132] == b"DICM"
        else:
            assert response.content.startswith(magic)
    reached = {c["method"] for c in calls(sim_admin)}
    assert {
        "hospital.interface.pacsReportDcmFile",
        "hospital.interface.lisReportPdf",
        "hospital.interface.ecgReportImage",
        "hospital.interface.pathologyReportFile",
    } <= reached


async def test_the_regional_dicom_stream_carries_the_hospital_id(
    reports_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    body = await links(reports_gateway, hospitals="256")
    [series_by_id, _] = first(body, "imagingReports", "imageSeries")
    response = await reports_gateway.get(series_by_id["dicomImages"][0])
    assert response.status_code == 200
    assert response.content[128:132] == b"DICM"
    [streamed] = calls(sim_admin, method="hospital.interface.pacsReportDcmFile")
    assert streamed["hospitalId"] == "256"


async def test_urls_on_hosts_not_registered_are_refused(make_gateway: GatewayFactory) -> None:
    async with make_gateway(file_hosts=False) as gateway:
        body = await links(gateway)
        for link in (first(body, "pathologyReports", "file"), first(body, "ecgReports", "pdf")):
            response = await gateway.get(link)
            assert response.status_code == 403
            assert response.json()["code"] == "FILE_HOST_REFUSED"
        # Files the hospital sends itself need no file host.
        response = await gateway.get(first(body, "labReports", "pdf"))
        assert response.status_code == 200


async def test_forged_edited_and_expired_links_are_refused(reports_gateway: httpx.AsyncClient) -> None:
    """issue 12 item 13: expired, foreign and malformed links are told apart by status and code."""
    body = await links(reports_gateway)
    link = first(body, "labReports", "pdf")
    token = httpx.URL(link).path.removeprefix("/files/")
    version, _, sealed = token.partition(".")
    app = reports_gateway._transport.app  # type: ignore[attr-defined]
    secret = app.state.settings.file_link_secret.get_secret_value().encode()
    expired = FileLinkSigner(secret, ttl_s=60, clock=lambda: time.time() - 3600).sign(
        hospital_id="253",
        method="hospital.interface.lisReportPdf",
        request={"id": "1001", "medicalCardNumber": CARD},
        kind="base64",
        field="reportPdfCode",
        filename="x.pdf",
    )
    other_secret = FileLinkSigner(b"not the gateway's").sign(
        hospital_id="253",
        method="hospital.interface.lisReportPdf",
        request={"id": "1001", "medicalCardNumber": CARD},
        kind="base64",
        field="reportPdfCode",
        filename="x.pdf",
    )
    edited = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    for bad, status, code in (
        (f"{version}.{edited}", 403, "LINK_FOREIGN"),  # edited: no longer authentic
        (other_secret, 403, "LINK_FOREIGN"),  # another deployment's
        (expired, 410, "LINK_EXPIRED"),
        (version, 400, "LINK_MALFORMED"),  # cut short
        ("garbage", 400, "LINK_MALFORMED"),
        (f"{version}.{sealed[:10]}", 400, "LINK_MALFORMED"),
        (f"{version}.{sealed}%21", 400, "LINK_MALFORMED"),
    ):
        response = await reports_gateway.get(f"/files/{bad}")
        assert (response.status_code, response.json()["code"]) == (status, code), bad
    bumped = link.replace("expires=", "expires=9")
    assert (await reports_gateway.get(bumped)).json()["code"] == "LINK_MALFORMED"
    assert (await reports_gateway.get(link)).status_code == 200


async def test_a_download_rechecks_what_the_hospital_says_now(reports_gateway: httpx.AsyncClient) -> None:
    """A link to a detail's pdfUrl is refused if the detail now says the report is recalled."""
    services = reports_gateway._transport.app.state.services  # type: ignore[attr-defined]
    token = services.file_links.sign(
        subject=subject_of(reports_gateway),
        hospital_id="253",
        method="hospital.interface.laboratoryReportDetail",
        request={"id": "S-LAB-RECALLED", "type": "0", "medicalCardNumber": CARD},
        kind="url",
        field="pdfUrl",
        filename="x.pdf",
    )
    response = await reports_gateway.get(f"/files/{token}")
    assert response.status_code == 403
    assert response.json()["code"] == "FILE_WITHHELD"


async def test_a_file_the_hospital_does_not_have_is_404(reports_gateway: httpx.AsyncClient) -> None:
    services = reports_gateway._transport.app.state.services  # type: ignore[attr-defined]
    for method, request, kind in (
        ("hospital.interface.lisReportPdf", {"id": "no-such-report", "medicalCardNumber": CARD}, "base64"),
        ("hospital.interface.pacsReportDcmFile", {"dcmId": "no-such-image"}, "stream"),
    ):
        token = services.file_links.sign(
            subject=subject_of(reports_gateway),
            hospital_id="253",
            method=method,
            request=request,
            kind=kind,
            field="reportPdfCode",
            filename="x",
        )
        response = await reports_gateway.get(f"/files/{token}")
        assert response.status_code == 404, (method, response.text)


def test_file_hosts_match_host_and_port_and_refuse_tricks() -> None:
    hospital = Hospital(id="1", name="x", base_url="http://his.example/", file_hosts=["files.example", "10.0.0.5:8080"])
    assert hospital.allows_file_url("https://files.example/r/1.pdf")
    assert hospital.allows_file_url("http://FILES.example/r/1.pdf")
    assert hospital.allows_file_url("https://files.example:443/r/1.pdf")
    # issue 10 item 15: no port listed means the scheme's default port only, never another service's
    assert not hospital.allows_file_url("http://FILES.example:9000/r/1.pdf")
    assert not hospital.allows_file_url("http://files.example:443/r/1.pdf")
    assert not hospital.allows_file_url("https://files.example:80/r/1.pdf")
    assert hospital.allows_file_url("http://10.0.0.5:8080/pacs/1.dcm")
    assert not hospital.allows_file_url("http://10.0.0.5/pacs/1.dcm")
    assert not hospital.allows_file_url("http://10.0.0.5:8081/pacs/1.dcm")
    assert not hospital.allows_file_url("http://files.example@evil.example/")
    assert not hospital.allows_file_url("http://evil.example/?files.example")
    assert not hospital.allows_file_url("file:///etc/passwd")
    assert not hospital.allows_file_url("ftp://files.example/x")
    assert not hospital.allows_file_url("http://files.example:notaport/")


def test_only_safe_content_types_are_served_as_such() -> None:
    assert choose_type(declared="text/html", head=b"<html>", expected=None) == "application/octet-stream"
    assert choose_type(declared="image/svg+xml", head=b"<svg", expected="image/png") == "image/png"
    assert choose_type(declared="application/octet-stream", head=b"%PDF-1.4", expected=None) == "application/pdf"
    assert choose_type(declared=None, head=b"\x00" * 128 + b"DICM", expected=None) == "application/dicom"
    # issue 10 item 15: the hospital's header never decides; the bytes or what the link expects do
    assert choose_type(declared="image/jpeg; charset=x", head=b"??", expected=None) == "application/octet-stream"
    assert choose_type(declared="application/pdf", head=b"<html>", expected=None) == "application/octet-stream"
    assert choose_type(declared="text/html", head=b"??", expected="application/pdf") == "application/pdf"


def test_withheld_reasons_follow_the_spec() -> None:
    assert withheld_reason() is None  # absent flags: ordinary, audited, finished
    assert withheld_reason(is_positive="1", report_status="2") is WithheldReason.SENSITIVE
    assert withheld_reason(is_positive="0", report_status="1") is WithheldReason.NOT_AUDITED
    assert withheld_reason(report_status="3") is WithheldReason.RESTRICTED
    assert withheld_reason(report_status="3", show_restricted=True) is None
    assert withheld_reason(is_finished="0") is WithheldReason.NOT_FINISHED


async def test_redirects_from_a_file_host_are_not_followed(file_server: str) -> None:
    hospital = Hospital(id="253", name="x", base_url=f"http://{file_server}/his/253", file_hosts=[file_server])
    async with HisClient(Registry(hospitals=(hospital,))) as his:
        stream = await his.open_url_stream("253", f"http://{file_server}/files/253/lab/1.pdf", what="t")
        await stream.aclose()
        with pytest.raises(HisHttpError) as refused:
            await his.open_url_stream("253", f"http://{file_server}/files/253/lab/1.moved", what="t")
        assert refused.value.status == 302
        with pytest.raises(ValueError, match="file hosts"):
            await his.open_url_stream("253", "http://169.254.169.254/latest/meta-data/", what="t")
