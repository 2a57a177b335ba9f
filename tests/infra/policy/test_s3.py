"""S3 policies: every bucket keeps its protections; each weakened one is refused by name."""

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from .compliant_stack import compliant_stack
from .harness import Resource, policy, run_policy
from .weakening import DELETE, REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

UPLOADS = "relay-uploads"
PUBLIC_READ = json.dumps(
    {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::relay-uploads/*",
            }
        ]
    }
)
CASES = [
    Weakening(
        "s3-public-access-block",
        "relay-logs-public-access",
        "restrictPublicBuckets",
        False,
        "restrictPublicBuckets",
    ),
    Weakening(
        "s3-public-access-block",
        "relay-uploads-public-access",
        "blockPublicPolicy",
        DELETE,
        "blockPublicPolicy",
    ),
    Weakening(
        "s3-public-access-block",
        "relay-uploads-replica-public-access",
        None,
        REMOVE,
        "BucketPublicAccessBlock",
        blamed="relay-uploads-replica",
    ),
    Weakening("s3-tls-only", "relay-uploads-policy", "policy.Statement.0.Effect", "Allow", "policy"),
    Weakening("s3-tls-only", "relay-logs-policy", None, REMOVE, "policy", blamed="relay-logs"),
    Weakening("s3-no-wildcard-allow", "relay-uploads-policy", "policy", PUBLIC_READ, "Principal"),
    Weakening(
        "s3-no-wildcard-allow",
        "relay-uploads-policy",
        "policy.Statement.1.Principal",
        {"AWS": "*"},
        "Principal",
    ),
    Weakening(
        "s3-encryption",
        "relay-uploads-encryption",
        "rules.0.applyServerSideEncryptionByDefault",
        {"sseAlgorithm": "AES256"},
        "applyServerSideEncryptionByDefault",
    ),
    Weakening(
        "s3-encryption",
        "relay-logs-encryption",
        None,
        REMOVE,
        "BucketServerSideEncryptionConfiguration",
        blamed="relay-logs",
    ),
    Weakening(
        "s3-versioning",
        "relay-logs-versioning",
        "versioningConfiguration.status",
        "Suspended",
        "versioningConfiguration.status",
    ),
    Weakening(
        "s3-versioning",
        "relay-cdn-logs-versioning",
        None,
        REMOVE,
        "BucketVersioning",
        blamed="relay-cdn-logs",
    ),
    Weakening("s3-lifecycle", "relay-uploads-lifecycle", "rules.0.status", "Disabled", "rules"),
    Weakening(
        "s3-lifecycle",
        "relay-uploads-replica-lifecycle",
        None,
        REMOVE,
        "rules",
        blamed="relay-uploads-replica",
    ),
    Weakening(
        "s3-ownership-enforced",
        "relay-uploads-ownership",
        "rule.objectOwnership",
        "ObjectWriter",
        "rule.objectOwnership",
    ),
    Weakening(
        "s3-ownership-enforced",
        "relay-logs-ownership",
        None,
        REMOVE,
        "BucketOwnershipControls",
        blamed="relay-logs",
    ),
    Weakening("s3-access-logging", "relay-uploads-logging", None, REMOVE, "BucketLogging", blamed=UPLOADS),
    Weakening(
        "s3-no-public-acl",
        "relay-logs-acl",
        None,
        Resource(
            "aws:s3/bucketAcl:BucketAcl", "relay-logs-acl", {"bucket": "relay-logs", "acl": "public-read"}
        ),
        "acl",
    ),
    Weakening(
        "s3-no-public-acl",
        "relay-logs-acl",
        None,
        Resource(
            "aws:s3/bucketAcl:BucketAcl",
            "relay-logs-acl",
            {
                "bucket": "relay-logs",
                "accessControlPolicy": {
                    "grants": [
                        {
                            "permission": "READ",
                            "grantee": {
                                "type": "Group",
                                "uri": "http://acs.amazonaws.com/groups/global/AllUsers",
                            },
                        }
                    ]
                },
            },
        ),
        "grantee.uri",
    ),
    Weakening(
        "backup-coverage",
        "relay-uploads-replication",
        None,
        REMOVE,
        "BucketReplicationConfig",
        blamed=UPLOADS,
    ),
    Weakening(
        "backup-coverage",
        "relay-uploads-versioning",
        "versioningConfiguration.status",
        "Suspended",
        "BucketVersioning",
        blamed=UPLOADS,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_bucket_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_a_bucket_name_unknown_in_preview_does_not_stop_the_linking():
    """In a first preview some names are unknown; a reference given by value still finds its bucket."""
    stack = compliant_stack()
    for resource in stack:
        if resource.name == "relay-uploads-replica":
            resource.props["bucket"] = UNKNOWN_STRING_VALUE
        if resource.name == "relay-uploads-versioning":
            resource.deps = {}  # the program passed the bucket's name as a plain string
    assert run_policy(policy("s3-versioning"), stack, "prod") == []
