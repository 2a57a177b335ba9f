"""`verify URL`: the post-deployment checks end to end, as two test users, with a table of timings.

Health and TLS, security headers, sign-in, a message between the two users in real time, a file
upload read back, search finding the new message, a status change seen by the other user
(runbooks/verify_checks.py). It stops at the first failing check, cleans up what it created, and
exits 1 naming that check. Tokens come from `relay.auth.token_source` (the load tests' source):
`RELAY_TEST_TOKEN_COMMAND` or `RELAY_TEST_TOKEN_FILE` for a real deployment, else minted with the
local topology's key. `make up` ends with this same run against the local topology.
"""

from __future__ import annotations

import argparse
import asyncio
import ssl
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from relay.auth.token_source import TokenSource, TokenSourceError, token_source_from_env
from runbooks.output import OperatorError, Record, add_output_flags, emit, run_guarded
from runbooks.verify_checks import CHECKS, CheckFailed, Probe, VerifyUser, clean_up

USERS = ("relay-verify-a", "relay-verify-b")
LOCAL_CA = Path(__file__).resolve().parent.parent / ".local" / "certs" / "ca.pem"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass
class CheckResult:
    name: str
    ok: bool | None  # None: skipped after an earlier failure
    seconds: float
    detail: str


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks verify",
        description="Post-deployment checks end to end (one reused channel; messages and uploads deleted).",
    )
    parser.add_argument("url", help="the deployment's public URL, e.g. https://chat.example.com")
    parser.add_argument(
        "--ca-cert",
        type=Path,
        help="CA bundle to trust (default: the system's; for localhost, the local topology's CA)",
    )
    parser.add_argument("--users", nargs=2, default=USERS, metavar=("A", "B"), help="the two test users")
    add_output_flags(parser)
    return parser


def ssl_context_for(url: str, ca_cert: Path | None) -> ssl.SSLContext:
    if urlsplit(url).scheme != "https":
        raise OperatorError(
            f"{url} is not an https:// URL: verify checks TLS as users reach the service",
            "give the public https:// URL, e.g. https://localhost:8443 for make up",
        )
    if ca_cert is None and urlsplit(url).hostname in LOCAL_HOSTS and LOCAL_CA.is_file():
        ca_cert = LOCAL_CA
    if ca_cert is not None and not ca_cert.is_file():
        raise OperatorError(f"--ca-cert {ca_cert} does not exist", "give the CA bundle's path, or omit it")
    return ssl.create_default_context(cafile=str(ca_cert) if ca_cert else None)


async def run_checks(
    url: str, tokens: tuple[str, str], names: tuple[str, str], context: ssl.SSLContext
) -> list[CheckResult]:
    """Every check in order; after a failure the rest are skipped. Clean-up always runs."""
    url = url.rstrip("/")
    async with (
        httpx.AsyncClient(base_url=url, verify=context, timeout=10) as http_a,
        httpx.AsyncClient(base_url=url, verify=context, timeout=10) as http_b,
    ):
        probe = Probe(
            url, context, VerifyUser(names[0], tokens[0], http_a), VerifyUser(names[1], tokens[1], http_b)
        )
        results: list[CheckResult] = []
        for name, check in CHECKS:
            if results and not results[-1].ok:
                results.append(CheckResult(name, None, 0.0, "skipped"))
                continue
            results.append(await _timed(name, check(probe)))
        results.append(await _timed("clean-up", clean_up(probe)))
    return results


async def _timed(name: str, step: Awaitable[str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = await step, True
    except CheckFailed as error:
        detail, ok = str(error), False
    except (httpx.HTTPError, OSError, TimeoutError, ValueError, KeyError) as error:
        # The network, or an answer of the wrong shape (an HTML error page where JSON was due).
        detail, ok = f"{type(error).__name__}: {error}", False
    return CheckResult(name, ok, time.perf_counter() - started, detail)


def table(results: list[CheckResult]) -> list[str]:
    marks = {True: "ok", False: "FAIL", None: "skip"}
    lines = [f"{'check':<18} {'result':<6} {'seconds':>7}  detail"]
    lines += [f"{r.name:<18} {marks[r.ok]:<6} {r.seconds:>7.2f}  {r.detail}" for r in results]
    lines.append(f"{'total':<18} {'':<6} {sum(r.seconds for r in results):>7.2f}")
    return lines


def verify(
    url: str,
    tokens: TokenSource | None = None,
    names: tuple[str, str] = USERS,
    context: ssl.SSLContext | None = None,
) -> tuple[Record, list[str]]:
    """Run the checks against `url` as the users `names` (tokens: default, the load tests' source
    from the environment); the record fails naming the first failed check."""
    context = context or ssl_context_for(url, None)
    record = Record("verify", details={"url": url})
    try:
        source = tokens or token_source_from_env()
        pair = (source.token(names[0]), source.token(names[1]))
    except TokenSourceError as error:
        raise OperatorError(
            f"no token for the test users: {error}",
            "for a real deployment set RELAY_TEST_TOKEN_COMMAND or RELAY_TEST_TOKEN_FILE "
            "(the load tests' token source); for the local topology run `make up` first",
        ) from None
    results = asyncio.run(run_checks(url, pair, names, context))
    record.details["checks"] = [r.__dict__ for r in results]
    failed = [r for r in results if r.ok is False]
    if failed:
        record.ok = False
        record.error = f"{failed[0].name}: {failed[0].detail}"
        record.next_steps.append(
            "fix that check's cause (the procedure runbooks/procedures/post-deployment-verification.md "
            "says where to look), then re-run verify; if the release is the cause, roll back"
        )
    return record, table(results)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        context = ssl_context_for(args.url, args.ca_cert)
        record, lines = verify(args.url, None, tuple(args.users), context)
        return emit(record, args.json, lines)

    return run_guarded("verify", args.json, body)
