"""`restore db`: point-in-time restore into a new instance, against RDS in the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from infra.evaluation.stack_capture import evaluate_stack
from runbooks import restore_db

SOURCE = "relay-prod"  # the committed prod stack's database identifier


@pytest.fixture
def database(boto):
    """The prod database as the program shapes it: private subnets, own SG, parameter group, KMS."""
    ec2, rds = boto("ec2"), boto("rds")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"eu-west-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("abc")
    ]
    group = ec2.create_security_group(GroupName="relay-db", Description="db", VpcId=vpc)["GroupId"]
    rds.create_db_subnet_group(
        DBSubnetGroupName="relay-db-subnets", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="relay-db-params-postgres16",
        DBParameterGroupFamily="postgres16",
        Description="relay",
    )
    key = boto("kms").create_key()["KeyMetadata"]["Arn"]
    rds.create_db_instance(
        DBInstanceIdentifier=SOURCE,
        Engine="postgres",
        DBInstanceClass="db.r6g.large",
        AllocatedStorage=100,
        MasterUsername="relay_admin",
        MasterUserPassword="moto-only-password",
        DBSubnetGroupName="relay-db-subnets",
        VpcSecurityGroupIds=[group],
        DBParameterGroupName="relay-db-params-postgres16",
        StorageEncrypted=True,
        KmsKeyId=key,
        MultiAZ=True,
        DeletionProtection=True,
        BackupRetentionPeriod=14,
    )
    return {"security_group": group, "key": key}


def instance_ids(boto) -> set[str]:
    return {d["DBInstanceIdentifier"] for d in boto("rds").describe_db_instances()["DBInstances"]}


def restorable_moment() -> datetime:
    """Now: after the source's first backup (taken at creation) and before LatestRestorableTime."""
    return datetime.now(UTC)


def test_restore_sends_the_requested_time_and_a_new_identifier(aws, boto, database, capsys):
    moment = restorable_moment()
    code = restore_db.main(
        [
            "--stack",
            "prod",
            "--to-time",
            moment.isoformat(),
            "--target-id",
            "relay-prod-pitr-test",
            "--apply",
            "--json",
        ]
    )
    assert code == 0, capsys.readouterr().err
    sent = aws.requests("RestoreDBInstanceToPointInTime")
    assert len(sent) == 1
    assert sent[0]["SourceDBInstanceIdentifier"] == [SOURCE]
    assert sent[0]["TargetDBInstanceIdentifier"] == ["relay-prod-pitr-test"]
    assert datetime.fromisoformat(sent[0]["RestoreTime"][0].replace("Z", "+00:00")) == moment
    assert sent[0]["DBSubnetGroupName"] == ["relay-db-subnets"]
    assert sent[0]["DBParameterGroupName"] == ["relay-db-params-postgres16"]
    assert sent[0]["VpcSecurityGroupIds.VpcSecurityGroupId.1"] == [database["security_group"]]
    assert sent[0]["MultiAZ"] == ["true"] and sent[0]["DeletionProtection"] == ["true"]
    assert sent[0]["PubliclyAccessible"] == ["false"]
    restored = boto("rds").describe_db_instances(DBInstanceIdentifier="relay-prod-pitr-test")["DBInstances"][
        0
    ]
    assert restored["StorageEncrypted"] and restored["KmsKeyId"] == database["key"]
    record = json.loads(capsys.readouterr().out)
    assert record["dry_run"] is False and record["who"] and record["started"] and record["finished"]
    assert record["before"]["database"] == SOURCE
    assert record["after"]["database"] == "relay-prod-pitr-test"


def test_restore_prints_a_cut_over_that_pulumi_keeps(aws, database, capsys):
    """The printed URN is the program's own instance URN, and the config key is the program's."""
    restore_db.main(["--stack", "prod", "--to-time", restorable_moment().isoformat(), "--json"])
    steps = "\n".join(json.loads(capsys.readouterr().out)["next_steps"])
    urn = next(r.urn for r in evaluate_stack("prod").resources if r.type == "aws:rds/instance:Instance")
    assert f"pulumi state delete '{urn}' --stack prod" in steps
    assert "pulumi config set relay:dbRestoredInstanceId relay-prod-pitr-" in steps


def test_dry_run_creates_nothing(aws, boto, database, capsys):
    before = instance_ids(boto)
    code = restore_db.main(["--stack", "prod", "--to-time", restorable_moment().isoformat()])
    assert code == 0
    assert instance_ids(boto) == before
    assert aws.requests("RestoreDBInstanceToPointInTime") == []
    assert "Dry run" in capsys.readouterr().out


@pytest.mark.parametrize(
    "offset", [timedelta(days=30), timedelta(hours=-1)], ids=["before-backups", "future"]
)
def test_times_outside_the_restore_window_are_refused(aws, database, capsys, offset):
    moment = datetime.now(UTC) - offset if offset.days > 0 else datetime.now(UTC) + timedelta(hours=1)
    code = restore_db.main(["--stack", "prod", "--to-time", moment.isoformat(), "--apply"])
    assert code == 1
    err = capsys.readouterr().err
    assert "outside the restore window" in err and "pick a time inside the window" in err
    assert aws.requests("RestoreDBInstanceToPointInTime") == []


def test_a_time_without_a_zone_is_refused_with_the_fix(aws, database, capsys):
    assert restore_db.main(["--stack", "prod", "--to-time", "2026-12-01T03:00:00"]) == 1
    assert "--to-time 2026-12-01T03:00:00Z" in capsys.readouterr().err
