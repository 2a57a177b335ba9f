"""Cache: a Redis replication group with TLS, AUTH, encryption at rest and snapshots."""

from tests.infra.resources import by_output, config, plain, single

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def test_redis_requires_tls_and_auth_and_encrypts_at_rest(stack_run):
    group = single(stack_run, GROUP)
    i = plain(group.inputs)
    assert i["transitEncryptionEnabled"] is True and i["transitEncryptionMode"] == "required", group.urn
    assert len(i["authToken"]) >= 32
    assert i["atRestEncryptionEnabled"] is True
    assert by_output(stack_run, "arn")[i["kmsKeyId"]].type == "aws:kms/key:Key"
    assert group.protect and i["finalSnapshotIdentifier"] == f"relay-{stack_run.stack}-final"


def test_redis_runs_without_cluster_mode_for_the_socketio_manager(stack_run):
    i = single(stack_run, GROUP).inputs
    assert i["clusterMode"] == "disabled" and i["engine"] == "redis"
    assert i["snapshotRetentionLimit"] == int(config(stack_run, "cacheSnapshotRetentionDays")) >= 1


def test_prod_redis_fails_over_across_zones(prod_run):
    i = single(prod_run, GROUP).inputs
    assert i["numCacheClusters"] >= 2
    assert i["automaticFailoverEnabled"] is True and i["multiAzEnabled"] is True


def test_redis_accepts_connections_only_from_the_cluster(stack_run):
    (group_id,) = single(stack_run, GROUP).inputs["securityGroupIds"]
    (rule,) = by_output(stack_run, "id")[group_id].inputs["ingress"]
    assert (
        rule["fromPort"] == 6379
        and not rule.get("cidrBlocks")
        and rule["securityGroups"] == ["sg-0c1u5t3r5ecur1ty"]
    )
