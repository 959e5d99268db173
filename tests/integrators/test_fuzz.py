"""Schemathesis fuzzes the shims over their OpenAPI document, and the graph over /graphql (issue 16 item 2).

The real app runs under uvicorn on a loopback port (port 0), configured as ``hisgraph serve`` configures it
(api.cli.uvicorn_config), in front of the simulated region. Schemathesis loads the served documents (the shims'
``/prefront/openapi.json``, the graph's live schema by introspection) and sends what it generates over HTTP:

- **the shims, signed**: every request is signed as hospital 253 with HMAC scheme 2 (api/shims/auth.py,
  ``sign_request``) over the bytes actually sent, so the fuzz reaches validation and the handlers. The spec's
  examples, Schemathesis' coverage phase (each field missing, of a wrong type, at its bounds; other methods and
  content types) and generated bodies. Checks: no 5xx; status, content type, headers and body conform to the
  document; every refusal is the spec's envelope with a code the document lists for that path and a message with
  no internal text; no exception escaped a handler (a shim answers 10003 for one, so the log is watched for it);
- **the shims, unsigned**: generated calls with whatever credentials Schemathesis makes up (no address of the
  fuzzer is allowlisted): every answer is the envelope, refused with 50001 (or by the request guard), never 5xx;
- **the graph**: every root field, signed in as a patient, and the operators' views (``operator { ... }``)
  signed in as a region operator. Checks: no 5xx, the reply is GraphQL's and keeps the
  schema's contract (no null for a non-null field), no error carries internal text (a traceback, a Python class
  name, SQL), and no resolver raised an unexpected exception.

Bounded and repeatable: ``EXAMPLES`` generated examples per operation and mode, derandomized (the same inputs on
every run, so a red build reproduces), no example database. Run just these with
``.venv/bin/python -m pytest -p no:randomly tests/integrators/test_fuzz.py``; ``FUZZ_EXAMPLES=50`` explores more.
A failure prints the check, the reply and a curl command that reproduces it (signature headers included: resend
it within 300 s, with a fresh nonce, or re-sign it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import pytest
import requests
import schemathesis
import uvicorn
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from starlette.applications import Starlette

from api.app import create_app
from api.cli import uvicorn_config
from api.demo import simulated_region
from api.settings import Settings
from api.shims.auth import sign_request
from his_clients.codes import ReturnCode
from his_clients.registry import Registry
from simulator.server import RunningSimulator
from store.accounts import Operator
from store.seed import seed_demo
from tests.conftest import sign_in_patient

# Schemathesis's own GraphQL strategies draw from `random` once in a while, which Hypothesis warns about
# (HypothesisDeprecationWarning): a warning about the fuzzer's internals, not a fault of ours.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

T = TypeVar("T")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
"""Generated examples per operation and mode (the spec's own examples and boundary cases come on top)."""

CALLER = "253"
CALLER_HOS_CODE = "0531_253"  # how the 21.1.x uploads name hospital 253 (api/demo.py)
SECRET = "fuzz-secret-of-hospital-253-abcdef"
API_KEY_HOSPITAL = "254"
API_KEY = "fuzz-key-of-hospital-254-abcdef"
NOWHERE = ("192.0.2.1",)
"""An address no test runs from (TEST-NET-1): hospitals on ``auth = none`` cannot be reached by the fuzzer."""

WEBSERVICE = "/prefront/services/prefrontWebService"

INTERNAL_TEXT = re.compile(
    r"Traceback|File \"[^\"]+\", line \d+"
    r"|\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception|Warning)\b"  # ValueError, IntegrityError, ValidationError
    r"|<[\w.]+ object at 0x|\bNoneType\b|has no attribute|positional argument|keyword argument|not subscriptable"
    r"|invalid literal for|unsupported operand|object is not (?:iterable|callable)|index out of range"
    r"|division by zero|maximum recursion depth"
    r"|\b(?:api|resolvers|services|his_clients|store|simulator|sqlalchemy|pydantic|strawberry)\.[a-z_]+"
    r"|\bsqlite3?\b|\basyncpg\b|\b(?:SELECT|INSERT|UPDATE|DELETE)\b[^\n]*\b(?:FROM|INTO|SET|WHERE)\b"
    r"|\.py\b"
)
"""What a caller must never read: a traceback, a Python class or module name, a repr, SQL."""


def internal_text(text: str, *, public_names: frozenset[str] = frozenset()) -> str | None:
    """The first internal word in ``text``; the graph's own type names (HealthLastError) are public."""
    for match in INTERNAL_TEXT.finditer(text):
        if match.group(0) not in public_names:
            return match.group(0)
    return None


# -- the gateway under uvicorn, in a thread of its own -----------------------------------------------------------


class Faults(logging.Handler):
    """Every ERROR record (with its traceback) the gateway logs: a shim's swallowed exception ("shim failed"),
    a resolver's unexpected one (strawberry's execution log). A fuzzed request must leave none."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self._lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock:
            self.records.append(record)

    def take(self) -> list[str]:
        with self._lock:
            taken, self.records = self.records, []
        formatter = logging.Formatter()
        return [
            f"{r.name}: {r.getMessage()}\n{formatter.formatException(r.exc_info) if r.exc_info else ''}" for r in taken
        ]


@dataclass
class Served:
    url: str
    app: Starlette
    loop: asyncio.AbstractEventLoop
    faults: Faults = field(default_factory=Faults)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the gateway's own loop (the store belongs to it)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)


@contextlib.contextmanager
def serving(settings: Settings) -> Iterator[Served]:
    """The app under uvicorn on a loopback port of its own, its loop in a thread (the fuzzer's calls block)."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, log_config=None))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(server.serve(sockets=[sock]),), name="fuzzed-gateway", daemon=True
    )
    thread.start()
    started = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - started > 60:
            raise RuntimeError("the gateway did not start")
        time.sleep(0.02)
    served = Served(url=f"http://127.0.0.1:{port}", app=app, loop=loop)
    root = logging.getLogger()
    root.addHandler(served.faults)
    try:
        yield served
    finally:
        root.removeHandler(served.faults)
        server.should_exit = True
        thread.join(timeout=30)
        loop.close()
        sock.close()


def fuzz_registry(simulator: RunningSimulator) -> Registry:
    """The simulated region, with hospital 253 on HMAC (scheme 2) and 254 on an API key; the others on
    ``auth = none`` from an address the fuzzer does not have."""
    region = simulated_region(simulator.base_url, timeout_s=2.0)
    hospitals = []
    for hospital in region.hospitals:
        if hospital.id == CALLER:
            hospital = hospital.model_copy(update={"auth": "hmac", "hmac_secret": SECRET, "allowed_ips": ()})
        elif hospital.id == API_KEY_HOSPITAL:
            hospital = hospital.model_copy(update={"auth": "api_key", "api_key": API_KEY, "allowed_ips": ()})
        else:
            hospital = hospital.model_copy(update={"allowed_ips": NOWHERE})
        hospitals.append(hospital)
    return Registry.model_validate({**region.model_dump(), "hospitals": [h.model_dump() for h in hospitals]})


@pytest.fixture(scope="module")
def gateway_served(simulator: RunningSimulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    database = Path(tmp_path_factory.mktemp("fuzz")) / "gateway.sqlite3"
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{database}",
        registry=fuzz_registry(simulator),
        request_deadline_s=5.0,
    )
    with serving(settings) as served:
        served.run(seed_demo(served.app.state.services.db))
        yield served


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    """Schemathesis' lazy schemas (``from_fixture``) read and write ``request.node._nodeid``, which pytest 9.2's
    nodes no longer have (they keep ``_id``): give it the id, so it can name each operation's subtest."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


def config(max_examples: int = EXAMPLES, **phases: bool) -> schemathesis.Config:
    """Bounded and repeatable: EXAMPLES per operation and mode, derandomized, no example database. Hypothesis'
    health checks (slow generation on a loaded runner) are off: they judge the generator, not the gateway."""
    return schemathesis.Config.from_dict(
        {
            "suppress-health-check": ["all"],
            "generation": {"max-examples": max_examples, "deterministic": True, "database": "none"},
            "phases": {name: {"enabled": enabled} for name, enabled in phases.items()},
        }
    )


# -- the shims ---------------------------------------------------------------------------------------------------


class SignedAs(requests.auth.AuthBase):
    """Signs each request as a hospital with HMAC scheme 2, over the method, path, query and body bytes as sent."""

    def __init__(self, hospital_id: str, secret: str) -> None:
        self.hospital_id = hospital_id
        self.secret = secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        assert isinstance(body, bytes)  # requests' type allows a stream; a generated case's body is bytes or text
        parts = urlsplit(str(request.url))
        path = "/" + "/".join(segment for segment in unquote(parts.path).split("/") if segment)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
        request.headers["X-Hospital-Id"] = self.hospital_id
        request.headers["X-Timestamp"] = timestamp
        request.headers["X-Nonce"] = nonce
        request.headers["X-Signature"] = sign_request(
            self.secret,
            method=str(request.method),
            path=path,
            hospital_id=self.hospital_id,
            timestamp=timestamp,
            nonce=nonce,
            body=body,
            query=parts.query,
        )
        return request


def envelope_of(response: schemathesis.Response) -> dict[str, Any]:
    body = response.json()
    assert isinstance(body, dict), f"the reply is not the spec's envelope (a JSON object): {response.text[:200]}"
    return body


def spec_envelope(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """Every reply is the spec's envelope; a refusal has a code the document lists for the path and a message
    without internal text."""
    body = envelope_of(response)
    assert isinstance(body.get("success"), bool), f"no boolean success: {body}"
    message = body.get("msg", body.get("message"))
    if body["success"] is False:
        assert isinstance(message, str), f"a refusal without msg: {body}"
        documented = {c["code"] for c in case.operation.definition.raw.get("x-return-codes", ())}
        assert str(body.get("code")) in documented, f"code {body.get('code')} is not documented: {body}"
    leaked = internal_text(str(message))
    assert leaked is None, f"internal text {leaked!r} in the reply: {message}"


def handler_did_not_fail(faults: Faults) -> Callable[..., None]:
    def no_exception_in_the_gateway(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
        """No exception escaped into the log while the gateway answered (a shim answers 10003 for one)."""
        found = faults.take()
        assert not found, "the gateway logged an error:\n" + "\n".join(found)

    return no_exception_in_the_gateway


def signature_accepted(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """The signing works: the spec's own examples (hospital 253's) are never refused as unauthorized."""
    if case.meta is not None and case.meta.phase.name.value == "examples" and response.status_code == 200:
        body = envelope_of(response)
        assert body.get("code") != ReturnCode.UNAUTHORIZED.value, f"a signed example was refused: {body}"


def refused_unauthorized(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """Without valid credentials the handler never runs: 50001 (or a refusal of the request guard, which runs
    before any handler, in the same envelope)."""
    body = envelope_of(response)
    assert body.get("success") is False, f"an unauthenticated call succeeded: {body}"
    if response.status_code == 200:
        assert body.get("code") == ReturnCode.UNAUTHORIZED.value, f"not refused with 50001: {body}"


# Not Schemathesis' ignored_auth and negative_data_rejection: the spec refuses with HTTP 200 and a 附四 code
# (50001, 2000x), never 401/403/4xx; refused_unauthorized and spec_envelope check that instead.
SHIM_CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
    spec_envelope,
]


def as_the_caller(body: Any) -> Any:
    """The body with every hospital it names (``hospitalId``, ``hosCode``, in any case) the caller's."""
    if isinstance(body, list):
        return [as_the_caller(item) for item in body]
    if not isinstance(body, dict):
        return body
    named = {"hospitalid": CALLER, "hoscode": CALLER_HOS_CODE}
    return {
        key: named.get(key.strip().lower(), as_the_caller(value)) if isinstance(key, str) else value
        for key, value in body.items()
    }


@pytest.fixture(scope="module")
def shims_schema(gateway_served: Served) -> schemathesis.BaseSchema:
    """The served document; the spec's examples, the coverage phase (every field missing, of the wrong type, at
    its bounds; unexpected methods and content types) and fuzzing.

    The spec's examples name other hospitals (1, 0370_0001, 0531_csyy): they are sent as hospital 253's, so they
    reach the handlers; a fuzzed body is sent as generated or as 253's, half and half (a foreign hospital is
    refused with 50001 before anything else, and is fuzzed as it comes)."""
    schema = schemathesis.openapi.from_url(
        f"{gateway_served.url}/prefront/openapi.json", config=config(examples=True, coverage=True, fuzzing=True)
    )

    @schema.hook
    def before_add_examples(context: schemathesis.HookContext, examples: list[schemathesis.Case[Any]]) -> None:
        for example in examples:
            example.body = as_the_caller(example.body)

    @schema.hook
    def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
        return st.sampled_from([body, as_the_caller(body)])

    return schema


@pytest.fixture(scope="module")
def unsigned_shims_schema(gateway_served: Served) -> schemathesis.BaseSchema:
    """The same document, fuzzed only: without credentials the body never matters (the handler never runs)."""
    return schemathesis.openapi.from_url(
        f"{gateway_served.url}/prefront/openapi.json", config=config(examples=True, coverage=False, fuzzing=True)
    )


# The WebService endpoint takes SOAP (its faults are HTTP 500, as SOAP 1.1 says): tests/api/test_webservice.py.
shims = schemathesis.pytest.from_fixture("shims_schema").exclude(path=WEBSERVICE)
unsigned_shims = schemathesis.pytest.from_fixture("unsigned_shims_schema").exclude(path=WEBSERVICE)


@shims.parametrize()
def test_fuzzed_signed_calls_get_the_documented_envelope(
    case: schemathesis.Case[Any], gateway_served: Served, sim_admin: Any
) -> None:
    """issue 16 item 2: signed calls (HMAC scheme 2 as hospital 253) reach the handlers; every check holds."""
    gateway_served.faults.take()
    with requests.Session() as session:
        session.auth = SignedAs(CALLER, SECRET)
        case.call_and_validate(
            session=session,
            checks=[*SHIM_CHECKS, signature_accepted, handler_did_not_fail(gateway_served.faults)],
            timeout=30,
        )


@unsigned_shims.parametrize()
def test_fuzzed_unauthenticated_calls_are_refused_with_50001(
    case: schemathesis.Case[Any], gateway_served: Served, sim_admin: Any
) -> None:
    """issue 16 item 2: with whatever credentials the fuzzer makes up, every shim answers the envelope, 50001."""
    gateway_served.faults.take()
    case.call_and_validate(
        checks=[*SHIM_CHECKS, refused_unauthorized, handler_did_not_fail(gateway_served.faults)], timeout=30
    )


# -- the graph -----------------------------------------------------------------------------------------------------


def graphql_errors_hold_no_internal_text(
    ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> None:
    """No error message (or extension) tells a traceback, a Python class or module, a repr or SQL."""
    body = response.json()
    assert isinstance(body, dict), f"not a GraphQL reply: {response.text[:200]}"
    public_names = frozenset(case.operation.schema.client_schema.type_map)
    for error in body.get("errors") or ():
        text = f"{error.get('message', '')} {error.get('extensions', '')}"
        leaked = internal_text(text, public_names=public_names)
        assert leaked is None, f"internal text {leaked!r} in a GraphQL error: {text[:500]}"


def no_http_server_error(ctx: Any, response: schemathesis.Response, case: schemathesis.Case[Any]) -> None:
    """No 5xx. (Schemathesis' own not_a_server_error also counts every GraphQL error outside validation as a
    server's; here a refusal with its code is an answer, and the log check below finds what is a fault.)"""
    assert response.status_code < 500, f"HTTP {response.status_code}: {response.text[:500]}"


# The graph's own scalar (resolvers/scalars.py): two-place decimal strings, and any text, which it must refuse.
schemathesis.graphql.scalar(
    "Money",
    st.one_of(
        st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False).map(str),
        st.text(max_size=24),
    ).map(schemathesis.graphql.nodes.String),
)


@pytest.fixture(scope="module")
def graph_schema(gateway_served: Served) -> schemathesis.BaseSchema:
    return schemathesis.graphql.from_url(
        f"{gateway_served.url}/graphql", config=config(examples=True, coverage=False, fuzzing=True)
    )


graph = schemathesis.pytest.from_fixture("graph_schema")


@pytest.fixture(scope="module")
def operator_views_schema(gateway_served: Served) -> schemathesis.BaseSchema:
    """``operator { ... }`` alone is one operation of some twenty views: five times the examples."""
    return schemathesis.graphql.from_url(
        f"{gateway_served.url}/graphql", config=config(5 * EXAMPLES, examples=True, coverage=False, fuzzing=True)
    )


graph_operator_views = schemathesis.pytest.from_fixture("operator_views_schema").include(name="Query.operator")


@pytest.fixture(scope="module")
def patient_token(gateway_served: Served) -> str:
    return gateway_served.run(sign_in_patient(gateway_served.app, openid="test:fuzz"))


async def sign_in_region_operator(app: Starlette) -> str:
    """A session token of a region operator (made directly, as tests/conftest.py's sign_in_operator does)."""
    services = app.state.services
    async with services.db.session() as session:
        operator = Operator(username="test.fuzz.region", password_hash="none", role="region", hospital_id=None)
        session.add(operator)
        await session.flush()
        principal, _ = services.operators.sessions.start(session, operator)
    token: str = services.sessions.issue(principal)
    return token


@pytest.fixture(scope="module")
def operator_token(gateway_served: Served) -> str:
    return gateway_served.run(sign_in_region_operator(gateway_served.app))


GRAPH_CHECKS = [no_http_server_error, st_checks.response_schema_conformance, graphql_errors_hold_no_internal_text]


@graph.parametrize()
def test_fuzzed_graphql_operations_never_fail_inside(
    case: schemathesis.Case[Any], gateway_served: Served, patient_token: str, sim_admin: Any
) -> None:
    """issue 16 item 2: every root field, signed in as a patient: no 5xx, the schema's contract kept, no internal
    text in an error, no unexpected exception in a resolver."""
    gateway_served.faults.take()
    case.call_and_validate(
        headers={"Authorization": f"Bearer {patient_token}"},
        checks=[*GRAPH_CHECKS, handler_did_not_fail(gateway_served.faults)],
        timeout=30,
    )


@graph_operator_views.parametrize()
def test_fuzzed_operator_views_never_fail_inside(
    case: schemathesis.Case[Any], gateway_served: Served, operator_token: str, sim_admin: Any
) -> None:
    """issue 16 item 2: the operators' views (``operator { ... }``), signed in as a region operator: the same
    checks. (Their mutations are fuzzed as a patient above, who is refused them.)"""
    gateway_served.faults.take()
    case.call_and_validate(
        headers={"Authorization": f"Bearer {operator_token}"},
        checks=[*GRAPH_CHECKS, handler_did_not_fail(gateway_served.faults)],
        timeout=30,
    )
