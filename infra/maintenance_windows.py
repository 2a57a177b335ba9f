"""The database's time windows, which must not collide.

- RDS refuses a backup window that overlaps its maintenance window.
- AWS Backup cannot start an RDS snapshot during the maintenance window or in the hour before it,
  nor while RDS takes its automated backup; a job whose start window falls there is skipped or
  fails, and the daily recovery point is missing.

All times are UTC minutes in a week (Monday 00:00 = 0); daily windows repeat on each day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from infra.config_reader import ConfigReader

if TYPE_CHECKING:
    from infra.config import Settings

WEEK = 7 * 24 * 60
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# AWS Backup does not start an RDS backup within this long before the maintenance window.
BEFORE_MAINTENANCE_MINUTES = 60
MINIMUM_WINDOW_MINUTES = 30

Interval = tuple[int, int]  # [start, end) in week minutes; end may pass WEEK (wraps)


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def daily(start: int, length: int) -> list[Interval]:
    return [(day * 24 * 60 + start, day * 24 * 60 + start + length) for day in range(7)]


def rds_backup_window(text: str) -> list[Interval]:
    start, end = (_minutes(part) for part in text.split("-"))
    return daily(start, (end - start) % (24 * 60))


def rds_maintenance_window(text: str) -> Interval:
    first, second = text.split("-")
    start, end = (DAYS.index(p[:3]) * 24 * 60 + _minutes(p[4:]) for p in (first, second))
    return start, start + (end - start) % WEEK


def backup_job_starts(schedule: str, start_window_minutes: int) -> list[Interval]:
    minute, hour = (int(v) for v in re.findall(r"\d+", schedule)[:2])
    return daily(hour * 60 + minute, start_window_minutes)


def overlaps(a: Interval, b: Interval) -> bool:
    return any(a[0] < b[1] + shift and b[0] + shift < a[1] for shift in (-WEEK, 0, WEEK))


def _any_overlap(first: list[Interval], second: list[Interval]) -> bool:
    return any(overlaps(a, b) for a in first for b in second)


def collisions(s: Settings) -> Iterator[tuple[str, str, str]]:
    """(key, other key, why) for each pair of windows that collide."""
    backup = rds_backup_window(s.db_backup_window)
    maintenance = rds_maintenance_window(s.db_maintenance_window)
    guarded = (maintenance[0] - BEFORE_MAINTENANCE_MINUTES, maintenance[1])
    jobs = backup_job_starts(s.backup_schedule, s.backup_start_window_minutes)
    if _any_overlap(backup, [maintenance]):
        yield (
            "dbBackupWindow",
            "dbMaintenanceWindow",
            "RDS refuses a backup window inside the maintenance window",
        )
    if _any_overlap(jobs, [guarded]):
        yield (
            "backupSchedule",
            "dbMaintenanceWindow",
            f"with relay:backupStartWindowMinutes={s.backup_start_window_minutes}, AWS Backup jobs may start "
            "during the RDS maintenance window or the hour before it, where AWS Backup cannot start them",
        )
    if _any_overlap(jobs, backup):
        yield (
            "backupSchedule",
            "dbBackupWindow",
            f"with relay:backupStartWindowMinutes={s.backup_start_window_minutes}, AWS Backup jobs may start "
            "while RDS takes its automated backup",
        )


def check_windows(read: ConfigReader, s: Settings) -> None:
    values = {
        "dbBackupWindow": s.db_backup_window,
        "dbMaintenanceWindow": s.db_maintenance_window,
        "backupSchedule": s.backup_schedule,
    }
    first_backup = rds_backup_window(s.db_backup_window)[0]
    for key, (start, end) in (
        ("dbBackupWindow", first_backup),
        ("dbMaintenanceWindow", rds_maintenance_window(s.db_maintenance_window)),
    ):
        if end - start < MINIMUM_WINDOW_MINUTES:
            raise read.fail(
                key, values[key], f"RDS needs a window of at least {MINIMUM_WINDOW_MINUTES} minutes"
            )
    for key, other, why in collisions(s):
        raise read.fail(key, values[key], f"overlaps relay:{other} ({values[other]}): {why}")
