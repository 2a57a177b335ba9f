"""`restore files --stack … --prefix … --to-time …`: uploads back to how they were at a moment.

The uploads bucket is versioned, so nothing is overwritten for good: for each object under the
prefix, the version that was current at `--to-time` is copied on top (a new version with the old
bytes), and an object deleted since then comes back the same way. Objects created after that
moment are listed and kept. The dry run lists exactly what would change.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import datetime
from typing import Any

from runbooks.output import OperatorError, Record, add_output_flags, emit, parse_time, run_guarded, who
from runbooks.stack import account_id, add_stack_flags, client, load_stack


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks restore files",
        description="Restore objects under a prefix to their versions at a time (dry run unless --apply).",
    )
    add_stack_flags(parser)
    parser.add_argument("--prefix", required=True, help="key prefix, e.g. uploads/<channel-id>/ ('' for all)")
    parser.add_argument("--to-time", required=True, help="ISO 8601 time with zone, e.g. 2026-12-01T03:00:00Z")
    parser.add_argument(
        "--bucket", help="bucket (default: the stack's uploads bucket, relay-<env>-uploads-<account>)"
    )
    parser.add_argument("--region", help="bucket region (default: the stack's region)")
    add_output_flags(parser, changes_state=True)
    return parser


def versions_by_key(s3: Any, bucket: str, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Every version and delete marker under the prefix, newest first per key."""
    keys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        for version in page.get("Versions", []):
            keys[version["Key"]].append({**version, "deleted": False})
        for marker in page.get("DeleteMarkers", []):
            keys[marker["Key"]].append({**marker, "deleted": True})
    for history in keys.values():
        history.sort(key=lambda v: (v["LastModified"], v["IsLatest"]), reverse=True)
    return keys


def plan_key(key: str, history: list[dict[str, Any]], moment: datetime) -> dict[str, Any]:
    current = next(v for v in history if v["IsLatest"])
    then = next((v for v in history if v["LastModified"] <= moment), None)
    entry = {"key": key, "current": None if current["deleted"] else current["VersionId"]}
    if then is None or then["deleted"]:
        action = "keep (created after the restore time)" if entry["current"] else "unchanged"
        return {**entry, "action": action, "restore_version": None}
    if then["VersionId"] == entry["current"]:
        return {**entry, "action": "unchanged", "restore_version": None}
    return {
        **entry,
        "action": "undelete" if current["deleted"] else "restore",
        "restore_version": then["VersionId"],
    }


def restore(args: argparse.Namespace) -> int:
    stack = load_stack(args.stack, args.stack_file)
    region = args.region or stack.region
    moment = parse_time(args.to_time)
    bucket = args.bucket or stack.uploads_bucket(account_id(region))
    s3 = client("s3", region)
    history = versions_by_key(s3, bucket, args.prefix)
    if not history:
        raise OperatorError(
            f"no object or version under s3://{bucket}/{args.prefix}",
            "check the prefix: aws s3api list-object-versions --bucket <bucket> --prefix <prefix> "
            "--max-items 10",
        )
    plan = [plan_key(key, versions, moment) for key, versions in sorted(history.items())]
    changes = [p for p in plan if p["restore_version"]]
    record = Record(
        "restore files",
        dry_run=not args.apply,
        before={p["key"]: p["current"] for p in changes},
        details={"bucket": bucket, "prefix": args.prefix, "to_time": moment.isoformat(), "plan": plan},
    )
    if args.apply:
        record.who = who(client("sts", region))
        record.after = {}
        for change in changes:
            copied = s3.copy_object(
                Bucket=bucket,
                Key=change["key"],
                CopySource={"Bucket": bucket, "Key": change["key"], "VersionId": change["restore_version"]},
            )
            record.after[change["key"]] = copied.get("VersionId")
        record.next_steps.append(
            "each restored object is a new version; undo one with the same command and an earlier --to-time"
        )
    else:
        record.after = {p["key"]: f"copy of {p['restore_version']}" for p in changes}
    lines = [f"{p['action']:<40} {p['key']}" for p in plan]
    lines.append(f"{len(changes)} of {len(plan)} object(s) {'restored' if args.apply else 'would change'}")
    return emit(record, args.json, lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("restore files", args.json, lambda: restore(args))
