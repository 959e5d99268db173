"""``hisgraph``: run the gateway, the simulated region, or both; export the schema."""

from __future__ import annotations

import argparse
import asyncio
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


def cmd_serve(args: argparse.Namespace) -> int:
    from .app import create_app

    settings = Settings(registry_path=Path(args.config)) if args.config else Settings()
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
    settings = Settings(mode="dev", database_url=database_url, registry=simulated_region(simulator.base_url))
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
