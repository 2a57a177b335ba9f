"""`python -m topology up|down|status|token|smoke`: what `make up`, `make down`, `make status` and
`make token` run. Ports come from the environment (layout.Ports.from_env), state lives in `.local/`.
"""

import argparse
import sys

from topology.errors import TopologyError
from topology.smoke import run_smoke
from topology.stack import Topology


def _print_status(topology: Topology) -> None:
    print(f"Relay local topology ({topology.layout.workdir}):")
    for component in topology.components():
        print(component.describe())


def up(topology: Topology) -> int:
    if topology.running():
        topology.wait_healthy()
        print("make up: already running, nothing to do.")
        _print_status(topology)
        print(f"\nRelay is up at {topology.url}")
        return 0
    for line in topology.start():
        print(f"  {line}")
    print("Smoke verification through haproxy:")
    for line in run_smoke(topology):
        print(f"  ok: {line}")
    _print_status(topology)
    print(f"\nRelay is up at {topology.url}  (CA certificate: {topology.layout.ca_cert})")
    return 0


def down(topology: Topology) -> int:
    stopped = topology.stop()
    for line in stopped:
        print(f"  {line}")
    print("make down: " + ("stopped; data kept." if stopped else "nothing was running."))
    return 0


def token(topology: Topology, user: str) -> int:
    if not topology.layout.signing_key.exists():
        print("make token: no local signing key yet; run `make up` first", file=sys.stderr)
        return 1
    # The service's own minter (contract: `relay token`); its refusal and exit code pass through.
    return topology.run_relay("token", "--user", user).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m topology", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start (or report) the local topology, then verify it")
    commands.add_parser("down", help="stop what `up` started; data is kept")
    commands.add_parser("status", help="what runs, pids and ports")
    commands.add_parser("smoke", help="run the smoke verification against the running topology")
    token_parser = commands.add_parser("token", help="print a session token for USER")
    token_parser.add_argument("--user", required=True)
    args = parser.parse_args(argv)

    if args.command == "up":
        recorded = Topology.recorded()
        try:
            return up(recorded if recorded.running() else Topology())
        except TopologyError as error:
            print(
                f"make up failed: {error}\n"
                "Fix that, then run `make up` again; `make down` stops what started.",
                file=sys.stderr,
            )
            return 1
    topology = Topology.recorded()
    if args.command == "down":
        return down(topology)
    if args.command == "token":
        return token(topology, args.user)
    if args.command == "smoke":
        for line in run_smoke(topology):
            print(f"ok: {line}")
        return 0
    _print_status(topology)
    return 0 if topology.running() else 3


if __name__ == "__main__":
    sys.exit(main())
