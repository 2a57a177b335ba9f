"""`python -m topology up|down|status|token`: what `make up`, `make down`, `make status` and
`make token` run. Ports come from the environment (layout.Ports.from_env), state lives in `.local/`.
`up` ends with the post-deployment verification (`python -m runbooks verify`), the one check of a
deployment whether local or in AWS.
"""

import argparse
import sys

from relay.auth.token_source import TOPOLOGY_ENV_VARIABLE, token_source_from_env
from runbooks.output import OperatorError
from runbooks.verify import verify
from topology.errors import TopologyError
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
    print(f"Verification through haproxy (python -m runbooks verify {topology.url}):")
    verify_topology(topology)
    _print_status(topology)
    print(f"\nRelay is up at {topology.url}  (CA certificate: {topology.layout.ca_cert})")
    return 0


def verify_topology(topology: Topology) -> None:
    """The same checks `make verify` runs, as two test users minted with this topology's key."""
    tokens = token_source_from_env({TOPOLOGY_ENV_VARIABLE: str(topology.layout.env_file)})
    try:
        record, lines = verify(topology.url, tokens, context=topology.ssl_context())
    except OperatorError as error:
        raise TopologyError(f"verification could not run: {error}") from error
    for line in lines:
        print(f"  {line}")
    if not record.ok:
        raise TopologyError(f"verification failed at {record.error}")


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
    _print_status(topology)
    return 0 if topology.running() else 3


if __name__ == "__main__":
    sys.exit(main())
