"""Time per suite at the end of a run: the issues give budgets per suite (tests/security, tests/reliability,
tests/loadtests, ...), and a CI log should show whether each holds without a separate run.

A suite is the first folder under tests/; its time is the sum of its tests' setup, call and teardown,
so a session fixture's start-up counts towards the suite that first asked for it.
"""

from collections import defaultdict

import pytest

_seconds: dict[str, float] = defaultdict(float)


def _suite(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _seconds[_suite(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _seconds:
        return
    terminalreporter.section("time per suite")
    for suite, seconds in sorted(_seconds.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {suite}")
