"""ElastiCache policies: each weakened Redis setting is refused with the resource, property and fix."""

import pytest

from .compliant_stack import compliant_stack
from .harness import policy, run_policy
from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

REDIS = "relay-redis"
CASES = [
    Weakening(
        "elasticache-at-rest-encryption", REDIS, "atRestEncryptionEnabled", DELETE, "atRestEncryptionEnabled"
    ),
    Weakening(
        "elasticache-in-transit-encryption",
        REDIS,
        "transitEncryptionEnabled",
        False,
        "transitEncryptionEnabled",
    ),
    Weakening(
        "elasticache-in-transit-encryption",
        REDIS,
        "transitEncryptionMode",
        "preferred",
        "transitEncryptionMode",
    ),
    Weakening("elasticache-auth", REDIS, "authToken", DELETE, "authToken"),
    Weakening(
        "elasticache-automatic-failover",
        REDIS,
        "automaticFailoverEnabled",
        DELETE,
        "automaticFailoverEnabled",
    ),
    Weakening("elasticache-multi-az", REDIS, "multiAzEnabled", False, "multiAzEnabled"),
    Weakening("elasticache-snapshot-retention", REDIS, "snapshotRetentionLimit", 1, "snapshotRetentionLimit"),
    Weakening("backup-coverage", REDIS, "snapshotRetentionLimit", 0, "snapshotRetentionLimit"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_redis_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_write_only_auth_token_counts_as_auth():
    stack = Weakening("elasticache-auth", REDIS, "authToken", DELETE, "authToken").apply(compliant_stack())
    next(r for r in stack if r.name == REDIS).props["authTokenWo"] = "from-secrets-manager"
    assert run_policy(policy("elasticache-auth"), stack, "prod") == []
