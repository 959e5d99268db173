"""Posting a recorded shim call again in-process, as its hospital: the dispatch behind operators' replay.

``replay_dispatch(app)`` is the ``ReplayDispatch`` services.shims.replay drives: it runs the app's own
router on a POST to the shim's path with the JSON body, no network in between. The caller is the
hospital the call acted for, put in the ASGI scope under ``auth.REPLAY_CALLER`` where the shims'
authenticator takes it. Only code in this process can put it there: a server builds the scope of a
network request from the connection, never from anything the client sends. Everything after
authentication (validation, deduplication, the ledger, the reply) is the shim's own.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Match, Route
from starlette.types import Message, Scope

from services.shims.replay import ReplayDispatch

from .auth import REPLAY_CALLER, ShimCaller

REPLAY_CLIENT = ("replay", 0)
"""The peer a replayed call shows in logs."""


def shim_route(app: Starlette, path: str) -> Route | None:
    """The POST route serving ``path`` among the app's shims (``/prefront/...``), or None."""
    if not path.startswith("/prefront/"):
        return None
    scope: Scope = {"type": "http", "method": "POST", "path": path, "root_path": ""}
    for route in app.router.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return route
    return None


def replay_dispatch(app: Starlette) -> ReplayDispatch:
    """The in-process dispatch of replays through ``app`` (see the module docstring)."""

    async def dispatch(path: str, hospital_id: str, body: Any) -> dict[str, Any]:
        if shim_route(app, path) is None:
            raise LookupError(path)
        hospital = app.state.services.registry.hospital(hospital_id)
        if hospital is None:
            raise LookupError(f"hospital {hospital_id} is no longer in the registry")
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())],
            "client": REPLAY_CLIENT,
            "server": ("hisgraph", 0),
            "state": {},
            "app": app,
            REPLAY_CALLER: ShimCaller(hospital_ids=frozenset({hospital.id}), auth=hospital.auth),
        }
        delivered = False

        async def receive() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}

        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app.router(scope, receive, send)
        reply = json.loads(b"".join(chunks))
        if not isinstance(reply, dict):  # pragma: no cover - every shim answers an object
            raise ValueError("the shim did not answer a JSON object")
        return reply

    return dispatch
