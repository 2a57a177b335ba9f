"""The generated haproxy configuration is valid and carries DESIGN.md §4's timeouts and rules."""

import re
import subprocess
from pathlib import Path

from topology.certs import ensure_key_material
from topology.haproxy import HealthCheck, haproxy_binary, render_config
from topology.layout import Layout, Ports


def seconds(config: str, setting: str) -> int:
    match = re.search(rf"^\s*timeout {setting} (\d+)(s|h)$", config, re.MULTILINE)
    assert match, f"no `timeout {setting}` in the config"
    return int(match[1]) * (3600 if match[2] == "h" else 1)


def test_haproxy_accepts_the_generated_config(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    ensure_key_material(layout)
    layout.haproxy_config.write_text(render_config(Ports(), layout, HealthCheck()))
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(layout.haproxy_config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_timeouts_outlast_the_socket_ping_interval(tmp_path: Path) -> None:
    config = render_config(Ports(), Layout(tmp_path))
    assert seconds(config, "client") >= 90
    assert seconds(config, "server") >= 90
    assert seconds(config, "tunnel") == 3600


def test_each_replica_is_health_checked_on_healthz_with_its_own_cookie(tmp_path: Path) -> None:
    config = render_config(Ports(replicas=(18001, 18002)), Layout(tmp_path))
    assert "http-check send meth GET uri /healthz" in config
    # From the one address the replicas trust as a proxy (RELAY_TRUSTED_PROXIES, issue 7 finding 3).
    assert "server r1 127.0.0.1:18001 source 127.0.0.2 check cookie r1" in config
    assert "server r2 127.0.0.1:18002 source 127.0.0.2 check cookie r2" in config


def test_a_replica_marked_down_has_its_sessions_closed(tmp_path: Path) -> None:
    """A hung replica's sockets move at once (tests/reliability: SIGSTOP) instead of hanging."""
    config = render_config(Ports(), Layout(tmp_path))
    assert re.search(r"^\s*default-server .*on-marked-down shutdown-sessions", config, re.MULTILINE)


def test_native_socket_server_gets_the_socket_path_by_path_and_only_it_is_sticky(tmp_path: Path) -> None:
    """RELAY_SOCKET_SERVER=native (issue 13): /api/socketio to each replica's socket listener
    (Ports.sockets), health-checked on the main port; REST without a cookie. haproxy accepts it."""
    layout = Layout(tmp_path)
    layout.create()
    ensure_key_material(layout)
    config = ports = Ports(replicas=(18001, 18002), sockets=(18201, 18202))
    config = render_config(ports, layout, HealthCheck(), socket_listeners=True)
    assert "use_backend relay_socket if { path_beg /api/socketio }" in config
    assert "server r1 127.0.0.1:18201 source 127.0.0.2 check port 18001 cookie r1" in config
    assert "server r1 127.0.0.1:18001 source 127.0.0.2 check\n" in config
    rest = config.split("backend relay\n", 1)[1].split("backend relay_socket", 1)[0]
    assert "cookie" not in rest
    layout.haproxy_config.write_text(config)
    check = subprocess.run(
        [haproxy_binary(), "-c", "-f", str(layout.haproxy_config)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_a_get_that_reached_a_dying_replica_is_replayed_and_nothing_else_is(tmp_path: Path) -> None:
    """A kill -9 between accept and answer left GET /healthz with a 502 or a dropped connection
    (tests/e2e/test_replica_rotation.py); replaying a POST could apply it twice."""
    config = render_config(Ports(), Layout(tmp_path))
    assert re.search(r"^\s*retry-on conn-failure empty-response$", config, re.MULTILINE)
    assert re.search(r"^\s*http-request disable-l7-retry unless METH_GET$", config, re.MULTILINE)
