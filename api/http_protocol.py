"""uvicorn's httptools protocol, writing a response's head and body to the socket in one write.

uvicorn writes the status line and headers when the app sends ``http.response.start``, and the body when it sends
``http.response.body``: two writes, so two ``send`` calls and two TCP segments for every response, and a client
that wakes up twice to read one answer. Here the head is held until the first body message and goes out with it:
one write for a whole response (``Response`` and ``JSONResponse`` send their body in one message). A streamed
response's head goes out with its first chunk; a HEAD response's (which has no body to write) alone, when its
body message comes. Nothing else of uvicorn's behaviour changes: ``Expect: 100-continue``'s interim answer is
written at once, as before, and a response that fails between its head and its body is cut off as uvicorn cuts
it off (the connection closed), without its held head.

Measured with bench/load.py: see the README's "morning rush".
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn._types import ASGI3Application, ASGISendEvent
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


class _HeldHead:
    """The cycle's transport: what is written while ``holding`` (the head) waits for the next write."""

    __slots__ = ("held", "holding", "in_body", "transport")

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.held: bytes | None = None
        self.holding = False
        self.in_body = False

    def write(self, data: bytes) -> None:
        if self.holding:
            self.held = data if self.held is None else self.held + data
            return
        held = self.held
        if held is not None:
            self.held = None
            data = held + data
        self.transport.write(data)

    def flush(self) -> None:
        if self.held is not None:
            self.write(b"")

    def close(self) -> None:
        if self.in_body:  # the response is complete (uvicorn closes a connection not kept alive): its head goes
            self.flush()
        else:  # a response cut off after its head: the client sees the connection close, as before
            self.held = None
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class _OneWriteCycle(RequestResponseCycle):
    """uvicorn's request-response cycle, its head held for the first body message (see ``_HeldHead``)."""

    transport: _HeldHead  # type: ignore[assignment]

    async def send(self, message: ASGISendEvent) -> None:
        transport = self.transport
        if message["type"] == "http.response.start":
            transport.holding = True
            try:
                await super().send(message)
            finally:
                transport.holding = False
            return
        transport.in_body = True
        try:
            await super().send(message)
        finally:
            transport.in_body = False
        transport.flush()  # a head whose body uvicorn did not write (HEAD): alone


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """``hisgraph serve``'s HTTP protocol (api/cli.py): uvicorn's httptools protocol, one write per response."""

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        cycle.__class__ = _OneWriteCycle  # the same object and state; only ``send`` is ours
        cycle.transport = _HeldHead(cycle.transport)  # type: ignore[assignment]
        super()._start_asgi_task(cycle, app)
