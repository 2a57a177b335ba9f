"""Every failure captures itself (issue 12): the failing test id, its output and logs, and the logs
of the servers it used (a topology's replicas, supervisor, haproxy, Redis, Postgres; a lone `relay
serve`) are copied to reports/failures/<time>-<test>/, and the path is printed. A flake seen once
in twenty runs is then still there to read after the run.
"""

import re
import shutil
import time
from pathlib import Path

import pytest

from topology.layout import REPO_ROOT

FAILURES = REPO_ROOT / "reports" / "failures"
# Fixtures whose servers write logs: a topology (its logs/ directory) or a RelayProcess (one file).
SERVER_FIXTURES = ("topology", "relay_server", "relay_server_b")

_captured = pytest.StashKey[list[Path]]()


def _server_logs(item: pytest.Item) -> list[Path]:
    funcargs = getattr(item, "funcargs", {})
    logs: list[Path] = []
    for name in SERVER_FIXTURES:
        server = funcargs.get(name)
        if server is None:
            continue
        if hasattr(server, "layout"):
            logs += sorted(server.layout.logs.glob("*.log"))
        elif hasattr(server, "log_file"):
            logs.append(server.log_file)
    return logs


def capture(item: pytest.Item, report: pytest.TestReport) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)[-120:]
    target = FAILURES / f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{report.when}-{slug}"
    target.mkdir(parents=True, exist_ok=True)
    sections = "".join(f"\n===== {title} =====\n{content}" for title, content in report.sections)
    (target / "failure.txt").write_text(f"{item.nodeid} ({report.when})\n\n{report.longreprtext}\n{sections}")
    for log in _server_logs(item):
        if log.exists():
            shutil.copyfile(log, target / log.name)
    return target


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    if report.failed:
        path = capture(item, report)
        item.config.stash.setdefault(_captured, []).append(path)
        report.sections.append(("failure capture", f"test output and server logs: {path}"))
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    paths = config.stash.get(_captured, [])
    if paths:
        terminalreporter.section("failures captured")
        for path in paths:
            terminalreporter.write_line(str(path))
