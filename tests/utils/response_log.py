"""Every response a topology answered, read back from the logs of the processes that answered it.

The replicas write one JSON access line per request (relay.middleware.request_context) and haproxy
one `option httplog` line per request, so reading both sees every request whichever client sent
it, through the load balancer or straight at a replica, and whatever haproxy answered by itself.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

# `<client> [<date>] <frontend> <backend>/<server> TR/Tw/Tc/Tr/Ta <status> ...` (haproxy httplog).
_HAPROXY_LINE = re.compile(
    r"\] (?P<frontend>\S+) (?P<backend>\S+) (?:-?\d+/){4}\+?(?P<total_ms>-?\d+) (?P<status>-?\d+) "
    r".*\"(?P<request>[^\"]*)\"$"
)


@dataclass(frozen=True)
class Answer:
    source: str
    status: int
    duration_ms: float
    request: str
    tunnel: bool  # a websocket: its duration is the connection's life, not an answer's delay

    def describe(self) -> str:
        return f"{self.source}: {self.status} after {self.duration_ms:.0f} ms for {self.request}"


def _replica_answer(source: str, line: str) -> Answer | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("logger") != "relay.access":
        return None
    return Answer(
        source,
        int(record["status"]),
        float(record["duration_ms"]),
        f"{record['method']} {record['path']}",
        tunnel=record["method"] == "WEBSOCKET",
    )


def _haproxy_answer(source: str, line: str) -> Answer | None:
    match = _HAPROXY_LINE.search(line)
    if match is None:
        return None
    status = int(match["status"])
    return Answer(source, status, float(match["total_ms"]), match["request"], tunnel=status == 101)


class ResponseLog:
    """`mark()` notes where each log ends now; `answers(mark)` parses what was appended since."""

    def __init__(self, replica_logs: dict[str, Path], haproxy_log: Path | None = None) -> None:
        self.sources = {name: (path, _replica_answer) for name, path in replica_logs.items()}
        if haproxy_log is not None:
            self.sources["haproxy"] = (haproxy_log, _haproxy_answer)

    def watch(self, name: str, relay_log: Path) -> None:
        """Read one more relay process's log from now on: a server that a module starts for itself.
        A mark taken before it was watched reads its log from the start."""
        self.sources[name] = (relay_log, _replica_answer)

    def mark(self) -> dict[str, int]:
        return {name: _size(path) for name, (path, _) in self.sources.items()}

    def answers(self, since: dict[str, int]) -> list[Answer]:
        found = []
        for name, (path, parse) in self.sources.items():
            found += [answer for line in _appended(path, since.get(name, 0)) if (answer := parse(name, line))]
        return found

    def tracebacks(self, since: dict[str, int]) -> list[str]:
        """Replica log lines since `since` that carry a traceback: an error no status shows, such as
        a socket event handler that raised (its ack never comes)."""
        return [
            f"{name}: {line[:2000]}"
            for name, (path, parse) in self.sources.items()
            if parse is _replica_answer
            for line in _appended(path, since.get(name, 0))
            if "Traceback" in line
        ]


def _appended(path: Path, offset: int) -> list[str]:
    if not path.exists():
        return []
    with path.open("rb") as log:
        log.seek(offset)
        text = log.read().decode("utf-8", errors="replace")
    return [line.strip() for line in text.splitlines()]


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0
