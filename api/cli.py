"""``hisgraph``: run the gateway, the simulated region, or both; export the schema.

A user's mistake (a missing file, a typo in the registry, a port in use, a duplicate operator) gets one
line on stderr and exit code 2, never a traceback; anything else is logged, masked, and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from his_clients.registry import Hospital, Registry

from .logs import configure_logging, log_config
from .settings import Settings, UnsafeProduction

log = logging.getLogger("hisgraph.cli")


class UserMistake(Exception):
    """Something the person at the terminal can fix: shown as one line, exit code 2."""


T = TypeVar("T")


def _bind(host: str, port: int, *, flag: str = "--port") -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise UserMistake(f"port {port} on {host} is in use: stop what holds it, or pass {flag}") from None
        raise UserMistake(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: object, *, settings: Settings | None = None, **options: Any) -> uvicorn.Config:
    """How uvicorn serves ``app``: proxy headers only from ``trusted_proxies`` (api/addresses.py), else off
    (uvicorn's own default would trust ``X-Forwarded-For`` from 127.0.0.1, i.e. from any local process)."""
    if settings is None:
        settings = app.state.settings  # type: ignore[attr-defined]
    assert settings is not None
    trusted = settings.trusted_proxies
    # uvloop and httptools: the fast loop and HTTP parser, in every worker, each response written in one write
    # (api/http_protocol.py); logging: one masked JSON handler for every logger (api/logs.py), applied by uvicorn
    # in each worker process.
    defaults: dict[str, Any] = {
        "log_level": "info",
        "loop": "uvloop",
        "http": "api.http_protocol:OneWriteHttpToolsProtocol",
        "log_config": _LOGGING.config(),
        "server_header": False,  # no "server: uvicorn": nothing about what runs here is told to callers
    }
    options = defaults | options
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        lifespan="on",
        proxy_headers=bool(trusted),
        forwarded_allow_ips=list(trusted),
        **options,
    )


class _LoggingOptions:
    """What --log-level and --log-format chose, for the uvicorn config of this process and its workers."""

    level = "WARNING"
    json_lines = True
    access_log = True

    def config(self) -> dict[str, Any]:
        return log_config(self.level, json_lines=self.json_lines, access_log=self.access_log)


_LOGGING = _LoggingOptions()


def _serve(app: object, sockets: list[socket.socket], **options: Any) -> None:
    # Server.run, not asyncio.run(Server.serve()): only run installs the configured loop (uvloop).
    uvicorn.Server(uvicorn_config(app, **options)).run(sockets=sockets)


DEMO_METRICS_PORT = 9464
"""The demo's metrics port (the one OpenTelemetry's Prometheus exporter uses); any free one when it is taken."""


def _metrics_socket(settings: Settings, host: str, main: socket.socket) -> tuple[Settings, socket.socket | None]:
    """The metrics port's socket when ``metrics_port`` is set (api/metrics.py MetricsPort), and the settings
    naming the port it got (0 asks for any free one); workers read it from HISGRAPH_METRICS_PORT."""
    if settings.metrics_port is None or settings.metrics_access == "off":
        return settings, None
    metrics_host = settings.metrics_host or host
    sock = _bind(metrics_host, settings.metrics_port, flag="--metrics-port")
    port = int(sock.getsockname()[1])
    if port == main.getsockname()[1] and metrics_host == host:
        sock.close()
        raise UserMistake("--metrics-port must differ from --port")
    os.environ["HISGRAPH_METRICS_PORT"] = str(port)
    return settings.model_copy(update={"metrics_port": port}), sock


def _metrics_url(settings: Settings, host: str) -> str:
    return f"http://{settings.metrics_host or host}:{settings.metrics_port}/metrics"


def _die_with_parent() -> None:
    """A worker ends when its supervisor dies, even by SIGKILL: no orphan keeps serving the port (Linux)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def worker_app() -> object:
    """The app factory each ``serve --workers N`` process calls: settings from the environment, which
    ``cmd_serve`` filled in (registry path, shared secrets, migrations already done)."""
    from .app import create_app

    _die_with_parent()
    return _frozen(create_app(Settings()))


YOUNG_COLLECTION_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation in served processes (CPython's default is
700). A request at 50 hospitals allocates tens of thousands of short-lived objects, nearly all freed by their
reference counts; at 700 the collector ran dozens of times a request to find almost nothing. Measured with
bench/cpu_per_hospital.py --gc-freeze at 50 hospitals, two runs each, interleaved: the collector's time per
request 2.34 and 2.60 ms at 700, 0.87 and 1.45 ms at 10,000 (50,000 gave no more). Cycles are still found:
the older generations' thresholds are kept, and 10,000 young objects are a few megabytes at most."""


def _frozen(app: T) -> T:
    """The app, with everything built so far (modules, the schema, the registry) moved out of the collector's
    reach: a full collection no longer walks start-up's ~280,000 objects under load (bench/cpu_per_hospital.py
    --gc-freeze: the collector's share per request fell from ~18 to ~5 ms at 50 hospitals); and the youngest
    generation collected every ``YOUNG_COLLECTION_THRESHOLD`` allocations. Served processes only: tests build
    many apps in one process and must not pin each one."""
    gc.collect()
    gc.freeze()
    _young, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)
    return app


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if not 1 <= count <= 64:
        raise argparse.ArgumentTypeError("between 1 and 64")
    return count


def _settings(config: str | None, **overrides: Any) -> Settings:
    """Settings from the environment (and ``--config``), refused in one line when they do not validate."""
    if config is not None and not Path(config).is_file():
        raise UserMistake(f"no such registry file: {config}")
    try:
        given: dict[str, Any] = {"registry_path": Path(config)} if config else {}
        return Settings(**given, **overrides)
    except ValidationError as invalid:
        raise UserMistake(f"invalid settings: {_first_problem(invalid)}") from None
    except SettingsError as unreadable:  # an HISGRAPH_* variable that is not what its field reads (e.g. not JSON)
        raise UserMistake(f"invalid settings: {unreadable}") from None


def _first_problem(invalid: ValidationError) -> str:
    errors = invalid.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _registry(settings: Settings, config: str | None) -> Registry:
    try:
        return settings.load_registry()
    except FileNotFoundError:
        raise UserMistake(f"no such registry file: {config or settings.registry_path}") from None
    except ValidationError as invalid:
        raise UserMistake(f"registry {config or settings.registry_path}: {_first_problem(invalid)}") from None
    except ValueError as invalid:  # unreadable TOML, or no registry at all
        raise UserMistake(f"registry {config or settings.registry_path or ''}: {invalid}") from None


async def _migrate(database_url: str) -> None:
    from store.db import Database

    db = Database(database_url)
    try:
        await db.migrate()
    finally:
        await db.dispose()


def _jobs_on(settings: Settings) -> Settings:
    """A serving process runs the scheduled jobs unless HISGRAPH_RUN_JOBS says otherwise (tests build
    Settings themselves, where they are off)."""
    return settings if "HISGRAPH_RUN_JOBS" in os.environ else settings.model_copy(update={"run_jobs": True})


def _worker_count(settings: Settings, asked: int | None) -> int:
    """The processes ``serve`` runs: as asked, else one per CPU. The sandbox payment provider keeps its trades in
    one process's memory, so where it takes payments (development mode, with the payment worker on) another
    worker would not know a trade this one created: one worker then, and asking for more is refused."""
    single = settings.dev and settings.payment_provider == "sandbox" and settings.run_payment_worker
    if single and asked is not None and asked > 1:
        raise UserMistake(
            "the sandbox payment provider keeps its trades in one process's memory: serve it with --workers 1,"
            " or set HISGRAPH_PAYMENT_PROVIDER=wechatpay for several workers"
        )
    if single:
        return 1
    return asked or os.cpu_count() or 1


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app

    given: dict[str, Any] = {"metrics_port": args.metrics_port} if args.metrics_port is not None else {}
    if args.metrics_host is not None:
        given["metrics_host"] = args.metrics_host
    settings = _jobs_on(_settings(args.config, **given))
    _registry(settings, args.config)
    settings.check_production()
    workers = _worker_count(settings, args.workers)
    sock = _bind(args.host, args.port)
    settings, metrics_sock = _metrics_socket(settings, args.host, sock)
    sockets = [sock] if metrics_sock is None else [sock, metrics_sock]
    if settings.migrate_on_start and not args.no_migrate:
        asyncio.run(_migrate(settings.database_url))  # once, here: workers never race on start-up
    here = f"http://{args.host}:{sock.getsockname()[1]}"
    if settings.dev and "public_base_url" not in settings.model_fields_set:
        # Links (files, surveys, the WSDL) name the address this gateway is reached at, not a default port.
        settings = settings.model_copy(update={"public_base_url": here})
        os.environ["HISGRAPH_PUBLIC_BASE_URL"] = here
    print(f"hisgraph gateway on {here}/graphql ({workers} workers)", flush=True)
    if metrics_sock is not None:
        print(f"metrics on {_metrics_url(settings, args.host)}", flush=True)
    if workers == 1:
        _serve(_frozen(create_app(settings.model_copy(update={"migrate_on_start": False}))), sockets)
        return 0
    # N processes on one socket, each building the app from the environment (uvicorn's multiprocess supervisor).
    env = os.environ
    if args.config:
        env["HISGRAPH_REGISTRY_PATH"] = str(Path(args.config).resolve())
    if settings.metrics_host is not None:
        env["HISGRAPH_METRICS_HOST"] = settings.metrics_host
    env["HISGRAPH_MIGRATE_ON_START"] = "false"
    env.setdefault("HISGRAPH_RUN_JOBS", "true" if settings.run_jobs else "false")
    for name in ("session_secret", "file_link_secret"):
        # Allowed per-process secrets are still one per gateway: a token made by one worker works at another.
        env.setdefault(f"HISGRAPH_{name.upper()}", secrets.token_urlsafe(32))
    # Each worker writes its metrics to one directory and whichever answers a scrape adds them up (api/metrics.py):
    # a fresh one per start, so a previous run's counts are not added in. An operator's own is used as given.
    metrics_dir = None if env.get("PROMETHEUS_MULTIPROC_DIR") else tempfile.mkdtemp(prefix="hisgraph-metrics-")
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    # A worker imports the whole gateway before it answers the supervisor's health check: uvicorn's 5 s default
    # kills and restarts workers forever on a loaded host, so they get a minute.
    config = uvicorn_config(
        "api.cli:worker_app", settings=settings, factory=True, workers=workers, timeout_worker_healthcheck=60
    )
    from uvicorn.supervisors import Multiprocess

    try:
        Multiprocess(config, sockets=sockets).run()
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply the store's migrations and stop: run it once before starting instances with ``--no-migrate``."""
    settings = _settings(None, **({"database_url": args.database_url} if args.database_url else {}))
    asyncio.run(_migrate(settings.database_url))
    print("migrations applied")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate the registry (and the settings from the environment) without starting anything."""
    try:
        settings = _settings(args.config)
        if args.config:
            # Every problem of the file, one a line, not only the first.
            Registry.load(args.config)
        registry = _registry(settings, args.config)
    except UserMistake as mistake:
        print(mistake, file=sys.stderr)
        return 1
    except ValidationError as invalid:
        for error in invalid.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "registry"
            print(f"{args.config}: {where}: {error['msg']}", file=sys.stderr)
        return 1
    except (OSError, ValueError) as unreadable:
        print(f"{args.config}: {unreadable}", file=sys.stderr)
        return 1
    problems = settings.production_refusals()
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1
    checked = args.config or settings.registry_path
    print(f"{checked}: {len(registry.hospitals)} hospitals, settings valid ({settings.mode} mode)")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from simulator.server import serve

    serve(host=args.host, port=args.port, seed=args.seed)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from simulator.server import start_in_thread
    from store.db import Database
    from store.seed import seed_demo

    from .app import create_app
    from .demo import DEMO_HOW_TO, SAMPLE_QUERIES, SIGN_IN, publish_when_ready, simulated_region

    sandbox = _sandbox(args)  # a wrong --sandbox-* value is refused before anything starts
    sock = _bind(args.host, args.port)  # first: a port in use is refused before anything starts
    url = f"http://{args.host}:{sock.getsockname()[1]}"
    # /metrics on its own port, as production would keep it off the public one (api/metrics.py MetricsPort).
    if args.metrics_port is not None:
        metrics_sock = _bind(args.host, args.metrics_port, flag="--metrics-port")
    else:
        try:
            metrics_sock = _bind(args.host, DEMO_METRICS_PORT, flag="--metrics-port")
        except UserMistake:  # taken: any free port, printed in the banner
            metrics_sock = _bind(args.host, 0, flag="--metrics-port")
    metrics_url = f"http://{args.host}:{metrics_sock.getsockname()[1]}/metrics"
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite+aiosqlite:///{Path(args.data_dir).resolve() / 'demo.sqlite3'}"

    async def prepare() -> None:
        db = Database(database_url)
        try:
            await db.migrate()
            await seed_demo(db)
        finally:
            await db.dispose()

    asyncio.run(prepare())
    simulator = start_in_thread(host="127.0.0.1", port=0)
    registry = simulated_region(simulator.base_url)
    if sandbox is not None:
        from .sandbox import with_sandbox

        registry = with_sandbox(registry, sandbox)
    settings = _jobs_on(
        Settings(
            mode="dev",
            database_url=database_url,
            registry=registry,
            public_base_url=url,
            metrics_port=metrics_sock.getsockname()[1],
        )
    )
    samples = "".join(f"\n# {title}\n{query}\n" for title, query in SAMPLE_QUERIES)
    sandbox_line = (
        f"  sandbox hospital {sandbox.id}: HIS {sandbox.base_url}; shims with X-Hospital-Id: {sandbox.id} and"
        f" {'X-Api-Key' if sandbox.auth == 'api_key' else 'an HMAC signature'}; its inbound ledger in GraphiQL:"
        f' operator {{ inboundCalls(hospitalId: "{sandbox.id}") {{ path replyCode body reply }} }}\n'
        "    as an operator (logInOperator), made with: HISGRAPH_OPERATOR_PASSWORD=<12+ characters> hisgraph operator"
        f" create --username vendor --role region --database-url {database_url}\n"
        if sandbox is not None
        else ""
    )
    banner = (
        f"\nhisgraph demo\n  simulated region (hospitals 253-257): {simulator.base_url}\n"
        f"  GraphiQL: {url}/graphql\n  shim:     POST {url}/prefront/patient/getPatientInfo\n"
        f"  metrics:  {metrics_url} (Prometheus)\n"
        f"{sandbox_line}"
        "\nQueries naming a card or ID number need a session: sign in with this, then put the token in\n"
        f'GraphiQL\'s Headers as {{"Authorization": "Bearer <token>"}}\n{SIGN_IN}\n'
        f"{DEMO_HOW_TO}"
    )
    # The long samples first and the banner (where to go, how to sign in) last, so that it is what a terminal
    # shows; it is printed again after the schedule uploads' lines, and the request logs stay quiet.
    print(f"\nTry these queries in GraphiQL:\n{samples}", flush=True)
    print(banner, flush=True)
    # As real hospitals do, the simulated ones upload their schedules (21.1.4) once the gateway listens.
    publish_when_ready(simulator, url, registry, say=lambda text: print(text + "\n" + banner, flush=True))
    try:
        _serve(create_app(settings), [sock, metrics_sock], log_level="warning", access_log=False)
    finally:
        simulator.stop()
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    """Check one hospital's HIS against the spec before go-live (services/probe.py); exit 1 on a deviation."""
    from services.probe import probe

    settings = _settings(args.config)
    registry = _registry(settings, args.config)
    if registry.hospital(args.hospital) is None:
        raise UserMistake(f"no hospital {args.hospital!r} in the registry")
    report = asyncio.run(
        probe(
            registry,
            args.hospital,
            card=args.card,
            id_card=args.id_card,
            name=args.name,
            writes=args.writes,
            timeout_s=args.timeout,
        )
    )
    json_path, html_path = report.write(Path(args.out))
    print(report.summary(), flush=True)
    print(f"report: {html_path} and {json_path}", flush=True)
    return 0 if report.passed else 1


def _sandbox(args: argparse.Namespace) -> Hospital | None:
    """The demo's sandbox hospital from ``--sandbox-*`` (api/sandbox.py), or None; a wrong value is a UserMistake."""
    given = [args.sandbox_hospital, args.sandbox_key, args.sandbox_url]
    if not any(given):
        return None
    if not all(given):
        raise UserMistake("--sandbox-hospital, --sandbox-key and --sandbox-url go together")
    from .sandbox import sandbox_hospital

    try:
        return sandbox_hospital(args.sandbox_hospital, args.sandbox_url, key=args.sandbox_key, auth=args.sandbox_auth)
    except ValidationError as invalid:
        raise UserMistake(f"sandbox hospital: {_first_problem(invalid)}") from None
    except ValueError as refused:
        raise UserMistake(f"sandbox hospital: {refused}") from None


def cmd_operator_create(args: argparse.Namespace) -> int:
    """Create a dashboard operator; the password comes from $HISGRAPH_OPERATOR_PASSWORD or a prompt."""
    import getpass
    import os

    from services.identity.operators import OperatorService
    from store.db import Database

    settings = _settings(args.config)
    if args.hospital is not None:
        registry = _registry(settings, args.config) if args.config or settings.registry_path else None
        if registry is None:
            raise UserMistake("not created: give --config (or HISGRAPH_REGISTRY_PATH) so the hospital id is checked")
        if registry.hospital(args.hospital) is None:
            raise UserMistake(f"not created: no hospital {args.hospital!r} in the registry")
    password = os.environ.get("HISGRAPH_OPERATOR_PASSWORD") or getpass.getpass("password (12+ characters): ")
    database_url = args.database_url or settings.database_url

    async def create() -> int:
        db = Database(database_url)
        try:
            await db.migrate()
            operator = await OperatorService(db).create(
                username=args.username, password=password, role=args.role, hospital_id=args.hospital
            )
        finally:
            await db.dispose()
        scope = "every hospital" if operator.role == "region" else f"hospital {operator.hospital_id}"
        print(f"operator {operator.username} created: sees {scope}")
        return 0

    from sqlalchemy.exc import IntegrityError

    try:
        return asyncio.run(create())
    except IntegrityError:
        raise UserMistake(f"not created: an operator named {args.username!r} exists already") from None
    except ValueError as refused:
        raise UserMistake(f"not created: {refused}") from None


def _operator_admin(args: argparse.Namespace, action: str) -> int:
    """`operator list`, `operator disable` and `operator reset-password`: audited as the command line (cli)."""
    from sqlalchemy.exc import SQLAlchemyError

    from services.identity.operators import OperatorNotFound, OperatorService
    from store.db import Database

    settings = _settings(getattr(args, "config", None))
    hospital = getattr(args, "hospital", None)
    if hospital is not None:
        registry = _registry(settings, args.config) if args.config or settings.registry_path else None
        if registry is None:
            raise UserMistake("give --config (or HISGRAPH_REGISTRY_PATH) so the hospital id is checked")
        if registry.hospital(hospital) is None:
            raise UserMistake(f"no hospital {hospital!r} in the registry")
    database_url = args.database_url or settings.database_url

    async def run() -> int:
        db = Database(database_url)
        try:
            await db.migrate()
            operators = OperatorService(db)
            if action == "list":
                for o in await operators.list():
                    if hospital is not None and o.hospital_id != hospital:
                        continue
                    last = o.last_login_at.isoformat(timespec="seconds") if o.last_login_at else "never"
                    state = "disabled" if o.disabled else "active"
                    print(f"{o.username}\t{o.role}\t{o.hospital_id or '-'}\t{state}\tlast login {last}")
            elif action == "disable":
                ended = await operators.disable(None, args.username)
                print(f"operator {args.username} disabled; {ended} session(s) ended")
            else:
                password = await operators.reset_password(None, args.username)
                print(f"operator {args.username}: one-time password {password} (shown once; every session ended)")
        finally:
            await db.dispose()
        return 0

    try:
        return asyncio.run(run())
    except OperatorNotFound:
        raise UserMistake(f"no operator named {args.username!r}") from None
    except SQLAlchemyError as failed:
        raise UserMistake(f"the database refused: {type(failed).__name__}") from None


def cmd_operator_list(args: argparse.Namespace) -> int:
    """List the operators: username, role, hospital, active or disabled, last login."""
    return _operator_admin(args, "list")


def cmd_operator_disable(args: argparse.Namespace) -> int:
    """Disable an operator: no login, every session ends at once."""
    return _operator_admin(args, "disable")


def cmd_operator_reset_password(args: argparse.Namespace) -> int:
    """Give an operator a generated one-time password (printed once) and end their sessions."""
    return _operator_admin(args, "reset-password")


def cmd_followers_import(args: argparse.Namespace) -> int:
    """Load the official account's followers (unionid -> openid) from a CSV: services.messages.followers."""
    from services.messages.followers import import_followers, parse_followers_csv
    from store.db import Database

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    rows, unreadable = parse_followers_csv(text)
    database_url = args.database_url or Settings().database_url

    async def load() -> tuple[int, list[tuple[int, str]]]:
        db = Database(database_url)
        try:
            await db.migrate()
            report = await import_followers(db, rows)
        finally:
            await db.dispose()
        return report.applied, sorted(unreadable + report.skipped)

    applied, skipped = asyncio.run(load())
    for line, why in skipped:
        print(f"line {line}: skipped: {why}", file=sys.stderr)
    print(f"{applied} followers recorded, {len(skipped)} lines skipped")
    return 0 if applied or not skipped else 2


def cmd_schema(args: argparse.Namespace) -> int:
    from resolvers.schema import sdl

    sys.stdout.write(sdl())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hisgraph", description=__doc__)
    parser.add_argument("--version", action="version", version=f"hisgraph {_version()}")
    parser.add_argument("--log-level", default="WARNING", help="root log level (default WARNING)")
    parser.add_argument("--log-format", choices=("json", "text"), default="json")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway against the hospitals of a registry file")
    serve.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=_workers,
        default=None,
        help="processes on the one port (default: the number of CPUs; 1 with dev mode's sandbox payments)",
    )
    serve.add_argument(
        "--no-migrate", action="store_true", help="do not apply migrations (run `hisgraph migrate` once instead)"
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics on this port only, not the main one (default: $HISGRAPH_METRICS_PORT; 0: any free)",
    )
    serve.add_argument("--metrics-host", default=None, help="the metrics port's address (default: --host)")
    serve.set_defaults(run=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply the store's migrations, then stop")
    migrate.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    migrate.set_defaults(run=cmd_migrate)

    check = sub.add_parser("check-config", help="validate a registry file and the settings; exit 1 when wrong")
    check.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    check.set_defaults(run=cmd_check_config)

    simulate = sub.add_parser("simulate", help="serve a simulated region of hospitals")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9100)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.set_defaults(run=cmd_simulate)

    demo = sub.add_parser("demo", help="the gateway and a simulated region in one process, on SQLite")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", default="var")
    demo.add_argument(
        "--metrics-port", type=int, default=None, help=f"/metrics here (default {DEMO_METRICS_PORT}, or any free one)"
    )
    demo.add_argument("--sandbox-hospital", help="add a vendor's sandbox hospital with this id (api/sandbox.py)")
    demo.add_argument("--sandbox-key", help="its API key (or HMAC secret) on our shims, 16+ characters")
    demo.add_argument("--sandbox-url", help="its HIS: method URL = this + '/' + method")
    demo.add_argument("--sandbox-auth", choices=("api_key", "hmac"), default="api_key", help="default api_key")
    demo.set_defaults(run=cmd_demo)

    probe_cmd = sub.add_parser("probe", help="check a hospital's HIS against the spec; a report as HTML and JSON")
    probe_cmd.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    probe_cmd.add_argument("--hospital", required=True, help="the hospital id in the registry")
    probe_cmd.add_argument("--card", help="the test patient's medicalCardNumber (default: the spec's examples)")
    probe_cmd.add_argument("--id-card", help="the test patient's ID card number")
    probe_cmd.add_argument("--name", help="the test patient's name")
    probe_cmd.add_argument(
        "--writes", action="store_true", help="also call the writes the spec marks idempotent (never the others)"
    )
    probe_cmd.add_argument("--timeout", type=float, default=None, help="seconds per call (default: the registry's)")
    probe_cmd.add_argument("--out", default="var/probe", help="where probe-<id>.html and .json go")
    probe_cmd.set_defaults(run=cmd_probe)

    operator = sub.add_parser("operator", help="manage dashboard operators")
    operator_sub = operator.add_subparsers(dest="operator_command", required=True)
    create = operator_sub.add_parser("create", help="create an operator (password from $HISGRAPH_OPERATOR_PASSWORD)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=("region", "hospital"), required=True)
    create.add_argument("--hospital", help="the hospital id of a hospital operator (checked in the registry)")
    create.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    create.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    create.set_defaults(run=cmd_operator_create)
    listing = operator_sub.add_parser("list", help="list operators (username, role, hospital, state, last login)")
    listing.add_argument("--hospital", help="only this hospital's operators (checked in the registry)")
    listing.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    listing.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    listing.set_defaults(run=cmd_operator_list)
    disable = operator_sub.add_parser("disable", help="disable an operator: their sessions end at once")
    disable.add_argument("--username", required=True)
    disable.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    disable.set_defaults(run=cmd_operator_disable)
    reset = operator_sub.add_parser("reset-password", help="print a one-time password; their sessions end")
    reset.add_argument("--username", required=True)
    reset.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    reset.set_defaults(run=cmd_operator_reset_password)

    followers = sub.add_parser("followers", help="the official account's followers (who gets messages)")
    followers_sub = followers.add_subparsers(dest="followers_command", required=True)
    load = followers_sub.add_parser("import", help="record followers from a CSV: unionid,openid[,subscribed,...]")
    load.add_argument("file", help="CSV with a header row; see services/messages/followers.py")
    load.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    load.set_defaults(run=cmd_followers_import)

    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(run=cmd_schema)
    return parser


def _version() -> str:
    try:
        return metadata.version("hisgraph")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _LOGGING.level = str(args.log_level).upper()
    _LOGGING.json_lines = args.log_format == "json"
    try:
        configure_logging(_LOGGING.level, json_lines=_LOGGING.json_lines)
    except ValueError:
        print(f"hisgraph: --log-level {args.log_level!r} is not a level (DEBUG, INFO, WARNING, ERROR)", file=sys.stderr)
        return 2
    try:
        code: int = args.run(args)
    except (UserMistake, UnsafeProduction) as mistake:
        print(f"hisgraph {args.command}: {mistake}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:
        # Ours to fix, not the user's: the traceback goes to the log, masked (api/logs.py), not to the screen.
        log.exception("hisgraph %s failed", args.command)
        print(f"hisgraph {args.command}: failed unexpectedly; the log has the details", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    raise SystemExit(main())
