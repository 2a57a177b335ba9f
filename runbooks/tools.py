"""Running the operator's `pulumi` and `kubectl`: logged, bounded, and failing with the next step."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

from runbooks.output import OperatorError


def run(argv: list[str], timeout: float = 1800) -> str:
    """Run one command, echoing it to stderr (the scribe sees what ran); return its stdout."""
    if shutil.which(argv[0]) is None:
        raise OperatorError(
            f"{argv[0]} is not installed or not on PATH",
            f"install {argv[0]} (docs/platform-engineers.md, 'Prerequisites') and re-run",
        )
    print(f"+ {shlex.join(argv)}", file=sys.stderr)
    try:
        done = subprocess.run(  # noqa: S603  # argv built by this package, never through a shell
            argv, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise OperatorError(
            f"{shlex.join(argv)} did not finish within {timeout:.0f} s",
            "check what it was waiting for (kubectl get pods -n relay; pulumi stack history), then re-run",
        ) from None
    if done.returncode != 0:
        raise OperatorError(
            f"{shlex.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}",
            "read the error above, fix its cause, and re-run the same command (each step is idempotent)",
        )
    return done.stdout
