"""Ports default to the DESIGN.md §3 contract and each can be moved by an environment variable."""

import pytest

from relay.settings import Settings
from topology.layout import SOCKET_SERVERS, Ports, native_sockets, socket_server


def test_default_ports_are_the_contract() -> None:
    p = Ports()
    assert (p.https, p.http, p.replicas, p.sockets, p.s3, p.postgres, p.redis) == (
        8443,
        8080,
        (8001, 8002),
        (8101, 8102),
        9000,
        5432,
        6379,
    )
    assert p.public_url == "https://localhost:8443"


PORT_VARIABLES = (
    "RELAY_LB_PORT",
    "RELAY_LB_HTTP_PORT",
    "RELAY_REPLICA_PORTS",
    "RELAY_SOCKET_PORTS",
    "RELAY_S3_PORT",
    "RELAY_POSTGRES_PORT",
    "RELAY_REDIS_PORT",
)


def test_ports_are_overridable_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in PORT_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("RELAY_LB_PORT", "18443")
    monkeypatch.setenv("RELAY_REPLICA_PORTS", "18001,18002")
    ports = Ports.from_env()
    assert ports.https == 18443
    assert ports.replica_ports() == {"r1": 18001, "r2": 18002}
    assert ports.socket_ports() == {"r1": 8101, "r2": 8102}, "not derived from the replica ports"
    monkeypatch.setenv("RELAY_SOCKET_PORTS", "18101,18102")
    assert Ports.from_env().socket_ports() == {"r1": 18101, "r2": 18102}
    assert ports.http == Ports.http


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RELAY_LB_PORT", "https"),
        ("RELAY_S3_PORT", "70000"),
        ("RELAY_REPLICA_PORTS", "8001"),
        ("RELAY_SOCKET_PORTS", "8101,x"),
    ],
)
def test_a_bad_port_names_the_variable_and_the_fix(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        Ports.from_env()


def test_ports_survive_the_record_written_at_start() -> None:
    ports = Ports(https=1, http=2, replicas=(3, 4), sockets=(8, 9), s3=5, postgres=6, redis=7)
    assert Ports.from_json(ports.to_json()) == ports


def test_a_record_from_before_socket_ports_reads_with_the_default_ones() -> None:
    record = '{"https": 1, "http": 2, "replicas": [3, 4], "s3": 5, "postgres": 6, "redis": 7}'
    assert Ports.from_json(record).sockets == Ports.sockets


def test_a_free_port_topology_keeps_the_services_it_is_given_and_no_contract_port() -> None:
    ports = Ports.on_free_ports(postgres=15432, s3=19000)
    assert (ports.postgres, ports.s3) == (15432, 19000)
    own = {ports.https, ports.http, *ports.replicas, *ports.sockets, ports.redis}
    contract = Ports()
    assert not own & {contract.https, contract.http, *contract.replicas, *contract.sockets, contract.redis}
    assert Ports.on_free_ports(postgres=15432).s3 != contract.s3, "its own S3 server on a free port"


def test_the_native_socket_server_is_the_default_the_app_and_the_topology_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """haproxy's socket route and the replicas' server come from the same choice (issue 13)."""
    monkeypatch.delenv("RELAY_SOCKET_SERVER", raising=False)
    assert socket_server() == Settings.model_fields["socket_server"].default == SOCKET_SERVERS[0] == "native"
    assert native_sockets()
    monkeypatch.setenv("RELAY_SOCKET_SERVER", "python-socketio")
    assert not native_sockets()


def test_an_unknown_socket_server_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAY_SOCKET_SERVER", "socket.io")
    with pytest.raises(ValueError, match=r"RELAY_SOCKET_SERVER='socket\.io'"):
        socket_server()
