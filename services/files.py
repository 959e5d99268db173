"""Serving a hospital file behind a download link, and what a patient may see of a report.

A link (``services.file_links``) names one HIS call and where its reply holds the file. Serving it:

- ``stream``: the method answers the bytes itself (16.1.4 PACS DICOM, a GET with no envelope); they
  are passed through chunk by chunk, never held whole.
- ``base64`` / ``url``: the reply holds the file in a field (16.1.5 reportPdfCode, 40.1.3 img,
  41.1.3 reportFileCode, 31.1.2 ...) or a URL to it (pdfUrl, reportUrl, PACS image URLs). ``field``
  is a path into the reply as the spec spells it (``reportPdfCode``, ``0.dcms.1``), with ``|``
  between alternatives tried in order. A value starting ``http://`` or ``https://`` is a URL,
  fetched only from the hospital's registered ``file_hosts`` and never through a redirect; any
  other value is base64 (a ``data:`` URI prefix gives the content type), decoded here.

What a file is served as is decided here, never taken from the hospital's header: what its first
bytes show (PDF, PNG, JPEG, GIF, BMP, DICOM), else what the link expects, if that is one of the types
below; anything else goes out as ``application/octet-stream`` with ``nosniff``, so a hospital's file can
never run as a page of ours. Every failure is a ``FileRefused`` with the HTTP status and a code to
answer, and a fixed message: never a 500, and never the hospital's own text (that goes to the log).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError

from his_clients.catalog import BY_NAME
from his_clients.client import HisClient
from his_clients.errors import HisError, HisHttpError, HisNoData, HisTimeout
from his_clients.file_streams import FileStream
from his_clients.method import Envelope
from his_clients.registry import Registry

from .file_links import FileRef

log = logging.getLogger("hisgraph.files")

SERVED_TYPES = frozenset(
    {
        "application/pdf",
        "application/dicom",
        "application/octet-stream",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/bmp",
        "image/webp",
    }
)
"""Content types served as themselves. Not text/html nor image/svg+xml: those can carry script."""

_MAGIC = (
    (b"%PDF", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"BM", "image/bmp"),
)
SNIFF_BYTES = 132
"""DICOM Part 10 puts ``DICM`` after a 128-byte preamble."""


class WithheldReason(StrEnum):
    """Why a report's details and files are not shown to the patient (chapters 16, 17, 40, 41)."""

    SENSITIVE = "sensitive"
    """isPositive 1: 敏感报告将不会给用户展示报告详情或者pdf."""
    NOT_AUDITED = "not_audited"
    """reportStatus 1: not audited yet, or recalled after auditing (审核之后又召回)."""
    RESTRICTED = "restricted"
    """41.1.1 reportStatus 3: audited but sensitive by policy, and the hospital does not show those online."""
    NOT_FINISHED = "not_finished"
    """17.x isFinished 0: the physical exam's summary (总检) is not done."""


def withheld_reason(
    *,
    is_positive: str | None = None,
    report_status: str | None = None,
    is_finished: str | None = None,
    show_restricted: bool = False,
) -> WithheldReason | None:
    """Whether a report must be withheld from the patient, and why; None when it may be shown.

    Absent flags take the spec's defaults: isPositive absent is an ordinary report, reportStatus
    absent is audited (2), isFinished absent is finished.
    """
    if (is_positive or "").strip() == "1":
        return WithheldReason.SENSITIVE
    status = (report_status or "").strip()
    if status == "1":
        return WithheldReason.NOT_AUDITED
    if status == "3" and not show_restricted:
        return WithheldReason.RESTRICTED
    if (is_finished or "").strip() == "0":
        return WithheldReason.NOT_FINISHED
    return None


class FileRefused(Exception):
    """The file cannot be served; ``status`` is the HTTP status to answer with, ``code`` says why."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "FILE_UNAVAILABLE")


_CODES = {403: "FILE_REFUSED", 404: "FILE_NOT_FOUND", 502: "HOSPITAL_FAILED", 504: "HOSPITAL_TIMEOUT"}
_NOT_FOUND = "医院没有这个文件。"
_HOSPITAL_FAILED = "暂时无法从医院取得文件，请稍后再试。"


def _hospital_failed(error: HisError) -> FileRefused:
    """What the patient is told when a hospital's file call fails; the hospital's text goes to the log."""
    log.warning("file from hospital %s, %s failed %s: %s", error.hospital_id, error.method, error.code, error.message)
    return FileRefused(502, _HOSPITAL_FAILED, code="HOSPITAL_FAILED")


@dataclass
class FileBody:
    """A file ready to serve: its type, its bytes as chunks, and what to close when done."""

    content_type: str
    filename: str
    content_length: int | None
    chunks: AsyncIterator[bytes]
    aclose: Callable[[], Awaitable[None]]


async def open_file(ref: FileRef, *, his: HisClient, registry: Registry, deadline_s: float) -> FileBody:
    """The file a verified link points at. Raises FileRefused, never anything else for a hospital's failure."""
    # The caller was checked against ref.subject by the route: a link is made for one account (whose
    # card the linked call names, checked when the link was made) and is served to that account only.
    hospital = registry.hospital(ref.hospital_id)
    method = BY_NAME.get(ref.method)
    if hospital is None or method is None:
        raise FileRefused(404, _NOT_FOUND)
    try:
        request = method.request.model_validate(ref.request)
    except ValidationError:
        raise FileRefused(404, _NOT_FOUND) from None
    try:
        deadline = asyncio.get_running_loop().time() + deadline_s
        if ref.kind == "stream" or method.envelope is Envelope.FILE:
            stream = await his.open_file_stream(method, ref.hospital_id, request, deadline=deadline)
            return await _from_stream(stream, ref)
        reply = await his.call(method, ref.hospital_id, request, deadline=deadline)
        wire = _wire(reply)
        _check_visible(wire, show_restricted=hospital.show_audited_sensitive_pathology)
        value = _pick(wire, ref.field)
        if value.startswith(("http://", "https://")):
            if not hospital.allows_file_url(value):
                log.warning("hospital %s gave a file URL off its file hosts: %s", ref.hospital_id, value)
                raise FileRefused(403, "医院给出的文件地址不在其登记的文件服务器上。", code="FILE_HOST_REFUSED")
            stream = await his.open_url_stream(ref.hospital_id, value, what=method.name)
            return await _from_stream(stream, ref)
        return _from_base64(value, ref)
    except HisNoData:
        raise FileRefused(404, _NOT_FOUND) from None
    except HisHttpError as error:
        if 300 <= error.status < 400:
            log.warning("hospital %s: its file host redirected; not followed", ref.hospital_id)
            raise FileRefused(403, "医院文件服务器要求跳转，出于安全不予跟随。", code="FILE_HOST_REFUSED") from None
        if error.status == 404:
            raise FileRefused(404, _NOT_FOUND) from None
        raise _hospital_failed(error) from None
    except HisTimeout:
        raise FileRefused(504, "医院系统响应超时，请稍后再试。") from None
    except HisError as error:  # a refusal (HisRejected) included: its text is the hospital's, for the log
        raise _hospital_failed(error) from None


def _wire(reply: Any) -> Any:
    if isinstance(reply, BaseModel):
        return reply.model_dump(by_alias=True, mode="json")
    if isinstance(reply, list):
        return [_wire(item) for item in reply]
    return reply


def _check_visible(wire: Any, *, show_restricted: bool) -> None:
    """The reply may itself say the report is not for the patient (pdfUrl of a detail that was recalled)."""
    if not isinstance(wire, dict):
        return
    reason = withheld_reason(
        is_positive=_text(wire.get("isPositive")),
        report_status=_text(wire.get("reportStatus")),
        is_finished=_text(wire.get("isFinished")),
        show_restricted=show_restricted,
    )
    if reason is not None:
        raise FileRefused(403, f"该报告暂不向患者展示 ({reason})。", code="FILE_WITHHELD")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _pick(wire: Any, field: str | None) -> str:
    """The first non-empty value among ``field``'s ``|``-separated paths (``reportUrl|0.dcms.1``)."""
    for path in (field or "").split("|"):
        node = wire
        for step in path.split(".") if path else ():
            if isinstance(node, dict):
                node = node.get(step)
            elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
                node = node[int(step)]
            else:
                node = None
                break
        if isinstance(node, str) and node.strip():
            return node.strip()
    raise FileRefused(404, _NOT_FOUND)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes reveal, if any."""
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if head[128:132] == b"DICM":
        return "application/dicom"
    return None


def choose_type(*, declared: str | None, head: bytes, expected: str | None) -> str:
    """What a file is served as: what its bytes show, else what the link expects, if safe.

    ``declared`` (the hospital's Content-Type, or a ``data:`` URI's) is never trusted: a hospital's header
    must not decide how a patient's browser treats bytes served from our origin.
    """
    del declared
    for candidate in (sniff(head), _bare(expected)):
        if candidate in SERVED_TYPES and candidate != "application/octet-stream":
            return candidate
    return "application/octet-stream"


def _bare(content_type: str | None) -> str | None:
    return content_type.split(";")[0].strip().lower() if content_type else None


def _from_base64(value: str, ref: FileRef) -> FileBody:
    declared = None
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        declared = header[5:].split(";")[0]
    text = "".join(value.split())
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_" if "-" in text or "_" in text else None)
    except (binascii.Error, ValueError):
        log.warning("hospital %s sent a file that is not valid base64 (%s)", ref.hospital_id, ref.method)
        raise FileRefused(502, _HOSPITAL_FAILED) from None
    if not data:
        raise FileRefused(404, _NOT_FOUND)

    async def one_chunk() -> AsyncIterator[bytes]:
        yield data

    async def nothing_to_close() -> None:
        return None

    return FileBody(
        content_type=choose_type(declared=declared, head=data[:SNIFF_BYTES], expected=ref.content_type),
        filename=ref.filename,
        content_length=len(data),
        chunks=one_chunk(),
        aclose=nothing_to_close,
    )


async def _from_stream(stream: FileStream, ref: FileRef) -> FileBody:
    """Serve a stream; its first bytes are read ahead only far enough to tell its type."""
    chunks = stream.chunks()
    head = b""
    try:
        async for chunk in chunks:
            head += chunk
            if len(head) >= SNIFF_BYTES:
                break
    except HisError:
        await stream.aclose()
        raise
    except Exception as exc:  # the connection broke before the first bytes: the hospital's failure
        await stream.aclose()
        log.warning("file from hospital %s broke off: %s", ref.hospital_id, type(exc).__name__)
        raise FileRefused(502, _HOSPITAL_FAILED) from None

    async def rest() -> AsyncIterator[bytes]:
        try:
            if head:
                yield head
            async for chunk in chunks:
                yield chunk
        finally:
            # Also when the patient's client goes away mid-download: the hospital's connection is freed.
            await stream.aclose()

    return FileBody(
        content_type=choose_type(declared=stream.content_type, head=head, expected=ref.content_type),
        filename=ref.filename,
        content_length=stream.content_length,
        chunks=rest(),
        aclose=stream.aclose,
    )
