"""Session tokens for test users, for tools that act as many users (load tests, verification).

Three sources, chosen by environment (first one set wins):
- `RELAY_TEST_TOKEN_COMMAND`: a command run with the user name as its last argument that prints a
  token on stdout (for example a Clerk testing-token script). Re-run before the token expires.
- `RELAY_TEST_TOKEN_FILE`: a JSON object mapping user name to token, re-read before expiry, so a
  job that rewrites the file keeps a long run going.
- Neither: minted locally with the local topology's signing key, as `make token` does. The
  topology's settings come from `RELAY_TOPOLOGY_ENV_FILE` (default `.local/relay.env`, written by
  `make up`); the minter refuses anything but local mode.

Every source caches per user and hands out a fresh token once a third of the current one's
lifetime is left (Clerk's tokens live about 60 s, local ones 1 h). Tokens never appear in errors or
logs.
"""

import json
import os
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jwt

from relay.auth.minter import mint_token
from relay.settings import Settings

COMMAND_VARIABLE = "RELAY_TEST_TOKEN_COMMAND"
FILE_VARIABLE = "RELAY_TEST_TOKEN_FILE"
TOPOLOGY_ENV_VARIABLE = "RELAY_TOPOLOGY_ENV_FILE"
DEFAULT_TOPOLOGY_ENV_FILE = Path(".local/relay.env")
COMMAND_TIMEOUT_SECONDS = 30
# Refresh once this share of a token's lifetime is left: 20 s of a 60 s Clerk token.
REFRESH_SHARE = 1 / 3


class TokenSourceError(RuntimeError):
    """A token could not be had; the message names the variable and the fix (never the token)."""


class TokenSource(Protocol):
    def token(self, user: str) -> str:
        """A valid token for test user `user`, refreshed before it expires; cheap to call often."""
        ...


@dataclass(frozen=True)
class _Cached:
    token: str
    refresh_at: float


def _refresh_time(token: str, *, origin: str, now: float) -> float:
    """When to fetch the next token: read from the token's own `exp` (and `iat` where present)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.DecodeError:
        raise TokenSourceError(
            f"{origin} gave something that is not a JWT; it must print one token"
        ) from None
    if not isinstance(claims.get("exp"), int | float):
        raise TokenSourceError(f"{origin} gave a token without `exp`; session tokens must expire")
    exp = float(claims["exp"])
    if exp <= now:
        raise TokenSourceError(
            f"{origin} gave a token that expired {now - exp:.0f} s ago; renew it at the source"
        )
    issued = float(claims["iat"]) if isinstance(claims.get("iat"), int | float) else now
    return exp - max(exp - issued, 0) * REFRESH_SHARE


class CachingTokenSource:
    """Caches what `fetch(user)` returns until a third of its lifetime is left; safe across threads
    and greenlets (one fetch per user at a time)."""

    def __init__(
        self, fetch: Callable[[str], str], *, origin: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._fetch, self._origin, self._clock = fetch, origin, clock
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def token(self, user: str) -> str:
        cached = self._cache.get(user)
        if cached is not None and self._clock() < cached.refresh_at:
            return cached.token
        with self._locks_guard:
            lock = self._locks.setdefault(user, threading.Lock())
        with lock:
            cached = self._cache.get(user)
            now = self._clock()
            if cached is None or now >= cached.refresh_at:
                token = self._fetch(user)
                cached = _Cached(token, _refresh_time(token, origin=self._origin, now=now))
                self._cache[user] = cached
            return cached.token


def _run_command(command: str) -> Callable[[str], str]:
    argv = shlex.split(command)
    if not argv:
        raise TokenSourceError(f"{COMMAND_VARIABLE} is set but empty; give a command, or unset it")

    def fetch(user: str) -> str:
        try:
            result = subprocess.run(  # noqa: S603  # the operator's own command, no shell
                [*argv, user], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_SECONDS, check=False
            )
        except FileNotFoundError:
            raise TokenSourceError(
                f"{COMMAND_VARIABLE}: {argv[0]!r} was not found; fix the command's path"
            ) from None
        except subprocess.TimeoutExpired:
            raise TokenSourceError(
                f"{COMMAND_VARIABLE} did not finish within {COMMAND_TIMEOUT_SECONDS} s for user {user!r}"
            ) from None
        if result.returncode != 0:
            reason = result.stderr.strip()[-300:]
            code = result.returncode
            raise TokenSourceError(f"{COMMAND_VARIABLE} exited {code} for user {user!r}: {reason}")
        token = result.stdout.strip()
        if not token or len(token.split()) != 1:
            raise TokenSourceError(
                f"{COMMAND_VARIABLE} must print exactly one token on stdout for user {user!r}"
            )
        return token

    return fetch


def _read_file(path: Path) -> Callable[[str], str]:
    def fetch(user: str) -> str:
        try:
            tokens = json.loads(path.read_text())
        except FileNotFoundError:
            raise TokenSourceError(
                f"{FILE_VARIABLE}={path} does not exist; write the file or unset the variable"
            ) from None
        except json.JSONDecodeError as error:
            raise TokenSourceError(
                f"{FILE_VARIABLE}={path} is not JSON ({error.msg}); it holds {{user: token}}"
            ) from None
        if not isinstance(tokens, dict):
            raise TokenSourceError(f"{FILE_VARIABLE}={path} must hold a JSON object {{user: token}}")
        token = tokens.get(user)
        if not isinstance(token, str):
            raise TokenSourceError(f"{FILE_VARIABLE}={path} has no token for user {user!r}; add one")
        return token

    return fetch


def local_settings(env_file: Path) -> Settings:
    """The local topology's settings, from the env file `make up` writes (values there win over
    the process environment, so a stray RELAY_* variable cannot point the minter elsewhere)."""
    try:
        lines = env_file.read_text().splitlines()
    except FileNotFoundError:
        raise TokenSourceError(
            f"no token source: set {COMMAND_VARIABLE} or {FILE_VARIABLE} for a real deployment, or start the "
            f"local topology (`make up`) so {env_file} exists ({TOPOLOGY_ENV_VARIABLE} names another one)"
        ) from None
    values = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    fields = {
        key.removeprefix("RELAY_").lower(): value for key, value in values.items() if key.startswith("RELAY_")
    }
    return Settings(**fields)


def _mint_locally(env_file: Path) -> Callable[[str], str]:
    settings = local_settings(env_file)
    return lambda user: mint_token(settings, user)


def token_source_from_env(environ: Mapping[str, str] = os.environ) -> TokenSource:
    if command := environ.get(COMMAND_VARIABLE):
        return CachingTokenSource(_run_command(command), origin=COMMAND_VARIABLE)
    if token_file := environ.get(FILE_VARIABLE):
        return CachingTokenSource(_read_file(Path(token_file)), origin=f"{FILE_VARIABLE}={token_file}")
    env_file = Path(environ.get(TOPOLOGY_ENV_VARIABLE) or DEFAULT_TOPOLOGY_ENV_FILE)
    return CachingTokenSource(_mint_locally(env_file), origin=f"the local minter ({env_file})")
