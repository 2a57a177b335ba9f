"""What every command shares: `--json`, the scribe's audit record, and failures that say what next."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class OperatorError(Exception):
    """A failure the operator can act on: `str()` says what went wrong, `next_step` what to do."""

    def __init__(self, message: str, next_step: str):
        super().__init__(message)
        self.next_step = next_step


def add_output_flags(parser: argparse.ArgumentParser, *, changes_state: bool = False) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON document (for the scribe)")
    if changes_state:
        parser.add_argument(
            "--apply", action="store_true", help="execute the plan (default: dry run, nothing changes)"
        )


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time with a zone, in UTC; a time without a zone is refused (3 a.m. where?)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise OperatorError(
            f"--to-time {text!r} is not an ISO 8601 time with a zone",
            "write it in UTC, e.g. --to-time 2026-12-01T03:00:00Z",
        )
    return moment.astimezone(UTC)


def who(sts_client: Any | None = None) -> str:
    """The local user and, when AWS answers, the caller's ARN: the audit trail names both."""
    user = getpass.getuser()
    if sts_client is None:
        return user
    try:
        return f"{user} as {sts_client.get_caller_identity()['Arn']}"
    except (BotoCoreError, ClientError):
        return user


@dataclass
class Record:
    """One command's outcome; for state changes, who did it, when, and the state before and after."""

    action: str
    dry_run: bool | None = None
    who: str | None = None
    started: str = field(default_factory=now)
    finished: str | None = None
    before: Any = None
    after: Any = None
    details: dict[str, Any] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)
    ok: bool = True
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def emit(record: Record, as_json: bool, lines: list[str]) -> int:
    """Print the record (JSON or the human lines) and return the exit code it implies."""
    record.finished = record.finished or now()
    if as_json:
        print(json.dumps(record.as_dict(), indent=2, default=str))
    else:
        for line in lines:
            print(line)
        if record.dry_run:
            print("Dry run: nothing was changed. Re-run with --apply to execute.")
        if record.ok:
            for step in record.next_steps:
                print(f"next: {step}")
    if not record.ok:
        print(f"{record.action} failed: {record.error}", file=sys.stderr)
        for step in record.next_steps:
            print(f"next: {step}", file=sys.stderr)
    return 0 if record.ok else 1


def run_guarded(action: str, as_json: bool, body: Callable[[], int]) -> int:
    """Run `body()`; an OperatorError or an AWS error becomes exit 1 with the next step to take."""
    try:
        return body()
    except OperatorError as error:
        record = Record(action, ok=False, error=str(error), next_steps=[error.next_step])
    except (BotoCoreError, ClientError) as error:
        record = Record(
            action,
            ok=False,
            error=f"AWS refused: {error}",
            next_steps=[
                "check credentials and region (aws sts get-caller-identity), then re-run; "
                "the error above names the call that failed"
            ],
        )
    return emit(record, as_json, [])
