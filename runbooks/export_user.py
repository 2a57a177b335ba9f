"""`export-user USER --output FILE`: a user's data export (the archive `GET /api/me/export` returns)
for a user who cannot download it themselves, made by the service's own `relay export-user`.

In the cluster it runs in one running app pod with `kubectl exec` (the pod has the database and
bucket credentials; nobody copies them out), writes to the pod's private `/tmp`, copies the
archive out with `kubectl cp` and removes it from the pod. `--local` runs the same command against
the local topology. Read-only for Relay: no `--apply`. The record gives the archive's size and
SHA-256 for the support ticket.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

from runbooks.output import OperatorError, Record, add_output_flags, emit, run_guarded
from runbooks.stack import APP_NAMESPACE, REPO_ROOT
from runbooks.tools import run

APP_SELECTOR = "app.kubernetes.io/name=relay,app.kubernetes.io/component=api"  # infra/app.py
CONTAINER = "relay"  # infra/workload.py
LOCAL_TOPOLOGY = REPO_ROOT / ".local"  # topology/layout.py
RELAY = str(Path(sys.executable).with_name("relay"))  # the service's command line, from this virtualenv
USER_ID = re.compile(r"^[A-Za-z0-9_.@:-]{1,200}$")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks export-user",
        description="A user's data export (zip) made by the service's own `relay export-user`.",
    )
    parser.add_argument("user", help="the user id (the `sub` of their session token)")
    parser.add_argument("--output", type=Path, required=True, help="where to write the zip")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--namespace", default=APP_NAMESPACE, help="the app's namespace (default: relay)")
    where.add_argument("--local", action="store_true", help="run against the local topology (make up)")
    parser.add_argument(
        "--topology-dir",
        type=Path,
        default=LOCAL_TOPOLOGY,
        help="with --local: the topology's state directory (default: .local, where make up keeps it)",
    )
    add_output_flags(parser)
    return parser


def export_in_cluster(user: str, output: Path, namespace: str) -> dict[str, str]:
    pod = run(
        ["kubectl", "get", "pods", "-n", namespace, "-l", APP_SELECTOR,
         "--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].metadata.name}"]
    ).strip()  # fmt: skip
    if not pod:
        raise OperatorError(
            f"no running relay pod in namespace {namespace}",
            f"check kubectl get pods -n {namespace}; the export needs one running app pod",
        )
    remote = f"/tmp/relay-export-{hashlib.sha256(user.encode()).hexdigest()[:16]}.zip"  # noqa: S108 (the pod's private emptyDir)
    exec_ = ["kubectl", "exec", pod, "-n", namespace, "-c", CONTAINER, "--"]
    run([*exec_, "relay", "export-user", user, "--output", remote])
    try:
        run(["kubectl", "cp", "-c", CONTAINER, f"{namespace}/{pod}:{remote}", str(output)])
    finally:
        run([*exec_, "rm", "-f", remote])
    return {"pod": pod, "namespace": namespace}


def export_locally(user: str, output: Path, topology_dir: Path) -> dict[str, str]:
    """`relay export-user` with the settings the topology's replicas run with (its relay.env)."""
    env_file = topology_dir / "relay.env"
    try:
        lines = env_file.read_text().splitlines()
    except FileNotFoundError:
        raise OperatorError(
            f"no local topology in {topology_dir}", "start it with `make up`, then re-run"
        ) from None
    settings = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    done = subprocess.run(  # noqa: S603  # fixed argv; the user id is checked against USER_ID
        [RELAY, "export-user", user, "--output", str(output.resolve())],
        env={**os.environ, **settings},
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        raise OperatorError(
            f"relay export-user exited {done.returncode} (its message is above)",
            "fix what it names (an unknown user is refused by name) and re-run",
        )
    return {"topology": str(topology_dir)}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)

    def body() -> int:
        if not USER_ID.match(args.user):
            raise OperatorError(f"{args.user!r} is not a user id", "give the `sub` of the user's token")
        if args.output.exists():
            raise OperatorError(
                f"{args.output} exists", "choose a new --output path; nothing was overwritten"
            )
        record = Record("export-user", who=getpass.getuser(), details={"user": args.user})
        if args.local:
            record.details.update(export_locally(args.user, args.output, args.topology_dir))
        else:
            record.details.update(export_in_cluster(args.user, args.output, args.namespace))
        data = args.output.read_bytes()
        record.after = {
            "archive": str(args.output),
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        record.next_steps.append(
            "deliver the archive through a channel the user controls, then delete your copy "
            "(runbooks/procedures/user-data-export.md)"
        )
        lines = [f"wrote {args.output} ({len(data)} bytes, sha256 {record.after['sha256']}) for {args.user}"]
        return emit(record, args.json, lines)

    return run_guarded("export-user", args.json, body)
