"""The SLO gate: limits from slo.yaml (and nowhere else), checked against locust's stats at quit.

Each stats row (method, name) takes the limits of its "METHOD name" entry, else its "name" entry,
each completed by `default`; locust's total row is named "Aggregated". The result is a pass/fail
table and the exit code: 0 when every limit holds, 1 otherwise (instead of locust's "1 on any
failed request", since the SLO has its own failure tolerance).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # importing locust monkey-patches the process (gevent): make loadtest must not
    from locust.stats import StatsEntry

DEFAULT_PATH = Path(__file__).with_name("slo.yaml")
LIMITS = ("p95_ms", "p99_ms", "fail_ratio", "min_samples")


class SloFileError(ValueError):
    pass


@dataclass(frozen=True)
class Check:
    request: str
    limit_name: str
    measured: float
    limit: float

    @property
    def passed(self) -> bool:
        if self.limit_name == "min_samples":
            return self.measured >= self.limit
        return self.measured <= self.limit


def load(path: Path) -> dict[str, dict[str, float | None]]:
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise SloFileError(f"SLO file {path} does not exist (SLO=path / --slo)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("default"), dict):
        raise SloFileError(f"{path}: needs a `default` mapping of limits; see loadtests/README.md")
    for name, limits in raw.items():
        unknown = set(limits or {}) - set(LIMITS) if isinstance(limits, dict) else {"<not a mapping>"}
        if unknown:
            raise SloFileError(f"{path}: entry {name!r} has {sorted(unknown)}; limits are {LIMITS}")
    return raw


def limits_for(slo: dict[str, dict[str, Any]], method: str | None, name: str) -> dict[str, float]:
    specific = slo.get(f"{method} {name}") or slo.get(name) or {}
    merged = {**slo["default"], **specific}
    return {key: value for key, value in merged.items() if value is not None}


def measure(entry: "StatsEntry", limit_name: str) -> float:
    if limit_name == "min_samples":
        return entry.num_requests
    if limit_name == "fail_ratio":
        return entry.fail_ratio
    return entry.get_response_time_percentile(0.95 if limit_name == "p95_ms" else 0.99)


def evaluate(slo: dict[str, dict[str, Any]], entries: list["StatsEntry"], total: "StatsEntry") -> list[Check]:
    checks = []
    for entry in [*sorted(entries, key=lambda e: (e.name, e.method or "")), total]:
        label = entry.name if entry is total else f"{entry.method} {entry.name}"
        for limit_name, limit in limits_for(slo, entry.method, entry.name).items():
            if entry.num_requests == 0 and limit_name != "min_samples":
                continue  # no request in the judged window (e.g. set-up calls before a stats reset)
            checks.append(Check(label, limit_name, measure(entry, limit_name), float(limit)))
    # Named rows that never ran: only a min_samples limit can fail them.
    seen = {e.name for e in entries} | {f"{e.method} {e.name}" for e in entries}
    for name, limits in slo.items():
        if name not in seen and name not in ("default", total.name) and (limits or {}).get("min_samples"):
            checks.append(Check(name, "min_samples", 0, float(limits["min_samples"])))
    return checks


def table(checks: list[Check]) -> str:
    width = max([len(c.request) for c in checks] + [7])
    lines = [f"{'request':<{width}}  {'limit':<11}  {'measured':>10}  {'max/min':>10}  result"]
    for check in checks:
        result = "pass" if check.passed else "FAIL"
        numbers = f"{check.measured:>10.4g}  {check.limit:>10.4g}"
        lines.append(f"{check.request:<{width}}  {check.limit_name:<11}  {numbers}  {result}")
    return "\n".join(lines)
