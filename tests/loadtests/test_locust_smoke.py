"""A short locust run (make loadtest's driver) against a real topology on free ports: all three user
classes through haproxy, a stats row for every request name (delivery latency included), reports
written, and the SLO gate's exit code: 0 when the limits hold, 1 with the breached rows printed when
one is impossibly low (that run also goes through a load shape)."""

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from relay.auth.token_source import TOPOLOGY_ENV_VARIABLE, token_source_from_env
from runbooks.verify import verify
from tests.utils.topologies import running_topology
from topology import Topology
from topology.layout import REPLICA_NAMES

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).resolve().parents[2]
RUN_SECONDS = 20


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with running_topology(tmp_path_factory.mktemp("loadtest-topology"), "relay_lt") as stack:
        # make up's own verification first: sign-in, upload and search warm both replicas'
        # database and storage connections, so the first users do not meet a cold start.
        tokens = token_source_from_env({TOPOLOGY_ENV_VARIABLE: str(stack.layout.env_file)})
        record, _ = verify(stack.url, tokens, context=stack.ssl_context())
        assert record.ok, record.error
        yield stack


def _loadtest(
    topology: Topology, results: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RELAY_TOPOLOGY_ENV_FILE": str(topology.layout.env_file),  # tokens from this topology's minter
        "LOADTEST_CA_CERT": str(topology.layout.ca_cert),
        "LOADTEST_CONFIG": str(DATA / "smoke-config.yaml"),
        **(env or {}),
    }
    argv = [
        sys.executable,
        "-m",
        "loadtests.run",
        "--url",
        topology.url,
        "--results",
        str(results),
        "--name",
        "run",
        "--topology-dir",
        str(topology.layout.workdir),
    ]
    return subprocess.run(
        [*argv, *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS + 60,
        check=False,
    )


def _rows(folder: Path) -> dict[str, dict[str, str]]:
    with (folder / "stats_stats.csv").open() as stats:
        return {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(stats)}


def test_mixed_run_holds_the_smoke_slo_with_every_row(topology: Topology, tmp_path: Path) -> None:
    slo = DATA / "smoke-slo.yaml"
    options = ["--scenario", "mixed", "--users", "11", "--spawn-rate", "11", "--duration", f"{RUN_SECONDS}s"]
    result = _loadtest(topology, tmp_path, *options, "--slo", str(slo))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output

    folder = tmp_path / "run"
    assert (folder / "report.html").stat().st_size > 0
    assert "SLO gate: pass" in (folder / "stats_slo.txt").read_text()
    rows = _rows(folder)
    for name in ("socket socket connect", "socket message:send ack", "socket message:new delivery",
                 "GET /api/channels", "GET /api/channels/[id]/messages", "GET /api/search",
                 "GET /api/notifications", "PUT /api/me/status", "POST /api/uploads",
                 "POST /api/uploads/[id]/complete", "storage storage: POST upload",
                 "storage storage: GET signed URL"):  # fmt: skip
        assert name in rows, f"no stats row {name!r}: {sorted(rows)}"
        assert int(rows[name]["Request Count"]) > 0, f"{name}: no samples"
        assert int(rows[name]["Failure Count"]) == 0, f"{name}: failures\n{output}"
    # The users came from many loopback addresses (loadtests/source_addresses.py): the replicas
    # logged them as client IPs, so per-IP limits saw many clients, not one.
    logs = "".join(topology.layout.log_file(f"replica-{name}").read_text() for name in REPLICA_NAMES)
    assert len(set(re.findall(r'"client_ip":"(127\.0\.1\.\d+)"', logs))) >= 5
    # One delivery sample per (message, recipient other than the sender): channels of 4, so 3 each.
    sent, delivered = (
        int(rows[f"socket {n}"]["Request Count"]) for n in ("message:send ack", "message:new delivery")
    )
    assert delivered <= 3 * sent, (sent, delivered)
    assert delivered >= sent, (sent, delivered)
    # The cores each process used, for a capacity run's "what saturates first".
    with (folder / "cpu.csv").open() as cpu:
        groups = {row["group"] for row in csv.DictReader(cpu)}
    assert {"replica r1", "replica r2", "haproxy", "postgres", "locust"} <= groups, groups
    assert "cores used after 0 s" in result.stdout, output


def test_impossibly_low_limit_fails_the_gate_of_a_shaped_run(topology: Topology, tmp_path: Path) -> None:
    slo = tmp_path / "impossible.yaml"
    limits = {"default": {"fail_ratio": 0.0}, "message:new delivery": {"p99_ms": 0.001, "min_samples": 1}}
    slo.write_text(yaml.safe_dump(limits))
    # Through a load shape too: `ramp` scales its table to -u (peak) and -t (total).
    options = ["--scenario", "chat", "--users", "4", "--duration", "14s", "--shape", "ramp"]
    result = _loadtest(topology, tmp_path, *options, "--slo", str(slo))
    output = result.stdout + result.stderr
    with (tmp_path / "run" / "stats_stats_history.csv").open() as history:
        assert max(int(row["User Count"]) for row in csv.DictReader(history)) == 4, output

    assert result.returncode == 1, output
    assert "SLO gate: FAIL" in output
    failed_rows = [line.split() for line in output.splitlines() if line.endswith("  FAIL")]
    assert [row[:4] for row in failed_rows] == [["socket", "message:new", "delivery", "p99_ms"]], output


def test_short_lived_tokens_are_refreshed_on_the_socket_over_long_polling(
    topology: Topology, tmp_path: Path
) -> None:
    """15 s tokens, as with Clerk: without `auth:refresh` the server would drop each socket at
    exp + 5 s (token_expired) and the users would reconnect; here no socket is dropped."""
    slo = tmp_path / "refresh.yaml"
    slo.write_text(yaml.safe_dump({"default": {"fail_ratio": 0.0}, "auth:refresh": {"min_samples": 3}}))
    command = f"{sys.executable} {DATA / 'short_token.py'} {topology.layout.env_file} 15"
    env = {"RELAY_TEST_TOKEN_COMMAND": command, "LOADTEST_TRANSPORT": "polling"}
    options = ["--scenario", "chat", "--users", "3", "--spawn-rate", "3", "--duration", "24s"]
    result = _loadtest(topology, tmp_path, *options, "--slo", str(slo), env=env)
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    rows = _rows(tmp_path / "run")
    assert int(rows["socket socket connect"]["Request Count"]) <= 3, (
        f"a socket was dropped and reconnected\n{output}"
    )
    assert int(rows["socket auth:refresh"]["Failure Count"]) == 0, output
