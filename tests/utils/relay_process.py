"""Real `relay serve` / `relay migrate` processes, configured only through RELAY_* variables."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.utils.ports import free_port, wait_for_http
from tests.utils.postgres import OWNER, PostgresDatabase
from tests.utils.s3_server import CREDENTIALS
from tests.utils.tokens import ISSUER, ORIGIN, SigningKeys

RELAY = [sys.executable, "-m", "relay"]


def relay_environment(
    db: PostgresDatabase, redis_url: str, keys: SigningKeys, s3_url: str, bucket: str
) -> dict[str, str]:
    """Environment of a local-mode relay process (drain 0 s so tests stop it at once)."""
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("RELAY_", "AWS_"))},
        **CREDENTIALS,
        "RELAY_ENVIRONMENT": "local",
        "RELAY_DATABASE_URL": db.url(),
        "RELAY_MIGRATION_DATABASE_URL": db.url(OWNER),
        "RELAY_DATABASE_POOL_SIZE": "5",
        "RELAY_REDIS_URL": redis_url,
        "RELAY_S3_BUCKET": bucket,
        "RELAY_S3_ENDPOINT_URL": s3_url,
        "RELAY_AUTH_ISSUER": ISSUER,
        "RELAY_AUTH_PUBLIC_KEY_FILE": str(keys.public_file),
        "RELAY_LOCAL_SIGNING_KEY_FILE": str(keys.private_file),
        "RELAY_ALLOWED_ORIGINS": ORIGIN,
        "RELAY_PUBLIC_URL": ORIGIN,
        "RELAY_DRAIN_SECONDS": "0",
        # Short presence expiry so "a killed replica's users go offline" is observable in seconds.
        "RELAY_PRESENCE_TTL_SECONDS": "4",
        "RELAY_LOG_LEVEL": "WARNING",
        # Every test connects from 127.0.0.1, some with 150 sockets at once: like a load run, the
        # suite raises the per-IP handshake budget (tests/security/ checks the default one).
        "RELAY_RATE_HANDSHAKES_PER_SECOND": "1000",
        "RELAY_RATE_HANDSHAKES_BURST": "1000",
        # The suites run against either socket server (issue 13): the app's default (native) unless
        # RELAY_SOCKET_SERVER names one, e.g. the python-socketio fallback.
        **{k: v for k, v in os.environ.items() if k == "RELAY_SOCKET_SERVER"},
    }


def run_relay(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*RELAY, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def run_migrations_cli(env: dict[str, str]) -> str:
    result = run_relay(env, "migrate")
    assert result.returncode == 0, f"relay migrate failed ({result.returncode}): {result.stderr}"
    return result.stdout


@dataclass
class RelayProcess:
    """`relay serve` on a free port; stop() sends SIGTERM and waits (bounded)."""

    port: int
    process: subprocess.Popen
    log_file: Path

    @classmethod
    def start(
        cls,
        env: dict[str, str],
        log_dir: Path,
        *,
        name: str = "relay",
        prefix: list[str] | None = None,
        timeout: float = 30,
        port: int | None = None,
    ) -> "RelayProcess":
        port = port or free_port()
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"{name}-{port}.log"
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [*(prefix or []), *RELAY, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env={**env, "RELAY_REPLICA_ID": f"{name}-{port}"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = cls(port, process, log_file)
        try:
            wait_for_http(f"{server.url}/healthz", timeout=timeout)
        except TimeoutError:
            server.kill()
            raise TimeoutError(f"relay serve did not start; log:\n{log_file.read_text()[-3000:]}") from None
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: the replica vanishes without cleaning up (presence must expire on its own)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def __enter__(self) -> "RelayProcess":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
