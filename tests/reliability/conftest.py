"""One topology for the reliability suite, with every dependency its own so it can be broken: its
own Postgres cluster (restartable), reached by the replicas through a TCP fault proxy, its own
Redis, and its own S3 server, reached by the replicas and by browser-style uploads through a second
fault proxy (moto keeps objects in memory: a restart would lose the files that an outage must
not). The run's figures go to reports/reliability-results.md."""

import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from relay.auth.minter import mint_token
from relay.settings import load_settings
from tests.reliability.load import Figures
from tests.utils.fault_proxy import FaultProxy
from topology import Ports, Topology, database
from topology.layout import APP_ROLE, REPO_ROOT
from topology.processes import free_port

RESULTS = REPO_ROOT / "reports" / "reliability-results.md"
DRAIN_SECONDS = 3.0  # above haproxy's fall x inter (2 s), so it stops routing before the replica stops


@dataclass
class FaultableTopology(Topology):
    """The replicas reach Postgres through `database_proxy_port`; migrations go direct. S3 is
    reached through `s3_proxy_port` (presigned URLs too, since they are signed for that endpoint)."""

    database_proxy_port: int = 0
    s3_proxy_port: int = 0

    def relay_env(self) -> dict[str, str]:
        env = super().relay_env()
        through_proxy = replace(self.ports, postgres=self.database_proxy_port)
        env["RELAY_DATABASE_URL"] = database.url(
            through_proxy, user=APP_ROLE, database=self.database, driver="postgresql+asyncpg"
        )
        env["RELAY_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{self.s3_proxy_port}"
        # Fifty simulated users share one address here; DESIGN §4: a load run from one address
        # raises the per-IP limits (requests and Socket.IO handshakes).
        env["RELAY_RATE_IP_PER_SECOND"] = "10000"
        env["RELAY_RATE_HANDSHAKES_PER_SECOND"] = "10000"
        env["RELAY_RATE_HANDSHAKES_BURST"] = "10000"
        return env


@pytest.fixture(scope="session")
def postgres_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=free_port()).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def s3_proxy() -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=free_port()).start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def topology(postgres_proxy: FaultProxy, s3_proxy: FaultProxy) -> Iterator[FaultableTopology]:
    # Not under pytest's tmp_path: that is private to root, and Postgres runs as its own user.
    workdir = Path(tempfile.mkdtemp(prefix="relay-reliability-"))
    workdir.chmod(0o755)
    ports = Ports.on_free_ports(postgres=postgres_proxy.upstream_port, s3=s3_proxy.upstream_port)
    stack = FaultableTopology(
        ports=ports,
        workdir=workdir,
        database="relay",
        drain_seconds=DRAIN_SECONDS,
        database_proxy_port=postgres_proxy.port,
        s3_proxy_port=s3_proxy.port,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def healthy(
    topology: FaultableTopology, postgres_proxy: FaultProxy, s3_proxy: FaultProxy
) -> FaultableTopology:
    """Every replica serving and in rotation, the links clean (each fault leaves them so)."""
    postgres_proxy.heal()
    s3_proxy.heal()
    topology.wait_healthy()
    return topology


@pytest.fixture(scope="session")
def mint(topology: FaultableTopology) -> Callable[[str], str]:
    """Tokens from the service's own local minter, in-process (fifty users per fault)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in topology.relay_env().items():
            patch.setenv(variable, value)
        settings = load_settings()
    return lambda name: mint_token(settings, f"{name}-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="session")
def results() -> Iterator[list[Figures]]:
    """Each fault test appends its figures; the table is written when the suite ends."""
    rows: list[Figures] = []
    yield rows
    if rows:
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(render_table(rows))
        print(f"\nreliability results: {RESULTS}")


def render_table(rows: list[Figures]) -> str:
    lines = [
        f"# Reliability run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        "| fault | recovery s | errors seen by clients | API errors | lost | duplicated "
        "| longest wait s | unanswered | messages | errors by kind | notes |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(r.errors_by_kind.items())) or "-"
        lines.append(
            f"| {r.fault} | {r.recovery_seconds} | {r.client_errors} | {r.api_errors} | {r.lost} "
            f"| {r.duplicated} | {r.longest_wait_seconds} | {r.unanswered} | {r.messages} | {kinds} "
            f"| {r.notes or '-'} |"
        )
    return "\n".join(lines) + "\n"
