"""Where the topology listens and where it keeps its state.

Ports are the DESIGN.md §3 contract, each overridable by an environment variable so a second
topology (tests, a colleague's) can run beside `make up`.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from topology.processes import free_port

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = REPO_ROOT / ".local"

# Local names shared by haproxy's config, the supervisor and the tests.
REPLICA_NAMES = ("r1", "r2")
STICKY_COOKIE = "RELAY_LB"
UPLOADS_BUCKET = "relay-uploads"
DATABASE_NAME = "relay"
OWNER_ROLE = "relay_owner"
APP_ROLE = "relay_app"


# RELAY_SOCKET_SERVER: the first is the default, as in relay.settings; python-socketio is the fallback.
SOCKET_SERVERS = ("native", "python-socketio")


def socket_server() -> str:
    """The replicas' socket server; haproxy routes the socket path by it (topology/haproxy.py)."""
    chosen = os.environ.get("RELAY_SOCKET_SERVER") or SOCKET_SERVERS[0]
    if chosen not in SOCKET_SERVERS:
        choices = " or ".join(SOCKET_SERVERS)
        raise ValueError(f"RELAY_SOCKET_SERVER={chosen!r} is not a socket server: set it to {choices}")
    return chosen


def native_sockets() -> bool:
    return socket_server() == "native"


def _port_from_env(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{variable}={raw!r} is not a TCP port: set it to a number between 1 and 65535")
    return int(raw)


def _ports_from_env(variable: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = os.environ.get(variable)
    if raw is None or raw == "":
        return default
    parts = [part.strip() for part in raw.split(",")]
    if len(parts) != len(REPLICA_NAMES) or not all(p.isdigit() and 0 < int(p) < 65536 for p in parts):
        raise ValueError(
            f"{variable}={raw!r} must list {len(REPLICA_NAMES)} TCP ports separated by commas, e.g. 8001,8002"
        )
    return tuple(int(p) for p in parts)


@dataclass(frozen=True)
class Ports:
    """TCP ports on 127.0.0.1; the defaults are the DESIGN.md §3 contract."""

    https: int = 8443
    http: int = 8080
    replicas: tuple[int, ...] = (8001, 8002)
    # With the native socket server, each replica's own /api/socketio listener (RELAY_SOCKET_PORT),
    # where haproxy routes that path (issue 13). Explicit, so free-port topologies cannot collide.
    sockets: tuple[int, ...] = (8101, 8102)
    s3: int = 9000
    postgres: int = 5432
    redis: int = 6379

    @classmethod
    def from_env(cls) -> "Ports":
        return cls(
            https=_port_from_env("RELAY_LB_PORT", cls.https),
            http=_port_from_env("RELAY_LB_HTTP_PORT", cls.http),
            replicas=_ports_from_env("RELAY_REPLICA_PORTS", cls.replicas),
            sockets=_ports_from_env("RELAY_SOCKET_PORTS", cls.sockets),
            s3=_port_from_env("RELAY_S3_PORT", cls.s3),
            postgres=_port_from_env("RELAY_POSTGRES_PORT", cls.postgres),
            redis=_port_from_env("RELAY_REDIS_PORT", cls.redis),
        )

    @classmethod
    def on_free_ports(cls, *, postgres: int, s3: int | None = None) -> "Ports":
        """A topology beside `make up` and other test runs: every port free now, except the shared
        Postgres (and an S3 server started by the caller, such as one behind a fault proxy)."""
        return cls(
            https=free_port(),
            http=free_port(),
            replicas=(free_port(), free_port()),
            sockets=(free_port(), free_port()),
            s3=free_port() if s3 is None else s3,
            postgres=postgres,
            redis=free_port(),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Ports":
        values = json.loads(text)
        # A record written before socket ports were recorded keeps the default ones.
        sockets = tuple(values.pop("sockets", cls.sockets))
        return cls(**{**values, "replicas": tuple(values["replicas"]), "sockets": sockets})

    @property
    def public_url(self) -> str:
        return f"https://localhost:{self.https}"

    def replica_ports(self) -> dict[str, int]:
        return dict(zip(REPLICA_NAMES, self.replicas, strict=True))

    def socket_ports(self) -> dict[str, int]:
        """Each replica's native socket listener (RELAY_SOCKET_PORT), used when native_sockets()."""
        return dict(zip(REPLICA_NAMES, self.sockets, strict=True))


@dataclass(frozen=True)
class Layout:
    """Files of one topology under its work directory (`.local/` for `make up`, a temp dir in tests)."""

    workdir: Path = field(default=DEFAULT_WORKDIR)

    @property
    def certs(self) -> Path:
        return self.workdir / "certs"

    @property
    def ca_cert(self) -> Path:
        return self.certs / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.certs / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.certs / "localhost.crt"

    @property
    def server_pem(self) -> Path:
        """Certificate chain and key in one file, the form haproxy's `crt` wants."""
        return self.certs / "localhost.pem"

    @property
    def signing_key(self) -> Path:
        return self.workdir / "keys" / "signing-key.pem"

    @property
    def verifying_key(self) -> Path:
        return self.workdir / "keys" / "signing-public.pem"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def run(self) -> Path:
        return self.workdir / "run"

    @property
    def haproxy_config(self) -> Path:
        return self.run / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.run / "haproxy.sock"

    @property
    def ports_record(self) -> Path:
        """The ports the running topology was started with, so `make status`/`down` find it again."""
        return self.run / "ports.json"

    @property
    def replicas_state(self) -> Path:
        return self.run / "replicas.json"

    @property
    def env_file(self) -> Path:
        """The replicas' environment, for `make token` and for a developer's shell (`set -a; . file`)."""
        return self.workdir / "relay.env"

    @property
    def redis_data(self) -> Path:
        return self.workdir / "redis"

    @property
    def postgres_data(self) -> Path:
        return self.workdir / "postgres"

    def pid_file(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    def log_file(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def create(self) -> None:
        for directory in (self.certs, self.signing_key.parent, self.logs, self.run):
            directory.mkdir(parents=True, exist_ok=True)
        self.signing_key.parent.chmod(0o700)
        self.certs.chmod(0o700)
