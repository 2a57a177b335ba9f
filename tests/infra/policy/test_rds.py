"""RDS policies: each weakened database setting is refused with the resource, property and fix."""

import pytest

from .compliant_stack import compliant_stack
from .harness import policy, run_policy
from .weakening import DELETE, REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

DB = "relay-db"
CASES = [
    Weakening("rds-storage-encrypted", DB, "storageEncrypted", False, "storageEncrypted"),
    Weakening("rds-storage-encrypted", DB, "storageEncrypted", DELETE, "storageEncrypted"),
    Weakening("rds-no-public-access", DB, "publiclyAccessible", True, "publiclyAccessible"),
    Weakening("rds-multi-az", DB, "multiAz", False, "multiAz"),
    Weakening("rds-multi-az", DB, "multiAz", DELETE, "multiAz"),
    Weakening("rds-backup-retention", DB, "backupRetentionPeriod", 7, "backupRetentionPeriod"),
    Weakening("rds-backup-retention", DB, "backupRetentionPeriod", DELETE, "backupRetentionPeriod"),
    Weakening("rds-deletion-protection", DB, "deletionProtection", DELETE, "deletionProtection"),
    Weakening(
        "rds-force-ssl",
        "relay-db-params",
        "parameters.0",
        {"name": "rds.force_ssl", "value": "0"},
        "rds.force_ssl",
    ),
    Weakening(
        "rds-auto-minor-version-upgrade", DB, "autoMinorVersionUpgrade", False, "autoMinorVersionUpgrade"
    ),
    Weakening(
        "rds-log-exports", DB, "enabledCloudwatchLogsExports", ["upgrade"], "enabledCloudwatchLogsExports"
    ),
    Weakening("rds-log-exports", DB, "enabledCloudwatchLogsExports", DELETE, "enabledCloudwatchLogsExports"),
    Weakening(
        "rds-iam-auth-or-managed-secret", DB, "manageMasterUserPassword", DELETE, "manageMasterUserPassword"
    ),
    Weakening("backup-coverage", "relay-backup-selection", None, REMOVE, "aws.backup.Selection", blamed=DB),
    Weakening("backup-coverage", DB, "backupRetentionPeriod", 0, "backupRetentionPeriod"),
    Weakening(
        "backup-coverage",
        "relay-backup-plan",
        "rules.0",
        {"ruleName": "daily", "targetVaultName": "relay"},
        "aws.backup.Selection",
        blamed=DB,
    ),
    Weakening("rds-engine-version-major-only", DB, "engineVersion", "16.6", "engineVersion"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_database_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


@pytest.mark.parametrize(
    ("family", "refused"), [("postgres16", False), ("postgres15", False), ("postgres14", True)]
)
def test_unset_force_ssl_is_judged_by_the_family_default(family, refused):
    """rds.force_ssl defaults to 1 from PostgreSQL 15 on; an older family without it accepts plaintext."""
    stack = Weakening("rds-force-ssl", "relay-db-params", "parameters", [], "x").apply(compliant_stack())
    next(r for r in stack if r.name == "relay-db-params").props["family"] = family
    assert bool(run_policy(policy("rds-force-ssl"), stack, "prod")) is refused


def test_force_ssl_given_as_a_number_counts():
    stack = Weakening(
        "rds-force-ssl", "relay-db-params", "parameters.0", {"name": "rds.force_ssl", "value": 1}, "x"
    ).apply(compliant_stack())
    assert run_policy(policy("rds-force-ssl"), stack, "prod") == []
