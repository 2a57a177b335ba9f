"""`restore db --stack … --to-time <iso>`: RDS point-in-time restore into a NEW instance.

The source keeps running untouched; the copy gets the source's network, parameter group,
encryption, Multi-AZ and deletion protection. Cut-over is a stack config change
(`relay:dbRestoredInstanceId`) that makes Pulumi adopt the restored instance, so the next
`pulumi up` keeps the cut-over instead of undoing it (runbooks/procedures/database-restore.md).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from typing import Any

from runbooks.output import OperatorError, Record, add_output_flags, emit, parse_time, run_guarded, who
from runbooks.stack import Stack, add_stack_flags, client, load_stack, pulumi_binary

IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,61}[a-z0-9]$")
# The instance's URN: the Database component (infra/database.py) under the stack root.
INSTANCE_URN = (
    "urn:pulumi:{stack}::relay::relay:database:Database$aws:rds/instance:Instance::{prefix}-db-postgres"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks restore db",
        description="Point-in-time restore of the database into a new instance (dry run unless --apply).",
    )
    add_stack_flags(parser)
    parser.add_argument("--to-time", required=True, help="ISO 8601 time with zone, e.g. 2026-12-01T03:00:00Z")
    parser.add_argument("--source-id", help="instance to restore from (default: the stack's database)")
    parser.add_argument("--target-id", help="new instance identifier (default: <source>-pitr-<yyyymmddhhmm>)")
    parser.add_argument(
        "--wait-minutes", type=int, default=90, help="how long to wait for the new instance (0: do not wait)"
    )
    add_output_flags(parser, changes_state=True)
    return parser


def restore_window(rds: Any, source: dict[str, Any]) -> tuple[datetime, datetime]:
    """[earliest restorable, LatestRestorableTime] for the source instance.

    The earliest time is the automated backup's RestoreWindow; where a region (or an emulator)
    does not report one, the oldest automated snapshot bounds it from the safe side.
    """
    source_id = source["DBInstanceIdentifier"]
    backups = rds.describe_db_instance_automated_backups(DBInstanceIdentifier=source_id)
    earliest = [
        b["RestoreWindow"]["EarliestTime"]
        for b in backups.get("DBInstanceAutomatedBackups", [])
        if b.get("RestoreWindow", {}).get("EarliestTime")
    ]
    if not earliest:
        snapshots = rds.describe_db_snapshots(DBInstanceIdentifier=source_id, SnapshotType="automated")
        earliest = [s["SnapshotCreateTime"] for s in snapshots["DBSnapshots"] if s.get("SnapshotCreateTime")]
    latest = source.get("LatestRestorableTime")
    if latest is None or not earliest:
        raise OperatorError(
            f"{source_id} reports no restore window (automated backups off or not yet taken)",
            "check BackupRetentionPeriod (aws rds describe-db-instances); restore from a snapshot instead "
            "(aws rds describe-db-snapshots)",
        )
    return min(earliest).astimezone(UTC), latest.astimezone(UTC)


def restore_request(source: dict[str, Any], target: str, moment: datetime) -> dict[str, Any]:
    """The copy gets everything that makes it a drop-in replacement for the source."""
    request: dict[str, Any] = {
        "SourceDBInstanceIdentifier": source["DBInstanceIdentifier"],
        "TargetDBInstanceIdentifier": target,
        "RestoreTime": moment,
        "DBInstanceClass": source["DBInstanceClass"],
        "DBSubnetGroupName": source["DBSubnetGroup"]["DBSubnetGroupName"],
        "VpcSecurityGroupIds": [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])],
        "DBParameterGroupName": source["DBParameterGroups"][0]["DBParameterGroupName"],
        "MultiAZ": source.get("MultiAZ", False),
        "DeletionProtection": source.get("DeletionProtection", True),
        "PubliclyAccessible": False,
        "CopyTagsToSnapshot": source.get("CopyTagsToSnapshot", True),
        "EnableIAMDatabaseAuthentication": source.get("IAMDatabaseAuthenticationEnabled", False),
        "StorageType": source.get("StorageType", "gp3"),
        "Tags": [
            *source.get("TagList", []),
            {"Key": "restored-from", "Value": source["DBInstanceIdentifier"]},
        ],
    }
    optional = {
        "MaxAllocatedStorage": source.get("MaxAllocatedStorage"),
        "EnableCloudwatchLogsExports": source.get("EnabledCloudwatchLogsExports"),
        "CACertificateIdentifier": source.get("CACertificateIdentifier"),
        "BackupRetentionPeriod": source.get("BackupRetentionPeriod"),
        "PreferredBackupWindow": source.get("PreferredBackupWindow"),
        # The copy's storage stays under the source's KMS key (a restore cannot change it); the
        # master password stays managed by RDS in Secrets Manager under the same key as before.
        "ManageMasterUserPassword": True if source.get("MasterUserSecret") else None,
        "MasterUserSecretKmsKeyId": (source.get("MasterUserSecret") or {}).get("KmsKeyId"),
    }
    request.update({k: v for k, v in optional.items() if v not in (None, [], "")})
    return request


def monitoring_request(source: dict[str, Any], target: str) -> dict[str, Any]:
    """What a restore cannot set: enhanced monitoring and Performance Insights, applied once available."""
    request: dict[str, Any] = {"DBInstanceIdentifier": target, "ApplyImmediately": True}
    if source.get("MonitoringInterval"):
        request.update(
            MonitoringInterval=source["MonitoringInterval"], MonitoringRoleArn=source["MonitoringRoleArn"]
        )
    if source.get("PerformanceInsightsEnabled"):
        request.update(
            EnablePerformanceInsights=True,
            PerformanceInsightsKMSKeyId=source["PerformanceInsightsKMSKeyId"],
            PerformanceInsightsRetentionPeriod=source.get("PerformanceInsightsRetentionPeriod", 7),
        )
    return request


def cut_over_steps(stack: Stack, source_id: str, target: str) -> list[str]:
    pulumi, urn = pulumi_binary(), INSTANCE_URN.format(stack=stack.name, prefix=stack.prefix)
    return [
        f"verify the copy: python -m runbooks status --stack {stack.name} --db-id {target} "
        "(then the checks in runbooks/procedures/database-restore.md, 'Verification')",
        f"release the old instance from Pulumi state (it keeps running): {pulumi} state unprotect "
        f"'{urn}' --stack {stack.name} --yes && {pulumi} state delete '{urn}' --stack {stack.name} --yes",
        f"point the stack at the copy: {pulumi} config set relay:dbRestoredInstanceId {target} "
        f"--stack {stack.name}",
        f"make preview STACK={stack.name}: expect an import of {target} and the app's database address "
        "changing",
        f"make deploy STACK={stack.name}: the app rolls onto {target}; the next up keeps it",
        f"keep {source_id} (deletion-protected) until the copy is verified in production; "
        "then snapshot and retire it",
    ]


def restore(args: argparse.Namespace) -> int:
    stack = load_stack(args.stack, args.stack_file)
    moment = parse_time(args.to_time)
    rds = client("rds", stack.region)
    source_id = args.source_id or stack.db_identifier
    source = rds.describe_db_instances(DBInstanceIdentifier=source_id)["DBInstances"][0]
    earliest, latest = restore_window(rds, source)
    if not earliest <= moment <= latest:
        raise OperatorError(
            f"--to-time {moment.isoformat()} is outside the restore window of {source_id}: "
            f"[{earliest.isoformat()}, {latest.isoformat()}]",
            "pick a time inside the window (LatestRestorableTime trails now by about 5 minutes)",
        )
    target = args.target_id or f"{source_id}-pitr-{moment:%Y%m%d%H%M}"
    if not IDENTIFIER.match(target):
        raise OperatorError(
            f"--target-id {target!r} is not a valid RDS identifier",
            "use 1-63 lowercase letters, digits and single hyphens, starting with a letter",
        )
    request = restore_request(source, target, moment)
    record = Record(
        "restore db",
        dry_run=not args.apply,
        before={"database": source_id, "restore_window": [earliest.isoformat(), latest.isoformat()]},
        details={"request": {**request, "RestoreTime": moment.isoformat()}},
        next_steps=cut_over_steps(stack, source_id, target),
    )
    if not args.apply:
        record.after = {"would_create": target, "restore_time": moment.isoformat()}
        return emit(record, args.json, _lines(record))
    record.who = who(client("sts", stack.region))
    created = rds.restore_db_instance_to_point_in_time(**request)["DBInstance"]
    status = created["DBInstanceStatus"]
    if args.wait_minutes > 0:
        rds.get_waiter("db_instance_available").wait(
            DBInstanceIdentifier=target, WaiterConfig={"Delay": 30, "MaxAttempts": args.wait_minutes * 2}
        )
        rds.modify_db_instance(**monitoring_request(source, target))
        status = rds.describe_db_instances(DBInstanceIdentifier=target)["DBInstances"][0]["DBInstanceStatus"]
    else:
        record.next_steps.insert(
            0,
            f"aws rds wait db-instance-available --db-instance-identifier {target}; then apply monitoring "
            "(runbooks/procedures/database-restore.md, step 3)",
        )
    record.after = {"database": target, "status": status, "restore_time": moment.isoformat()}
    return emit(record, args.json, _lines(record))


def _lines(record: Record) -> list[str]:
    request = record.details["request"]
    return [
        f"source {request['SourceDBInstanceIdentifier']}, window {record.before['restore_window']}",
        f"restore to {request['RestoreTime']} into {request['TargetDBInstanceIdentifier']}",
        f"after: {record.after}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("restore db", args.json, lambda: restore(args))
