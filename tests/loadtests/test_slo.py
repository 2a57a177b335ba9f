"""The SLO gate's rules: which limits a row gets, what counts as a breach, and bad files refused.

Rows are plain records with the fields of locust's StatsEntry that the gate reads: importing
locust here would monkey-patch the whole pytest process (gevent)."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from loadtests import slo


@dataclass
class Row:
    name: str
    method: str | None
    num_requests: int
    fail_ratio: float
    p95: float
    p99: float

    def get_response_time_percentile(self, percent: float) -> float:
        return self.p95 if percent == 0.95 else self.p99


def test_committed_slo_file_holds_issue_10s_limits() -> None:
    limits = slo.load(slo.DEFAULT_PATH)
    assert slo.limits_for(limits, "GET", "/api/search") == {
        "p95_ms": 300,
        "p99_ms": 1000,
        "fail_ratio": 0.005,
    }
    assert slo.limits_for(limits, "socket", "message:send ack") == {"p99_ms": 500, "fail_ratio": 0.005}
    assert slo.limits_for(limits, "socket", "message:new delivery") == {"p99_ms": 1000, "fail_ratio": 0.005}


def test_method_entry_beats_name_entry_beats_default() -> None:
    limits = {
        "default": {"p95_ms": 300, "fail_ratio": 0.01},
        "/x": {"p95_ms": 500},
        "GET /x": {"p95_ms": 900},
    }
    assert slo.limits_for(limits, "GET", "/x") == {"p95_ms": 900, "fail_ratio": 0.01}
    assert slo.limits_for(limits, "POST", "/x") == {"p95_ms": 500, "fail_ratio": 0.01}
    assert slo.limits_for(limits, "POST", "/y") == {"p95_ms": 300, "fail_ratio": 0.01}


def test_breaches_are_the_rows_over_their_limits() -> None:
    limits = {"default": {"p99_ms": 1000, "fail_ratio": 0.005}, "message:send ack": {"p99_ms": 500}}
    rows = [
        Row("message:send ack", "socket", 100, 0.0, 300, 600),
        Row("/api/search", "GET", 100, 0.01, 90, 200),
    ]
    total = Row("Aggregated", None, 200, 0.005, 100, 600)
    failed = [(c.request, c.limit_name) for c in slo.evaluate(limits, rows, total) if not c.passed]
    assert failed == [("GET /api/search", "fail_ratio"), ("socket message:send ack", "p99_ms")]


def test_a_required_row_that_never_ran_fails() -> None:
    limits = {"default": {"fail_ratio": 0.0}, "message:new delivery": {"min_samples": 1}}
    total = Row("Aggregated", None, 0, 0.0, 0, 0)
    checks = slo.evaluate(limits, [], total)
    assert [(c.request, c.passed) for c in checks if c.limit_name == "min_samples"] == [
        ("message:new delivery", False)
    ]


def test_rows_without_requests_are_judged_only_on_min_samples() -> None:
    limits = {"default": {"p95_ms": 300, "fail_ratio": 0.0}, "socket connect": {"min_samples": 1}}
    rows = [Row("/api/channels", "POST", 0, 0.0, 0, 0), Row("socket connect", "socket", 0, 0.0, 0, 0)]
    total = Row("Aggregated", None, 0, 0.0, 0, 0)
    judged = [(c.request, c.limit_name, c.passed) for c in slo.evaluate(limits, rows, total)]
    assert judged == [("socket socket connect", "min_samples", False)]


def test_files_without_a_default_or_with_unknown_limits_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "slo.yaml"
    bad.write_text("checkout: {p95_ms: 100}\n")
    with pytest.raises(slo.SloFileError, match="needs a `default`"):
        slo.load(bad)
    bad.write_text("default: {p95: 100}\n")
    with pytest.raises(slo.SloFileError, match=r"entry 'default' has \['p95'\]"):
        slo.load(bad)
