"""One real topology per test session, on free ports, with its own Redis and its own database on
the shared Postgres, so it never disturbs a running `make up` (DESIGN.md §3, `make test`)."""

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from relay.auth.minter import mint_token
from relay.settings import load_settings
from tests.utils.topologies import running_topology
from topology import Topology


@pytest.fixture(scope="session")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with running_topology(tmp_path_factory.mktemp("topology"), "relay_e2e") as stack:
        yield stack


@pytest.fixture
def lb(topology: Topology) -> Iterator[httpx.Client]:
    """A cookie-less HTTPS client of the load balancer that trusts the generated CA."""
    with topology.client() as client:
        yield client


@pytest.fixture
def healthy(topology: Topology) -> Topology:
    """The topology with every replica in rotation (fault tests leave it that way too)."""
    topology.wait_healthy()
    return topology


@pytest.fixture(scope="session")
def mint(topology: Topology) -> Callable[[str], str]:
    """Tokens from the service's own local minter (what `relay token` runs) with the replicas'
    settings, for a user name made unique per call. In-process: a `relay token` process per user
    costs about two seconds of start-up (the reliability suite mints fifty per fault the same way)."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in topology.relay_env().items():
            patch.setenv(variable, value)
        settings = load_settings()

    def mint_for(name: str) -> str:
        return mint_token(settings, f"{name}-{uuid.uuid4().hex[:8]}")

    return mint_for
