"""`relay` command line: serve (one uvicorn worker per process), migrate, token, keygen, export-user."""

import argparse
import asyncio
import gc
import sys
from pathlib import Path

import uvicorn
from pydantic import ValidationError

from relay.auth.minter import MinterDisabledError, generate_key_pair, mint_token
from relay.db.engine import create_engine, create_session_factory
from relay.db.migrate import run_migrations
from relay.errors import RelayError
from relay.http_protocol import LimitedHttpToolsProtocol
from relay.lifecycle import Drain, DrainingServer
from relay.main import create_app_and_socket_server
from relay.services import export
from relay.settings import Settings, load_settings
from relay.storage import Storage


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relay", description="Relay chat service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the service (one worker; scale with replicas)")
    serve.add_argument("--host", help="bind address (default: RELAY_HOST)")
    serve.add_argument("--port", type=int, help="bind port (default: RELAY_PORT)")
    commands.add_parser("migrate", help="upgrade the database to this release's schema")
    token = commands.add_parser("token", help="print a signed session token (local mode only)")
    token.add_argument("--user", required=True, help="the token's sub (user id)")
    token.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    keygen = commands.add_parser("keygen", help="write a local RSA key pair for the token minter")
    keygen.add_argument("--private", type=Path, required=True, help="private key PEM to write (mode 0600)")
    keygen.add_argument("--public", type=Path, required=True, help="public key PEM to write")
    export_user = commands.add_parser(
        "export-user", help="write a user's data export (the archive GET /api/me/export returns)"
    )
    export_user.add_argument("user", help="the user id (token sub)")
    export_user.add_argument("--output", type=Path, help="zip to write (default relay-export-<user>.zip)")
    return parser


def serve(settings: Settings, host: str | None, port: int | None) -> int:
    drain = Drain()
    app, native = create_app_and_socket_server(settings, drain=drain)
    http_protocol = LimitedHttpToolsProtocol.with_limits(
        max_head_bytes=settings.http_max_head_bytes,
        head_timeout_seconds=settings.http_head_timeout_seconds,
        body_timeout_seconds=settings.http_body_timeout_seconds,
    )
    config = uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        workers=1,  # long-polling needs every request of a session in one process (STYLE.md §2.6)
        loop="uvloop",
        # httptools with header size and read-time limits (issue 7); with the native socket server,
        # /api/socketio connections are handed to it first.
        http=http_protocol if native is None else native.sniffing_protocol(http_protocol),
        ws_per_message_deflate=False,  # halves throughput when on (DESIGN §4 performance notes)
        proxy_headers=False,  # the client IP comes from RELAY_TRUSTED_PROXIES only (edge)
        server_header=False,
        log_level=settings.log_level.lower(),
        log_config=None,  # JSON logs are configured by relay.logging; uvicorn's config would replace them
        access_log=False,  # one access line per request comes from the edge middleware, query strings never
        timeout_graceful_shutdown=10,
    )
    # What is built so far (modules, the app, its routes and schemas) lives as long as the process.
    # Frozen, full collections no longer walk it: unfrozen, each one stalled the event loop for
    # ~300 ms on a loaded 2-core machine (tests/security/test_flood_latency.py, issue 7).
    gc.freeze()
    DrainingServer(
        config,
        drain=drain,
        drain_seconds=settings.drain_seconds,
        before_shutdown=None if native is None else native.close_sockets,
    ).run()
    return 0


def token(settings: Settings, user: str, ttl: int) -> int:
    try:
        print(mint_token(settings, user, ttl=ttl))
    except MinterDisabledError as error:
        print(f"relay token: {error}", file=sys.stderr)
        return 2
    return 0


def keygen(private: Path, public: Path) -> int:
    private_pem, public_pem = generate_key_pair()
    private.parent.mkdir(parents=True, exist_ok=True)
    private.touch(mode=0o600)
    private.write_bytes(private_pem)
    public.write_bytes(public_pem)
    print(f"wrote {private} and {public}", file=sys.stderr)
    return 0


async def _export(settings: Settings, user: str, output: Path) -> None:
    engine = create_engine(settings)
    try:
        async with create_session_factory(engine)() as session:
            with output.open("wb") as out:
                await export.write_archive(out, session, Storage(settings), user)
    finally:
        await engine.dispose()


def export_user(settings: Settings, user: str, output: Path | None) -> int:
    output = output or Path(f"relay-export-{user}.zip")
    try:
        asyncio.run(_export(settings, user, output))
    except RelayError as error:
        output.unlink(missing_ok=True)
        print(f"relay export-user: {error.message}", file=sys.stderr)
        return 1
    print(f"wrote {output}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "keygen":
        return keygen(args.private, args.public)
    try:
        settings = load_settings()
    except ValidationError as error:
        print(f"relay: invalid settings:\n{error}", file=sys.stderr)
        return 2
    if args.command == "serve":
        return serve(settings, args.host, args.port)
    if args.command == "migrate":
        outcome = run_migrations(settings)
        print(f"relay migrate: {outcome.message}")
        return 0
    if args.command == "export-user":
        return export_user(settings, args.user, args.output)
    return token(settings, args.user, args.ttl)
