"""Hospital files passed on chunk by chunk (DICOM series, PDFs), never held whole.

With transport.py, the only place in his_clients that knows httpx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from .errors import HisConnectError, HisTimeout

FILE_ERROR_BODY_LIMIT = 64 * 1024
"""A file method answering JSON (a refusal) is read up to this size; more is not an envelope."""


@dataclass
class FileStream:
    """An open download from a hospital: headers read, body not yet. Always ``aclose()`` it.

    Files (DICOM series, PDFs) can be large, so they are passed on chunk by chunk and never held
    whole. Each stream has a connection of its own: downloads are rare and long, and must not hold
    the pooled connections or the bulkhead slots that HIS calls share.
    """

    status: int
    content_type: str
    content_length: int | None
    _response: httpx.Response
    _client: httpx.AsyncClient
    _closed: bool = False

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_bytes():
            yield chunk

    async def aclose(self) -> None:
        """Idempotent: the serving side closes on completion and again on a client's disconnect."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._response.aclose()
        finally:
            await self._client.aclose()


async def open_stream(
    url: str, params: dict[str, str] | None, *, timeout_s: float, hospital_id: str, label: str
) -> FileStream:
    # The timeout applies per read (connect, then each chunk), not to the whole download.
    client = httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=httpx.Timeout(timeout_s))
    try:
        response = await client.send(client.build_request("GET", url, params=params), stream=True)
    except httpx.TimeoutException:
        await client.aclose()
        raise HisTimeout(f"no answer within {timeout_s:.2f}s", hospital_id=hospital_id, method=label) from None
    except httpx.HTTPError as exc:
        await client.aclose()
        raise HisConnectError(str(exc) or type(exc).__name__, hospital_id=hospital_id, method=label) from None
    except BaseException:
        await client.aclose()
        raise
    # Chunks come decoded, so an encoded body's length says nothing about what is passed on.
    encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
    length = "" if encoded else response.headers.get("content-length", "")
    return FileStream(
        status=response.status_code,
        content_type=response.headers.get("content-type", ""),
        content_length=int(length) if length.isdigit() else None,
        _response=response,
        _client=client,
    )
