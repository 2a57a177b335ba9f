"""`restore files`: objects back to their versions at a moment, against S3 in the emulator."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from runbooks import restore_files

ACCOUNT = "123456789012"  # moto's account
BUCKET = f"relay-prod-uploads-{ACCOUNT}"  # the name infra/storage.py gives the prod uploads bucket


def tick() -> None:
    """S3 keeps LastModified to the second: step over a second boundary between versions."""
    time.sleep(1.05)


@pytest.fixture(scope="module")
def history(aws_module, boto):
    """Under each of two channels' prefixes (one per test that changes or inspects them): v1 of two
    files, the restore moment, then one overwritten, one deleted, one new file."""
    s3 = boto("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for channel in ("c1", "c3"):
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{channel}/a.txt", Body=b"a-v1")
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{channel}/b.txt", Body=b"b-v1")
    s3.put_object(Bucket=BUCKET, Key="uploads/c2/other.txt", Body=b"other-v1")
    tick()
    moment = datetime.now(UTC)
    tick()
    for channel in ("c1", "c3"):
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{channel}/a.txt", Body=b"a-v2-bad")
        s3.delete_object(Bucket=BUCKET, Key=f"uploads/{channel}/b.txt")
        s3.put_object(Bucket=BUCKET, Key=f"uploads/{channel}/new.txt", Body=b"new")
    s3.put_object(Bucket=BUCKET, Key="uploads/c2/other.txt", Body=b"other-v2")
    return moment


def contents(s3, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listed}


def test_restore_brings_back_the_versions_current_at_that_time(boto, history, capsys):
    s3 = boto("s3")
    code = restore_files.main(
        ["--stack", "prod", "--prefix", "uploads/c1/", "--to-time", history.isoformat(), "--apply", "--json"]
    )
    assert code == 0, capsys.readouterr().err
    assert contents(s3, "uploads/c1/") == {
        "uploads/c1/a.txt": b"a-v1",
        "uploads/c1/b.txt": b"b-v1",
        "uploads/c1/new.txt": b"new",  # created after the moment: kept, listed
    }
    assert contents(s3, "uploads/c2/") == {"uploads/c2/other.txt": b"other-v2"}  # outside: untouched
    record = json.loads(capsys.readouterr().out)
    assert set(record["before"]) == set(record["after"]) == {"uploads/c1/a.txt", "uploads/c1/b.txt"}
    assert record["before"]["uploads/c1/b.txt"] is None  # it was deleted
    actions = {p["key"]: p["action"] for p in record["details"]["plan"]}
    assert actions == {
        "uploads/c1/a.txt": "restore",
        "uploads/c1/b.txt": "undelete",
        "uploads/c1/new.txt": "keep (created after the restore time)",
    }
    assert record["who"] and record["dry_run"] is False


def test_dry_run_lists_the_changes_and_changes_nothing(boto, history, capsys):
    s3 = boto("s3")
    before = s3.list_object_versions(Bucket=BUCKET)
    code = restore_files.main(
        ["--stack", "prod", "--prefix", "uploads/c1/", "--to-time", history.isoformat()]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "restore" in out and "uploads/c1/a.txt" in out and "2 of 3 object(s) would change" in out
    after = s3.list_object_versions(Bucket=BUCKET)
    assert after["Versions"] == before["Versions"] and after["DeleteMarkers"] == before["DeleteMarkers"]


def test_an_empty_prefix_fails_with_what_to_check(boto, history, capsys):
    code = restore_files.main(["--stack", "prod", "--prefix", "nothing/", "--to-time", history.isoformat()])
    assert code == 1
    assert "aws s3api list-object-versions" in capsys.readouterr().err
