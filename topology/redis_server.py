"""A Redis the topology owns: started only when none answers on the configured port (tests always
start their own on a free port; `make up` reuses the machine's shared one at 6379)."""

import shutil

from topology.layout import Layout, Ports
from topology.processes import read_pid, spawn_daemon, stop_from_pid_file, wait_for_port


def start(ports: Ports, layout: Layout, *, persist: bool) -> int:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError(
            "redis-server is not installed: "
            "run `bash scripts/install-system-deps.sh redis-server` (make up does)"
        )
    layout.redis_data.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(ports.redis),
        "--dir",
        str(layout.redis_data),
        "--daemonize",
        "no",
        "--protected-mode",
        "yes",
        "--save",
        "60 1" if persist else "",
        "--appendonly",
        "no",
    ]
    pid = spawn_daemon(argv, pid_file=layout.pid_file("redis"), log_file=layout.log_file("redis"))
    wait_for_port(ports.redis, timeout=10, what="redis-server", log_file=layout.log_file("redis"))
    return pid


def stop(layout: Layout) -> int | None:
    return stop_from_pid_file(layout.pid_file("redis"), timeout=10)


def running_pid(layout: Layout) -> int | None:
    return read_pid(layout.pid_file("redis"))
