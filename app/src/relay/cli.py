"""`relay` command line: serve the API (one uvicorn worker per process)."""

import argparse

import uvicorn

from relay.main import create_app
from relay.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay chat service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (one worker; scale with replicas)")
    serve.add_argument("--host", help="bind address (default: RELAY_HOST)")
    serve.add_argument("--port", type=int, help="bind port (default: RELAY_PORT)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    if args.command == "serve":
        uvicorn.run(
            create_app(settings),
            host=args.host or settings.host,
            port=args.port or settings.port,
            workers=1,
        )
    return 0
