"""``hisgraph``: run the gateway, the simulated region, or both; export the schema."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from .logs import configure_logging
from .settings import Settings


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def _serve(app: object, sock: socket.socket) -> None:
    config = uvicorn.Config(app, log_level="info", lifespan="on")  # type: ignore[arg-type]
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


def _jobs_on(settings: Settings) -> Settings:
    """A serving process runs the scheduled jobs unless HISGRAPH_RUN_JOBS says otherwise (tests build
    Settings themselves, where they are off)."""
    return settings if "HISGRAPH_RUN_JOBS" in os.environ else settings.model_copy(update={"run_jobs": True})


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app

    settings = _jobs_on(Settings(registry_path=Path(args.config)) if args.config else Settings())
    sock = _bind(args.host, args.port)
    print(f"hisgraph gateway on http://{args.host}:{sock.getsockname()[1]}/graphql", flush=True)
    _serve(create_app(settings), sock)
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
    from .demo import SAMPLE_QUERIES, SIGN_IN, simulated_region

    simulator = start_in_thread(host="127.0.0.1", port=0)
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
    settings = _jobs_on(Settings(mode="dev", database_url=database_url, registry=simulated_region(simulator.base_url)))
    sock = _bind(args.host, args.port)
    url = f"http://{args.host}:{sock.getsockname()[1]}"
    samples = "".join(f"\n# {title}\n{query}\n" for title, query in SAMPLE_QUERIES)
    print(
        f"\nhisgraph demo\n  simulated region (hospitals 253-257): {simulator.base_url}\n"
        f"  GraphiQL: {url}/graphql\n  shim:     POST {url}/prefront/patient/getPatientInfo\n"
        "\nQueries naming a card or ID number need a session: sign in with this, then put the token in\n"
        f'GraphiQL\'s Headers as {{"Authorization": "Bearer <token>"}}\n{SIGN_IN}\n'
        f"\nTry these queries in GraphiQL:\n{samples}",
        flush=True,
    )
    try:
        _serve(create_app(settings), sock)
    finally:
        simulator.stop()
    return 0


def cmd_operator_create(args: argparse.Namespace) -> int:
    """Create a dashboard operator; the password comes from $HISGRAPH_OPERATOR_PASSWORD or a prompt."""
    import getpass
    import os

    from services.identity.operators import OperatorService
    from store.db import Database

    password = os.environ.get("HISGRAPH_OPERATOR_PASSWORD") or getpass.getpass("password (12+ characters): ")
    database_url = args.database_url or Settings().database_url

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

    try:
        return asyncio.run(create())
    except ValueError as refused:
        print(f"not created: {refused}", file=sys.stderr)
        return 2


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
    parser.add_argument("--log-level", default="WARNING", help="root log level (default WARNING)")
    parser.add_argument("--log-format", choices=("json", "text"), default="json")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway against the hospitals of a registry file")
    serve.add_argument("--config", help="hospital registry TOML (default: $HISGRAPH_REGISTRY_PATH)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    simulate = sub.add_parser("simulate", help="serve a simulated region of hospitals")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=9100)
    simulate.add_argument("--seed", type=int, default=7)
    simulate.set_defaults(run=cmd_simulate)

    demo = sub.add_parser("demo", help="the gateway and a simulated region in one process, on SQLite")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", default="var")
    demo.set_defaults(run=cmd_demo)

    operator = sub.add_parser("operator", help="manage dashboard operators")
    operator_sub = operator.add_subparsers(dest="operator_command", required=True)
    create = operator_sub.add_parser("create", help="create an operator (password from $HISGRAPH_OPERATOR_PASSWORD)")
    create.add_argument("--username", required=True)
    create.add_argument("--role", choices=("region", "hospital"), required=True)
    create.add_argument("--hospital", help="the hospital id of a hospital operator")
    create.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    create.set_defaults(run=cmd_operator_create)

    followers = sub.add_parser("followers", help="the official account's followers (who gets messages)")
    followers_sub = followers.add_subparsers(dest="followers_command", required=True)
    load = followers_sub.add_parser("import", help="record followers from a CSV: unionid,openid[,subscribed,...]")
    load.add_argument("file", help="CSV with a header row; see services/messages/followers.py")
    load.add_argument("--database-url", help="default: $HISGRAPH_DATABASE_URL or the SQLite file")
    load.set_defaults(run=cmd_followers_import)

    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, json_lines=args.log_format == "json")
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
