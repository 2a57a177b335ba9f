"""`make loadtest`: one headless locust run with the SLO gate, reports in a folder named after it.

    python -m loadtests.run --url https://localhost:8443 --scenario mixed --users 1000 --duration 12m \
        [--shape ramp] [--slo path] [--processes 2] [-- <more locust options>]

With --shape, --users is the peak and --duration the total (the shape scales its table to them).
Exit code: locust's, which the SLO gate sets (0: every limit held).

Against the local topology (`make up`) the run also records the cores each process used, every 10 s,
in `cpu.csv` (replicas, haproxy, Postgres, Redis, moto, the locust master and each worker), and
prints their means over the measured window: what saturates first, and whether the generator did.
"""

import argparse
import importlib
import ipaddress
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from locust.util.timespan import parse_timespan

from loadtests import slo
from loadtests.cpu import CpuRecorder, locust_processes, topology_processes
from topology import Topology
from topology.layout import DEFAULT_WORKDIR

HERE = Path(__file__).parent
REPO = HERE.parent
SCENARIOS = {
    "chat": ["ChatUser"],
    "api": ["ApiUser"],
    "uploads": ["UploadUser"],
    "mixed": ["ChatUser", "ApiUser", "UploadUser"],
}
SHAPES = sorted(p.stem for p in (HERE / "shapes").glob("*.py") if p.stem not in ("__init__", "table"))
LOCAL_CA = REPO / ".local" / "certs" / "ca.pem"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(prog="make loadtest", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the deployment, e.g. https://localhost:8443")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="mixed")
    parser.add_argument("--users", type=int, default=50, help="users (with --shape: the peak)")
    parser.add_argument("--duration", default="1m", help="run time, locust syntax: 90s, 12m, 4h")
    parser.add_argument("--shape", choices=SHAPES, help="load shape (loadtests/shapes/)")
    parser.add_argument(
        "--spawn-rate", type=float, help="users started per second (no shape); default users/20"
    )
    parser.add_argument(
        "--slo", type=Path, default=slo.DEFAULT_PATH, help="SLO file (default loadtests/slo.yaml)"
    )
    parser.add_argument(
        "--processes", type=int, default=0, help="locust --processes: worker processes (0: one)"
    )
    parser.add_argument(
        "--results", type=Path, default=REPO / "reports" / "loadtests", help="parent of the run folder"
    )
    parser.add_argument("--name", help="run name (default: time, scenario, users, shape)")
    parser.add_argument(
        "--topology-dir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="the local topology whose processes' CPU the run records (default: make up's .local/)",
    )
    args, extra = parser.parse_known_args(argv)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    slo.load(args.slo)  # a bad SLO file fails here, before any load
    return args, extra


def command(args: argparse.Namespace, extra: list[str], folder: Path) -> list[str]:
    files = [str(HERE / "locustfile.py")] + (
        [str(HERE / "shapes" / f"{args.shape}.py")] if args.shape else []
    )
    # Default: 20 s to spawn, at most 10 users/s: a faster connect-and-join storm saturated the
    # replicas before the steady state began (README, "Capacity").
    spawn_rate = args.spawn_rate or min(max(args.users / 20, 1), 10)
    argv = [
        sys.executable, "-m", "locust", "-f", ",".join(files), "--headless", "--only-summary",
        "--host", args.url, "-u", str(args.users), "-r", f"{spawn_rate:g}", "-t", args.duration,
        "--stop-timeout", "15",
        "--csv", str(folder / "stats"), "--html", str(folder / "report.html"), "--slo", str(args.slo),
        "--loglevel", "WARNING", "--logfile", str(folder / "locust.log"),
    ]  # fmt: skip
    if not args.shape:
        argv.append("--reset-stats")  # the SLO covers the steady state, not the spawn (shapes: see table.py)
    if args.processes:
        argv += ["--processes", str(args.processes)]
    return argv + extra + SCENARIOS[args.scenario]


def main(argv: list[str] | None = None) -> int:
    args, extra = parse(sys.argv[1:] if argv is None else argv)
    name = args.name or "-".join(
        filter(
            None, [time.strftime("%Y%m%d-%H%M%S", time.gmtime()), args.scenario, f"{args.users}u", args.shape]
        )
    )
    folder = args.results / name
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "LOADTEST_RUN_ID": uuid.uuid4().hex[:8]}
    if _is_loopback(args.url) and "LOADTEST_CA_CERT" not in env and LOCAL_CA.exists():
        env["LOADTEST_CA_CERT"] = str(LOCAL_CA)  # the local topology's own CA (make up)
    print(f"make loadtest: {args.scenario} x {args.users} users for {args.duration} -> {folder}", flush=True)
    locust = subprocess.Popen(command(args, extra, folder), cwd=REPO, env=env)  # noqa: S603
    recorder = _cpu_recorder(args, locust.pid, folder)
    try:
        returncode = locust.wait()
    finally:
        if recorder is not None:
            recorder.stop()
    if recorder is not None:
        _print_cpu(recorder, _measured_from(args))
    print(f"make loadtest: reports in {folder} (report.html, stats_*.csv, stats_slo.txt)", flush=True)
    return returncode


def _cpu_recorder(args: argparse.Namespace, locust_pid: int, folder: Path) -> CpuRecorder | None:
    """Only where the topology runs on this machine: a remote target's processes are not ours to read."""
    if not _is_loopback(args.url):
        return None
    topology = Topology.recorded(args.topology_dir)
    served = topology.url == args.url.rstrip("/") and topology.running()  # make up's, not another

    def groups() -> dict[str, list[int]]:
        return {**(topology_processes(topology) if served else {}), **locust_processes(locust_pid)}

    recorder = CpuRecorder(groups, folder / "cpu.csv")
    recorder.start()
    return recorder


def _measured_from(args: argparse.Namespace) -> float:
    """Seconds into the run where the stats the gate judges begin: after a shape's first stage and
    its settling time when it resets them (ramp, soak), else the start."""
    if not args.shape:
        return 0.0
    module = importlib.import_module(f"loadtests.shapes.{args.shape}")
    shape = next((value for value in vars(module).values() if getattr(value, "stages", None)), None)
    if shape is None or not shape.reset_stats_after_first_stage:
        return 0.0
    return shape.stages[0][0] * parse_timespan(args.duration) + shape.SETTLE_SECONDS


def _print_cpu(recorder: CpuRecorder, since_seconds: float) -> None:
    summary = recorder.summary(since_seconds)
    if not summary:
        return
    print(f"make loadtest: cores used after {since_seconds:g} s (mean / max of 10 s samples; cpu.csv):")
    for name, (mean, peak) in sorted(summary.items(), key=lambda item: -item[1][0]):
        print(f"  {name:<18} {mean:5.2f} / {peak:5.2f}")


if __name__ == "__main__":
    sys.exit(main())
