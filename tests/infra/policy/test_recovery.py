"""Final snapshots, snapshot tags, Performance Insights and storage autoscaling, refused when weakened."""

import pytest

from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

DB = "relay-db"
CASES = [
    Weakening("final-snapshot", DB, "skipFinalSnapshot", True, "skipFinalSnapshot"),
    Weakening("final-snapshot", DB, "finalSnapshotIdentifier", DELETE, "finalSnapshotIdentifier"),
    Weakening("final-snapshot", "relay-redis", "finalSnapshotIdentifier", DELETE, "finalSnapshotIdentifier"),
    Weakening("rds-copy-tags-to-snapshot", DB, "copyTagsToSnapshot", DELETE, "copyTagsToSnapshot"),
    Weakening(
        "rds-performance-insights", DB, "performanceInsightsEnabled", False, "performanceInsightsEnabled"
    ),
    Weakening("rds-storage-autoscaling", DB, "maxAllocatedStorage", DELETE, "maxAllocatedStorage"),
    Weakening("rds-storage-autoscaling", DB, "maxAllocatedStorage", 100, "maxAllocatedStorage"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_recovery_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
