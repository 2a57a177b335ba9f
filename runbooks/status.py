"""`status --stack …`: alarm states, load balancer target health, RDS and Redis status.

Read-only. Exits 1 when something needs a human: an alarm in ALARM, no healthy target, or the
database or cache not `available`; the output names the runbook to open.
"""

from __future__ import annotations

import argparse
from typing import Any

from runbooks.output import Record, add_output_flags, emit, run_guarded
from runbooks.stack import GLOBAL_REGION, Stack, add_stack_flags, client, load_stack


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks status", description="Health of a Relay stack at a glance (read-only)."
    )
    add_stack_flags(parser)
    parser.add_argument("--region", help="override the stack's region")
    parser.add_argument("--db-id", help="RDS instance identifier (default: from the stack config)")
    parser.add_argument("--cache-id", help="ElastiCache replication group id (default: relay-<environment>)")
    parser.add_argument(
        "--target-group-arn",
        action="append",
        help="target group to check (default: every target group tagged stack=<stack>)",
    )
    add_output_flags(parser)
    return parser


def alarms(stack: Stack, region: str) -> list[dict[str, Any]]:
    found = []
    for where in dict.fromkeys((region, GLOBAL_REGION)):
        pages = client("cloudwatch", where).get_paginator("describe_alarms")
        for page in pages.paginate(AlarmNamePrefix=f"{stack.prefix}-", AlarmTypes=["MetricAlarm"]):
            for alarm in page["MetricAlarms"]:
                name = alarm["AlarmName"].removeprefix(f"{stack.prefix}-")
                found.append(
                    {
                        "alarm": alarm["AlarmName"],
                        "region": where,
                        "state": alarm["StateValue"],
                        "since": str(alarm.get("StateUpdatedTimestamp", "")),
                        "runbook": f"runbooks/alerts/{name}.md",
                    }
                )
    return found


def target_groups(stack: Stack, region: str, arns: list[str] | None) -> list[dict[str, Any]]:
    elb = client("elbv2", region)
    if not arns:
        every = [
            g["TargetGroupArn"]
            for p in elb.get_paginator("describe_target_groups").paginate()
            for g in p["TargetGroups"]
        ]
        arns = [
            d["ResourceArn"]
            for chunk in (every[i : i + 20] for i in range(0, len(every), 20))
            for d in elb.describe_tags(ResourceArns=chunk)["TagDescriptions"]
            if {"Key": "stack", "Value": stack.name} in d["Tags"]
        ]
    groups = []
    for arn in arns:
        states = [
            t["TargetHealth"]["State"]
            for t in elb.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        ]
        groups.append(
            {
                "target_group": arn,
                "healthy": states.count("healthy"),
                "unhealthy": len(states) - states.count("healthy"),
                "states": sorted(set(states)),
            }
        )
    return groups


def database(region: str, db_id: str) -> dict[str, Any]:
    db = client("rds", region).describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
    return {
        "db_instance": db_id,
        "status": db["DBInstanceStatus"],
        "class": db["DBInstanceClass"],
        "multi_az": db.get("MultiAZ"),
        "allocated_storage_gb": db.get("AllocatedStorage"),
        "pending": db.get("PendingModifiedValues") or {},
    }


def cache(region: str, cache_id: str) -> dict[str, Any]:
    group = client("elasticache", region).describe_replication_groups(ReplicationGroupId=cache_id)[
        "ReplicationGroups"
    ][0]
    return {
        "replication_group": cache_id,
        "status": group["Status"],
        "members": group.get("MemberClusters", []),
        "automatic_failover": group.get("AutomaticFailover"),
    }


def collect(args: argparse.Namespace) -> int:
    stack = load_stack(args.stack, args.stack_file)
    region = args.region or stack.region
    report = {
        "alarms": alarms(stack, region),
        "target_groups": target_groups(stack, region, args.target_group_arn),
        "database": database(region, args.db_id or stack.db_identifier),
        "cache": cache(region, args.cache_id or stack.cache_id),
    }
    problems = [
        f"alarm {a['alarm']} is ALARM ({a['region']}): open {a['runbook']}"
        for a in report["alarms"]
        if a["state"] == "ALARM"
    ]
    problems += [
        f"target group {g['target_group']} has no healthy target: open runbooks/alerts/AlbNoHealthyTargets.md"
        for g in report["target_groups"]
        if g["healthy"] == 0
    ]
    if not report["target_groups"]:
        problems.append("no target group found for this stack: pass --target-group-arn")
    if report["database"]["status"] != "available":
        problems.append(
            f"database is {report['database']['status']}: open runbooks/procedures/database-restore.md"
        )
    if report["cache"]["status"] != "available":
        problems.append(
            f"Redis is {report['cache']['status']}: open runbooks/alerts/RedisHighCpu.md (Diagnosis)"
        )
    record = Record("status", details=report, ok=not problems, next_steps=problems)
    record.error = f"{len(problems)} problem(s); see next steps" if problems else None
    return emit(record, args.json, _table(report))


def _table(report: dict[str, Any]) -> list[str]:
    lines = [f"{'ALARM':<44} {'REGION':<12} STATE"]
    lines += [f"{a['alarm']:<44} {a['region']:<12} {a['state']}" for a in report["alarms"]]
    lines += [
        f"target group {g['target_group']}: {g['healthy']} healthy, {g['unhealthy']} not"
        for g in report["target_groups"]
    ]
    db, redis = report["database"], report["cache"]
    lines.append(f"database {db['db_instance']}: {db['status']} ({db['class']}, multi-AZ {db['multi_az']})")
    lines.append(f"redis {redis['replication_group']}: {redis['status']} ({len(redis['members'])} nodes)")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("status", args.json, lambda: collect(args))
