"""A vendor's sandbox hospital in the demo region (``hisgraph demo --sandbox-hospital 999 --sandbox-key KEY
--sandbox-url URL``): a HIS vendor points the gateway at its own HIS and calls our shims as that hospital.

- Our calls to the hospital (the GraphQL queries naming it, ``hisgraph probe``) go to ``URL + "/" + method``,
  JSON over HTTP, as the spec describes.
- The vendor calls our shims (``POST /prefront/...``) with ``X-Hospital-Id: 999`` and ``X-Api-Key: KEY`` (or, with
  ``--sandbox-auth hmac``, signs with KEY as its HMAC secret, scheme 2: docs/hospital-integration.md), from any
  address.
- Each call is recorded, masked, in the inbound ledger; operators read it in GraphQL
  (``operator { inboundCalls(hospitalId: "999") { path replyCode body reply } }``): what we received and what we
  answered.
"""

from __future__ import annotations

from typing import Final, Literal

from his_clients.registry import Hospital, Registry

from .demo import DEMO_HOSPITALS

SandboxAuth = Literal["api_key", "hmac"]
SANDBOX_AUTH: Final[tuple[SandboxAuth, ...]] = ("api_key", "hmac")


def sandbox_hospital(
    hospital_id: str, url: str, *, key: str, auth: SandboxAuth = "api_key", timeout_s: float = 3.0
) -> Hospital:
    """The sandbox hospital: HIS at ``url``, shim calls proven by ``key`` (an API key, or the HMAC secret).

    Its hosCode (the 21.1.x uploads) is its id. Raises ValueError (pydantic's ValidationError among them) for an
    id, URL or key the registry would refuse (a key needs 16 characters or more)."""
    if hospital_id in DEMO_HOSPITALS:
        raise ValueError(f"hospital {hospital_id} is one of the simulated hospitals: pick another id")
    secret = {"api_key": key} if auth == "api_key" else {"hmac_secret": key}
    return Hospital.model_validate(
        {
            "id": hospital_id,
            "name": f"沙箱医院 {hospital_id} (sandbox)",
            "region": "sandbox",
            "base_url": url.rstrip("/"),
            "timeout_s": timeout_s,
            "hos_code": hospital_id,
            "auth": auth,
            **secret,
        }
    )


def with_sandbox(registry: Registry, hospital: Hospital) -> Registry:
    """``registry`` with the sandbox hospital added (the demo's own hospitals unchanged)."""
    return Registry(hospitals=(*registry.hospitals, hospital), endpoints=registry.endpoints)
