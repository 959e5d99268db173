"""GraphQL Mesh beside the gateway in bench/load.py (``--mesh``), when ``npx`` can install it.

Mesh's JSON Schema handler over the same simulated hospitals: one source whose Query has a field per
hospital (``h300`` ... ``h349``), each a POST of queryWaitPay to that hospital, typed from a real request
and reply. A request for N hospitals asks N of those fields in one GraphQL document. Mesh is installed
with npm into ``HISGRAPH_MESH_DIR`` (default /tmp/hisgraph-mesh) on first use, within ``INSTALL_TIMEOUT_S``;
``start_mesh`` answers a sentence saying why when it cannot run it, and the bench prints it.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

INSTALL_TIMEOUT_S = 400
BUILD_TIMEOUT_S = 300
PACKAGES = ("@graphql-mesh/cli@0.103", "@graphql-mesh/json-schema", "graphql")
WAIT_PAY = "hospital.interface.queryWaitPay"


def _install(directory: Path) -> str | None:
    if (directory / "node_modules" / ".bin" / "mesh").exists():
        return None
    if shutil.which("npm") is None:
        return "npm is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text('{"name": "hisgraph-mesh-bench", "private": true}')
    try:
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", *PACKAGES],
            cwd=directory,
            capture_output=True,
            timeout=INSTALL_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        return f"npm install did not finish within {INSTALL_TIMEOUT_S} s"
    if done.returncode != 0:
        return f"npm install failed: {done.stderr.decode(errors='replace')[-300:]}"
    return None


def _meshrc(his_base: str, hospitals: list[str], port: int) -> str:
    operations = "".join(
        f"""
        - type: Query
          field: h{h}
          path: /{h}/{WAIT_PAY}
          method: POST
          requestSample: ./request.json
          responseSample: ./reply.json
          responseTypeName: WaitPayReply{h}"""
        for h in hospitals
    )
    return f"""sources:
  - name: Hospitals
    handler:
      jsonSchema:
        endpoint: {his_base}
        operationHeaders:
          Content-Type: application/json
        operations:{operations}
serve:
  port: {port}
  hostname: 127.0.0.1
  fork: 2
  playground: false
"""


def selection(sample: Any) -> str:
    """The GraphQL selection of every field of a JSON sample (lists by their first item)."""
    if isinstance(sample, list):
        return selection(sample[0]) if sample else ""
    if isinstance(sample, dict):
        return "{ " + " ".join(f"{key} {selection(value)}".strip() for key, value in sample.items()) + " }"
    return ""


def mesh_query(hospitals: list[str], card: str, fields_of_reply: str) -> str:
    fields = " ".join(
        f'h{h}: h{h}(input: {{hospitalId: "{h}", medicalCardNumber: "{card}"}}) {fields_of_reply}' for h in hospitals
    )
    return "{ " + fields + " }"


async def start_mesh(
    session: aiohttp.ClientSession,
    workdir: Path,
    his_base: str,
    hospitals: list[str],
    card: str,
    processes: list[subprocess.Popen[bytes]],
) -> Any:
    """A bench Server for Mesh on a free port, or a sentence saying why it was skipped."""
    from bench.fanout_overhead import free_port
    from bench.load import MESH, Server, wait_up

    directory = Path(os.environ.get("HISGRAPH_MESH_DIR", "/tmp/hisgraph-mesh"))
    problem = await asyncio.to_thread(_install, directory)
    if problem is not None:
        return problem
    project = workdir / "mesh"
    project.mkdir(exist_ok=True)
    request = {"hospitalId": hospitals[0], "medicalCardNumber": card}
    async with session.post(f"{his_base}/{hospitals[0]}/{WAIT_PAY}", json=request) as reply:
        sample = await reply.json(content_type=None)
    (project / "request.json").write_text(json.dumps(request))
    (project / "reply.json").write_text(json.dumps(sample, ensure_ascii=False))
    port = free_port()
    (project / ".meshrc.yaml").write_text(_meshrc(his_base, hospitals, port))
    mesh = str(directory / "node_modules" / ".bin" / "mesh")
    env = {**os.environ, "NODE_PATH": str(directory / "node_modules")}
    try:
        built = await asyncio.to_thread(
            subprocess.run, [mesh, "build"], cwd=project, capture_output=True, timeout=BUILD_TIMEOUT_S, env=env
        )
    except subprocess.TimeoutExpired:
        return f"mesh build did not finish within {BUILD_TIMEOUT_S} s"
    if built.returncode != 0:
        return f"mesh build failed: {(built.stderr or built.stdout).decode(errors='replace')[-400:]}"
    process = subprocess.Popen(  # noqa: ASYNC220 - started once, before the load
        [mesh, "start"], cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    processes.append(process)
    try:
        await wait_up(session, f"http://127.0.0.1:{port}/healthcheck", process, "GraphQL Mesh")
    except RuntimeError as error:
        return str(error)[-400:]

    def ok(status: int, body: bytes, width: int) -> bool:
        if status != 200:
            return False
        data = json.loads(body)
        return "errors" not in data and len(data.get("data") or {}) == width

    return Server(
        MESH,
        process,
        f"http://127.0.0.1:{port}/graphql",
        lambda hs: {"query": mesh_query(hs, card, selection(sample))},
        ok=ok,
    )
