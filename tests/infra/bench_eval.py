"""Benchmark (not a test): how long the Pulumi program takes to evaluate under mocks.

    .venv/bin/python -m tests.infra.bench_eval prod [--runs 3]

Prints, per run, the program's own evaluation time (from the first line of infra/__main__.py
to the last resource registered) and the wall time including a fresh interpreter. The target
is under 10 s for prod, which keeps the infra test suite fast on a 2-core machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from infra.evaluation.stack_capture import capture_run

TARGET_SECONDS = 10.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack", choices=["prod", "staging"])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    evaluations, walls = [], []
    for run_number in range(1, args.runs + 1):
        started = time.perf_counter()
        run = capture_run(args.stack)
        wall = time.perf_counter() - started
        if run.error:
            print(f"run {run_number}: the program failed:\n{run.error}", file=sys.stderr)
            return 1
        evaluations.append(run.seconds)
        walls.append(wall)
        print(
            f"run {run_number}: {len(run.resources)} resources, "
            f"evaluation {run.seconds:.2f} s, wall {wall:.2f} s"
        )
    median = statistics.median(evaluations)
    verdict = "within" if median < TARGET_SECONDS else "OVER"
    print(
        f"{args.stack}: median evaluation {median:.2f} s, median wall {statistics.median(walls):.2f} s "
        f"({verdict} the {TARGET_SECONDS:.0f} s target)"
    )
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
