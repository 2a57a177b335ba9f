"""`status`: alarm states, target health, RDS and Redis, read from AWS in the emulator."""

from __future__ import annotations

import json

import pytest

from runbooks import status


def alarm(boto, name: str, region: str = "eu-west-1") -> None:
    boto("cloudwatch", region).put_metric_alarm(
        AlarmName=name,
        MetricName="CPUUtilization",
        Namespace="AWS/RDS",
        Statistic="Average",
        Period=300,
        EvaluationPeriods=3,
        Threshold=80,
        ComparisonOperator="GreaterThanThreshold",
    )


@pytest.fixture
def stack(boto):
    """The prod stack's resources under the names infra/ gives them, all healthy."""
    ec2, elb = boto("ec2"), boto("elbv2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone="eu-west-1a")
    group = elb.create_target_group(
        Name="relay-prod-pods", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip"
    )
    arn = group["TargetGroups"][0]["TargetGroupArn"]
    elb.add_tags(ResourceArns=[arn], Tags=[{"Key": "stack", "Value": "prod"}])
    elb.register_targets(TargetGroupArn=arn, Targets=[{"Id": "10.20.1.10"}, {"Id": "10.20.1.11"}])
    other = elb.create_target_group(Name="someone-else", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    boto("rds").create_db_instance(
        DBInstanceIdentifier="relay-prod", Engine="postgres", DBInstanceClass="db.r6g.large",
        AllocatedStorage=100, MasterUsername="relay_admin", MasterUserPassword="moto-only-password",
    )  # fmt: skip
    cache = boto("elasticache")
    cache.create_cache_subnet_group(
        CacheSubnetGroupName="relay-prod-subnets", CacheSubnetGroupDescription="relay",
        SubnetIds=[subnet["Subnet"]["SubnetId"]],
    )  # fmt: skip
    cache.create_replication_group(
        ReplicationGroupId="relay-prod", ReplicationGroupDescription="relay", Engine="redis",
        CacheNodeType="cache.r7g.large", NumCacheClusters=2, CacheSubnetGroupName="relay-prod-subnets",
    )  # fmt: skip
    alarm(boto, "relay-prod-RdsHighCpu")
    alarm(boto, "relay-prod-AppEndpointDown", "us-east-1")
    alarm(boto, "relay-staging-RdsHighCpu")
    return {"target_group": arn, "other_group": other["TargetGroups"][0]["TargetGroupArn"]}


def test_status_reports_every_part_of_the_stack(aws, stack, capsys):
    code = status.main(["--stack", "prod", "--json"])
    report = json.loads(capsys.readouterr().out)["details"]
    assert code == 0
    assert {(a["alarm"], a["region"]) for a in report["alarms"]} == {
        ("relay-prod-RdsHighCpu", "eu-west-1"),
        ("relay-prod-AppEndpointDown", "us-east-1"),
    }
    assert [g["target_group"] for g in report["target_groups"]] == [stack["target_group"]]
    assert report["target_groups"][0]["healthy"] == 2
    assert report["database"]["db_instance"] == "relay-prod" and report["database"]["status"] == "available"
    assert report["cache"]["replication_group"] == "relay-prod" and report["cache"]["status"] == "available"


def test_an_alarm_in_alarm_fails_and_names_its_runbook(aws, boto, stack, capsys):
    boto("cloudwatch").set_alarm_state(
        AlarmName="relay-prod-RdsHighCpu", StateValue="ALARM", StateReason="test"
    )
    assert status.main(["--stack", "prod"]) == 1
    captured = capsys.readouterr()
    assert "relay-prod-RdsHighCpu" in captured.out
    assert "open runbooks/alerts/RdsHighCpu.md" in captured.err


def test_a_target_group_without_healthy_targets_fails(aws, stack, capsys):
    assert status.main(["--stack", "prod", "--target-group-arn", stack["other_group"]]) == 1
    assert "AlbNoHealthyTargets.md" in capsys.readouterr().err


def test_a_missing_database_fails_with_what_to_check(aws, stack, capsys):
    assert status.main(["--stack", "prod", "--db-id", "relay-nope"]) == 1
    err = capsys.readouterr().err
    assert "relay-nope" in err and "aws sts get-caller-identity" in err
