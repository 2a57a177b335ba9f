"""The runbook automation against a local AWS API (moto server), fake `pulumi`/`kubectl`, and a
real topology on free ports (verify, export-user), started once and only when a test asks for it."""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from relay.auth.token_source import TOPOLOGY_ENV_VARIABLE, TokenSource, token_source_from_env
from tests.utils.aws_emulator import AwsEmulator
from tests.utils.topologies import running_topology
from topology import Topology

REGION = "eu-west-1"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    server = AwsEmulator.start(tmp_path_factory.mktemp("moto"))
    yield server
    server.stop()


def _point_at(emulator: AwsEmulator, patch: pytest.MonkeyPatch) -> None:
    for key, value in emulator.environment.items():
        patch.setenv(key, value)
    patch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def aws(emulator, monkeypatch):
    """A clean emulator, recording, with the automation's boto3 pointed at it."""
    emulator.reset()
    _point_at(emulator, monkeypatch)
    return emulator


@pytest.fixture(scope="module")
def aws_module(emulator):
    """One clean emulator for a module whose tests leave each other's data alone (cheaper setup)."""
    emulator.reset()
    with pytest.MonkeyPatch.context() as patch:
        _point_at(emulator, patch)
        yield emulator


@pytest.fixture(scope="session")
def boto(emulator):
    def make(service: str, region: str = REGION):
        return boto3.client(service, region_name=region, endpoint_url=emulator.url)

    return make


FAKE_TOOL = """#!{python}
import json, os, shutil, subprocess, sys
with open({log!r}, "a") as log:
    log.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
if sys.argv[1:3] == ["get", "deployment/relay"]:
    print(os.environ.get("FAKE_KUBECTL_IMAGE", ""))
if sys.argv[1:3] == ["get", "pods"]:
    print(os.environ.get("FAKE_KUBECTL_POD", ""))
if sys.argv[1:4] == ["stack", "output", "appImage"]:
    print(os.environ.get("FAKE_PULUMI_APP_IMAGE", ""))
# With FAKE_KUBECTL_LOCAL, the "pod" is this machine: exec runs the command here, cp copies a file.
if os.environ.get("FAKE_KUBECTL_LOCAL") and sys.argv[1] == "exec":
    command = sys.argv[sys.argv.index("--") + 1 :]
    binary = shutil.which(command[0]) or os.path.join(os.path.dirname(sys.executable), command[0])
    sys.exit(subprocess.run([binary, *command[1:]]).returncode)
if os.environ.get("FAKE_KUBECTL_LOCAL") and sys.argv[1] == "cp":
    shutil.copyfile(sys.argv[-2].split(":", 1)[1], sys.argv[-1])
sys.exit(int(os.environ.get("FAKE_TOOL_EXIT", "0")))
"""


class ToolLog:
    """What the fake `pulumi` and `kubectl` were called with, in order."""

    def __init__(self, path: Path):
        self.path = path

    def calls(self) -> list[list[str]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines()]


@pytest.fixture
def fake_tools(tmp_path, monkeypatch) -> ToolLog:
    """`pulumi` and `kubectl` on PATH that only record their command lines (no real engine)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "tools.jsonl"
    bin_dir.mkdir()
    for tool in ("pulumi", "kubectl"):
        script = bin_dir / tool
        script.write_text(FAKE_TOOL.format(python=sys.executable, log=str(log)))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("PULUMI", raising=False)
    return ToolLog(log)


@pytest.fixture(scope="session")
def topology(tmp_path_factory) -> Iterator[Topology]:
    with running_topology(tmp_path_factory.mktemp("topology"), "relay_runbooks") as stack:
        yield stack


@pytest.fixture
def healthy(topology) -> Topology:
    """The topology with both replicas in rotation (a fault test leaves it that way again)."""
    topology.wait_healthy()
    return topology


@pytest.fixture(scope="session")
def tokens(topology) -> TokenSource:
    """The load tests' token source, minting with this topology's key (as it does for `make up`)."""
    return token_source_from_env({TOPOLOGY_ENV_VARIABLE: str(topology.layout.env_file)})
