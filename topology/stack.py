"""The topology as one object: `Topology(ports, workdir).start()` brings up what is missing and
reuses what runs, `stop()` stops only what it started. `make up` and the e2e tests use this same code.
"""

import os
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from topology import certs, database, haproxy, postgres_server, redis_server, s3
from topology.errors import TopologyError
from topology.layout import (
    APP_ROLE,
    DATABASE_NAME,
    OWNER_ROLE,
    REPO_ROOT,
    UPLOADS_BUCKET,
    Layout,
    Ports,
    native_sockets,
    socket_server,
)
from topology.processes import port_open
from topology.replicas import ReplicaSet

# The service's command line, from the virtualenv this package runs in.
RELAY = str(Path(sys.executable).with_name("relay"))


@dataclass
class Component:
    """One line of `make status`: what runs, who started it, where."""

    name: str
    pid: int | None
    address: str
    owned: bool

    def describe(self) -> str:
        owner = f"pid {self.pid}" if self.owned else "shared machine service, not ours to stop"
        state = "running" if (self.pid or not self.owned) else "STOPPED"
        return f"  {self.name:<12} {state:<8} {self.address:<28} {owner}"


@dataclass
class Topology:
    ports: Ports = field(default_factory=Ports.from_env)
    workdir: Path | None = None
    database: str = DATABASE_NAME
    drain_seconds: float = 5.0
    health_check: haproxy.HealthCheck = field(default_factory=haproxy.HealthCheck)

    def __post_init__(self) -> None:
        self.layout = Layout(self.workdir) if self.workdir else Layout()
        self.replicas = ReplicaSet(self.layout, self.ports)

    @classmethod
    def recorded(cls, workdir: Path | None = None) -> "Topology":
        """The topology in `workdir` with the ports it was last started on (env ports if never started),
        so `make status` and `make down` find a topology started with overridden ports."""
        layout = Layout(workdir) if workdir else Layout()
        try:
            ports = Ports.from_json(layout.ports_record.read_text())
        except FileNotFoundError:
            ports = Ports.from_env()
        return cls(ports=ports, workdir=workdir)

    @property
    def url(self) -> str:
        return self.ports.public_url

    def relay_env(self) -> dict[str, str]:
        """The replicas' settings (SERVICE-CONTRACT.md), also written to `relay.env`."""
        db = dict(database=self.database, driver="postgresql+asyncpg")
        return {
            "RELAY_ENVIRONMENT": "local",
            "RELAY_DATABASE_URL": database.url(self.ports, user=APP_ROLE, **db),
            "RELAY_MIGRATION_DATABASE_URL": database.url(self.ports, user=OWNER_ROLE, **db),
            "RELAY_REDIS_URL": f"redis://127.0.0.1:{self.ports.redis}/0",
            "RELAY_S3_BUCKET": UPLOADS_BUCKET,
            "RELAY_S3_REGION": s3.DUMMY_AWS_ENV["AWS_DEFAULT_REGION"],
            "RELAY_S3_ENDPOINT_URL": s3.endpoint_url(self.ports),
            "RELAY_AUTH_ISSUER": self.url,
            "RELAY_AUTH_PUBLIC_KEY_FILE": str(self.layout.verifying_key),
            "RELAY_LOCAL_SIGNING_KEY_FILE": str(self.layout.signing_key),
            "RELAY_ALLOWED_ORIGINS": self.url,
            "RELAY_PUBLIC_URL": self.url,
            "RELAY_TRUSTED_PROXIES": haproxy.SOURCE_ADDRESS,
            "RELAY_DRAIN_SECONDS": f"{self.drain_seconds:g}",
            # Named, so the replicas run the server haproxy's socket route was generated for.
            "RELAY_SOCKET_SERVER": socket_server(),
            **s3.DUMMY_AWS_ENV,
            "PYTHONUNBUFFERED": "1",
        }

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.relay_env()}

    # --- start -----------------------------------------------------------------------------
    def start(self) -> list[str]:
        """Bring up whatever is not running yet; returns what was done (empty: nothing to do)."""
        self.layout.create()
        self.layout.ports_record.write_text(self.ports.to_json())
        done = certs.ensure_key_material(self.layout)
        self.layout.env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(self.relay_env().items())))
        done += self._start_postgres()
        if database.bootstrap(self.ports, self.database):
            done.append(f"created database {self.database} (owner {OWNER_ROLE}, DML for {APP_ROLE})")
        done += self._start_redis()
        done += self._start_s3()
        done += self._migrate()
        done += self._start_replicas()
        done += self._start_haproxy()
        self.wait_healthy()
        return done

    def _require_free(self, port: int, what: str, variable: str) -> None:
        if port_open(port):
            raise TopologyError(
                f"port {port} for {what} is taken by a process this topology did not start: "
                f"stop it, or choose another port with {variable}=<port>"
            )

    def _start_postgres(self) -> list[str]:
        if postgres_server.running_pid(self.layout) or port_open(self.ports.postgres):
            return []
        subprocess.run(["bash", str(REPO_ROOT / "scripts/install-system-deps.sh"), "postgresql"], check=True)  # noqa: S603,S607
        pid = postgres_server.start(self.ports, self.layout)
        return [f"started postgres pid {pid} on 127.0.0.1:{self.ports.postgres}"]

    def _start_redis(self) -> list[str]:
        if redis_server.running_pid(self.layout) or port_open(self.ports.redis):
            return []
        pid = redis_server.start(self.ports, self.layout, persist=self.workdir is None)
        return [f"started redis-server pid {pid} on 127.0.0.1:{self.ports.redis}"]

    def _start_s3(self) -> list[str]:
        done = []
        if not s3.running_pid(self.layout):
            self._require_free(self.ports.s3, "the S3-compatible server", "RELAY_S3_PORT")
            pid = s3.start(self.ports, self.layout)
            done.append(f"started moto_server pid {pid} on {s3.endpoint_url(self.ports)}")
        s3.ensure_bucket(self.ports)
        return done

    def _relay_command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603  # fixed argv
            [RELAY, *args], env=self.process_env(), capture_output=True, text=True, check=check, timeout=120
        )

    def run_relay(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`relay <args>` with this topology's settings, output passed straight through."""
        return subprocess.run([RELAY, *args], env=self.process_env(), check=False, text=True)  # noqa: S603

    def _migrate(self) -> list[str]:
        result = self._relay_command("migrate", check=False)
        if result.returncode != 0:
            raise TopologyError(
                f"`relay migrate` failed (exit {result.returncode}):\n{result.stderr.strip()}"
            )
        return [result.stdout.strip() or f"migrated database {self.database}"]

    def _start_replicas(self) -> list[str]:
        if self.replicas.supervisor_pid():
            return []
        for name, port in self.ports.replica_ports().items():
            self._require_free(port, f"replica {name}", "RELAY_REPLICA_PORTS")
        if native_sockets():
            for name, port in self.ports.socket_ports().items():
                self._require_free(port, f"replica {name}'s socket listener", "RELAY_SOCKET_PORTS")
        pid = self.replicas.start(self.process_env(), grace_seconds=self.drain_seconds + 10)
        ports = ", ".join(str(p) for p in self.ports.replicas)
        return [f"started supervisor pid {pid} with replicas on 127.0.0.1:{ports}"]

    def _start_haproxy(self) -> list[str]:
        if haproxy.running_pid(self.layout):
            return []
        self._require_free(self.ports.https, "haproxy (https)", "RELAY_LB_PORT")
        self._require_free(self.ports.http, "haproxy (http)", "RELAY_LB_HTTP_PORT")
        pid = haproxy.start(self.ports, self.layout, self.health_check)
        return [f"started haproxy pid {pid} on {self.url} (http :{self.ports.http} redirects)"]

    # --- health ----------------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.layout.ca_cert))

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for the load balancer that trusts the generated CA."""
        return httpx.Client(base_url=self.url, verify=self.ssl_context(), timeout=10, **kwargs)

    def wait_healthy(self, timeout: float = 60) -> None:
        """Wait until every replica answers itself, haproxy sees each one UP, and /healthz answers
        through haproxy. Asking the replicas too matters right after a crash: until its next probe
        fails, haproxy still reports a dead replica UP."""
        for name in self.ports.replica_ports():
            try:
                self.wait_replica_serving(name, timeout=timeout)
                self.wait_replica_state(name, "UP", timeout=timeout)
            except TopologyError as error:
                logs = f"{self.layout.log_file(f'replica-{name}')} and {self.layout.log_file('supervisor')}"
                raise TopologyError(f"{error}; see {logs}") from error
        with self.client() as client:
            response = client.get("/healthz")
        if response.status_code != 200:
            raise TopologyError(f"GET {self.url}/healthz through haproxy answered {response.status_code}")

    def wait_replica_serving(self, name: str, timeout: float = 30) -> None:
        """Wait until replica `name` itself answers /healthz (haproxy may not have seen it go down yet)."""
        url = f"http://127.0.0.1:{self.ports.replica_ports()[name]}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise TopologyError(f"replica {name} did not answer {url} within {timeout:.0f} s")

    def wait_replica_state(self, name: str, state: str, timeout: float = 20) -> None:
        """Wait until haproxy's health checks report replica `name` exactly `state` (`UP`, `DOWN`;
        `UP 1/2` is a replica on its way down)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if haproxy.server_states(self.layout).get(name) == state:
                return
            time.sleep(0.1)
        states = haproxy.server_states(self.layout)
        raise TopologyError(f"replica {name} not {state} in haproxy within {timeout:.0f} s: {states}")

    # --- stop and status ---------------------------------------------------------------------
    def stop(self) -> list[str]:
        """Stop what this topology started, in reverse order; data (Postgres, Redis dumps) is kept."""
        stopped = []
        for name, stop in (
            ("haproxy", haproxy.stop),
            ("supervisor and replicas", self.replicas.stop),
            ("moto_server", s3.stop),
            ("redis-server", redis_server.stop),
            ("postgres", postgres_server.stop),
        ):
            pid = stop(self.layout)
            if pid:
                stopped.append(f"stopped {name} (pid {pid})")
        return stopped

    def components(self) -> list[Component]:
        p = self.ports
        replica_pids = self.replicas.pids()
        own_pg, own_redis = postgres_server.running_pid(self.layout), redis_server.running_pid(self.layout)
        return [
            Component("haproxy", haproxy.running_pid(self.layout), f"{self.url} (http :{p.http})", True),
            Component("supervisor", self.replicas.supervisor_pid(), "", True),
            *(
                Component(f"replica {name}", replica_pids.get(name), f"127.0.0.1:{port}", True)
                for name, port in p.replica_ports().items()
            ),
            Component("moto_server", s3.running_pid(self.layout), s3.endpoint_url(p), True),
            Component("postgres", own_pg, f"127.0.0.1:{p.postgres}/{self.database}", bool(own_pg)),
            Component("redis", own_redis, f"127.0.0.1:{p.redis}", bool(own_redis)),
        ]

    def running(self) -> bool:
        return all(c.pid for c in self.components() if c.owned)

    def token(self, user: str, ttl: int = 3600) -> str:
        """A session token from `relay token` (local mode only, by contract)."""
        return self._relay_command("token", "--user", user, "--ttl", str(ttl)).stdout.strip()

    def kill_replica(self, name: str, sig: int = signal.SIGKILL) -> int:
        """Signal one replica directly (the fault a crash or OOM kill would be); returns its pid."""
        return self.replicas.signal(name, sig)
