"""Files the simulated hospitals serve: a small but well-formed DICOM Part 10 file per image id, for
16.1.4 (获取PACS影像dcm文件流), report PDFs and ECG images."""

from __future__ import annotations

import struct
import zlib

from starlette.requests import Request
from starlette.responses import Response


def _element(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB") else b" "
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH2sHI", group, element, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, element, vr, len(value)) + value


def dicom_bytes(*, dcm_id: str, patient_name: str, patient_id: str, study: str) -> bytes:
    """128-byte preamble, DICM, file meta and a tiny 64x64 8-bit greyscale image."""
    uid_suffix = str(zlib.crc32(dcm_id.encode()))
    sop_uid = f"1.2.826.0.1.3680043.8.498.{uid_suffix}".encode()
    meta_body = (
        _element(0x0002, 0x0001, b"OB", b"\x00\x01")
        + _element(0x0002, 0x0002, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
        + _element(0x0002, 0x0003, b"UI", sop_uid)
        + _element(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1")
    )
    meta = _element(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    side = 64
    seed = zlib.crc32(dcm_id.encode())
    pixels = bytes(((x * y + seed) >> 3) & 0xFF for y in range(side) for x in range(side))
    dataset = (
        _element(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7")
        + _element(0x0008, 0x0018, b"UI", sop_uid)
        + _element(0x0008, 0x0060, b"CS", b"OT")
        + _element(0x0008, 0x1030, b"LO", study.encode("utf-8"))
        + _element(0x0010, 0x0010, b"PN", patient_name.encode("utf-8"))
        + _element(0x0010, 0x0020, b"LO", patient_id.encode())
        + _element(0x0028, 0x0002, b"US", struct.pack("<H", 1))
        + _element(0x0028, 0x0004, b"CS", b"MONOCHROME2")
        + _element(0x0028, 0x0010, b"US", struct.pack("<H", side))
        + _element(0x0028, 0x0011, b"US", struct.pack("<H", side))
        + _element(0x0028, 0x0100, b"US", struct.pack("<H", 8))
        + _element(0x0028, 0x0101, b"US", struct.pack("<H", 8))
        + _element(0x0028, 0x0102, b"US", struct.pack("<H", 7))
        + _element(0x0028, 0x0103, b"US", struct.pack("<H", 0))
        + _element(0x7FE0, 0x0010, b"OW", pixels)
    )
    return b"\x00" * 128 + b"DICM" + meta + dataset


# Other files hospitals hand out: report PDFs (pdfUrl, reportUrl, 16.1.5 reportPdfCode, 41.1.3) and
# ECG images (40.1.3 img). Small, well-formed, and different per report.

FILE_ROUTE = "/files/{hospital_id}/{kind}/{name}"
"""Where the simulated hospitals' file server answers: ``{base}/files/253/lab/1001.pdf``."""


def report_pdf_bytes(*, title: str) -> bytes:
    """A one-page PDF 1.4 saying ``title`` (ASCII), with a correct cross-reference table."""
    text = title.encode("ascii", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
    stream = b"BT /F1 14 Tf 72 760 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def ecg_png_bytes(*, seed: str, width: int = 120, height: int = 40) -> bytes:
    """A greyscale PNG with a trace that differs per ``seed``: an ECG strip, roughly."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    phase = zlib.crc32(seed.encode()) % 17
    trace = [height // 2 - (12 if (x + phase) % 30 == 0 else 2 if (x + phase) % 30 == 3 else 0) for x in range(width)]
    rows = b"".join(b"\x00" + bytes(0 if trace[x] == y else 255 for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


async def serve_report_file(request: Request) -> Response:
    """GET ``FILE_ROUTE``: report PDFs (``.pdf``), PACS images by URL (``.dcm``), thumbnails (``.png``),
    and a redirect (``.moved``).

    Like a plain file server, it keeps no index: any name of those kinds is served.
    """
    hospital_id = request.path_params["hospital_id"]
    kind = request.path_params["kind"]
    stem, _, extension = str(request.path_params["name"]).rpartition(".")
    if extension == "pdf":
        data, media_type = report_pdf_bytes(title=f"Hospital {hospital_id} {kind} report {stem}"), "application/pdf"
    elif extension == "dcm":
        data = dicom_bytes(dcm_id=stem, patient_name="", patient_id="", study=kind)
        media_type = "application/octet-stream"
    elif extension == "png":
        data, media_type = ecg_png_bytes(seed=stem), "image/png"
    elif extension == "moved":
        # A file server that redirects elsewhere: a gateway must not follow it.
        return Response(status_code=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    else:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(data, media_type=media_type, headers={"Content-Length": str(len(data))})
