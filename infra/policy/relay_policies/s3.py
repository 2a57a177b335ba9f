"""S3, every bucket: private, TLS-only, encrypted, versioned, expiring, ACL-free, logged.

Checklist: "Implement cloud storage solution", "Configure secure file URLs", "File storage backup".
DESIGN.md §5: every bucket (uploads, replica, logs) has the four public-access blocks, a TLS-only
deny, encryption (KMS for data; SSE-S3 where AWS requires it), versioning and lifecycle; ownership
is enforced everywhere except a CloudFront legacy-logging bucket; the uploads bucket is logged.
"""

from collections.abc import Iterator

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import get, items, shown, violation
from .s3_buckets import (
    ACL,
    BUCKET_POLICY,
    ENCRYPTION,
    LIFECYCLE,
    LOGGING,
    OWNERSHIP,
    PUBLIC_ACCESS_BLOCK,
    VERSIONING,
    Buckets,
    policy_document,
    statements,
)

PUBLIC_BLOCKS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_CANNED_ACLS = ("public-read", "public-read-write", "authenticated-read")
PUBLIC_GRANTEES = (
    "http://acs.amazonaws.com/groups/global/AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers",
)
Finding = tuple[str, str]


def missing(bucket: PolicyResource, resource: str, fix: str) -> Finding:
    return bucket.urn, violation(
        bucket.urn, resource, "missing", f"every bucket needs its own {resource}", fix
    )


def check_public_access_block(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        blocks = buckets.companions(bucket, PUBLIC_ACCESS_BLOCK)
        if not blocks:
            yield missing(
                bucket,
                "BucketPublicAccessBlock",
                "add aws.s3.BucketPublicAccessBlock with all four flags True",
            )
        for block in blocks:
            for flag in PUBLIC_BLOCKS:
                if block.props.get(flag) is not True:
                    yield (
                        block.urn,
                        violation(
                            block.urn,
                            flag,
                            shown(block.props.get(flag), False),
                            f"{bucket.name} must block every kind of public access",
                            f"set {flag}=True",
                        ),
                    )


def denies_insecure_transport(statement) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and str(get(statement, "Condition.Bool.aws:SecureTransport", "")).lower() == "false"
    )


def check_tls_only(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        policies = buckets.companions(bucket, BUCKET_POLICY)
        if not any(
            denies_insecure_transport(s)
            for p in policies
            for s in statements(policy_document(p.props.get("policy")))
        ):
            urn = policies[0].urn if policies else bucket.urn
            yield (
                urn,
                violation(
                    urn,
                    "policy",
                    "without a TLS-only deny" if policies else "missing",
                    f"{bucket.name} must refuse requests that do not use TLS",
                    'add a Deny statement for s3:* with Condition {"Bool": {"aws:SecureTransport": "false"}}',
                ),
            )


def check_encryption(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        configs = buckets.companions(bucket, ENCRYPTION)
        if not configs:
            yield missing(
                bucket,
                "BucketServerSideEncryptionConfiguration",
                "add aws.s3.BucketServerSideEncryptionConfiguration (aws:kms with the stack key for data)",
            )
            continue
        needs_kms = not buckets.is_log_bucket(bucket)
        for config in configs:
            for rule in items(config.props.get("rules")):
                algorithm = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
                if needs_kms and (
                    algorithm not in KMS_ALGORITHMS
                    or not get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId")
                ):
                    yield (
                        config.urn,
                        violation(
                            config.urn,
                            "rules[].applyServerSideEncryptionByDefault",
                            shown(algorithm),
                            f"{bucket.name} holds data and must be encrypted with the stack's KMS key",
                            'set sse_algorithm="aws:kms" and kms_master_key_id to the KMS key ARN',
                        ),
                    )
                elif algorithm not in (*KMS_ALGORITHMS, "AES256"):
                    yield (
                        config.urn,
                        violation(
                            config.urn,
                            "rules[].applyServerSideEncryptionByDefault.sseAlgorithm",
                            shown(algorithm),
                            f"{bucket.name} must be encrypted at rest",
                            'set sse_algorithm="AES256" (required by ALB/S3 log delivery) or "aws:kms"',
                        ),
                    )


def check_versioning(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        configs = buckets.companions(bucket, VERSIONING)
        if not configs:
            yield missing(bucket, "BucketVersioning", 'add aws.s3.BucketVersioning with status="Enabled"')
        for config in configs:
            status = get(config.props, "versioningConfiguration.status")
            if status != "Enabled":
                yield (
                    config.urn,
                    violation(
                        config.urn,
                        "versioningConfiguration.status",
                        shown(status),
                        f"{bucket.name} must keep previous object versions",
                        'set status="Enabled"',
                    ),
                )


def check_lifecycle(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        configs = buckets.companions(bucket, LIFECYCLE)
        if not any(get(rule, "status") == "Enabled" for c in configs for rule in items(c.props.get("rules"))):
            urn = configs[0].urn if configs else bucket.urn
            yield (
                urn,
                violation(
                    urn,
                    "rules",
                    "without an Enabled rule" if configs else "missing",
                    f"{bucket.name} must expire old versions and incomplete uploads",
                    "add aws.s3.BucketLifecycleConfiguration with an Enabled rule "
                    "(noncurrent_version_expiration, abort_incomplete_multipart_upload)",
                ),
            )


def check_ownership(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.all:
        if buckets.is_cloudfront_legacy_log_target(bucket):
            continue
        controls = buckets.companions(bucket, OWNERSHIP)
        if not controls:
            yield missing(
                bucket,
                "BucketOwnershipControls",
                'add aws.s3.BucketOwnershipControls with object_ownership="BucketOwnerEnforced"',
            )
        for control in controls:
            ownership = get(control.props, "rule.objectOwnership")
            if ownership != "BucketOwnerEnforced":
                yield (
                    control.urn,
                    violation(
                        control.urn,
                        "rule.objectOwnership",
                        shown(ownership),
                        f"{bucket.name} must not use ACLs (only a CloudFront legacy-logging bucket may)",
                        'set object_ownership="BucketOwnerEnforced"',
                    ),
                )


def check_access_logging(args: StackValidationArgs) -> Iterator[Finding]:
    buckets = Buckets(StackGraph(args.resources))
    for bucket in buckets.primary_data_buckets():
        if not buckets.companions(bucket, LOGGING):
            yield missing(
                bucket, "BucketLogging", "add aws.s3.BucketLogging with target_bucket set to the logs bucket"
            )


def wildcard_principal(principal) -> bool:
    return principal == "*" or "*" in [str(p) for p in items(get(principal, "AWS"))]


def check_no_wildcard_allow(args: ResourceValidationArgs) -> Iterator[str]:
    for statement in statements(policy_document(args.props.get("policy"))):
        if statement.get("Effect") == "Allow" and wildcard_principal(statement.get("Principal")):
            yield violation(
                args.urn,
                "policy.Statement[].Principal",
                repr(statement.get("Principal")),
                "an Allow statement must name its principal, never *",
                "grant to a service principal (cloudfront.amazonaws.com with AWS:SourceArn) or a role ARN",
            )


def check_no_public_acl(args: ResourceValidationArgs) -> Iterator[str]:
    acl = args.props.get("acl")
    if acl in PUBLIC_CANNED_ACLS:
        yield violation(
            args.urn,
            "acl",
            shown(acl),
            "buckets must never be readable or writable by the public",
            'use acl="private" or, better, remove the BucketAcl and enforce bucket ownership',
        )
    for grant in items(get(args.props, "accessControlPolicy.grants")):
        if get(grant, "grantee.uri") in PUBLIC_GRANTEES:
            yield violation(
                args.urn,
                "accessControlPolicy.grants[].grantee.uri",
                shown(get(grant, "grantee.uri")),
                "buckets must never grant access to all (authenticated) AWS users",
                "remove the grant",
            )


POLICIES = [
    stack_policy(
        "s3-public-access-block",
        "S3.8: every S3 bucket must block public access (all four settings).",
        check_public_access_block,
    ),
    stack_policy(
        "s3-tls-only", "S3.5: every S3 bucket policy must deny requests without TLS.", check_tls_only
    ),
    stack_policy(
        "s3-encryption",
        "S3.17: S3 data buckets must be encrypted with KMS keys (SSE-S3 only for log buckets).",
        check_encryption,
    ),
    stack_policy("s3-versioning", "S3.14: every S3 bucket must have versioning enabled.", check_versioning),
    stack_policy(
        "s3-lifecycle", "S3.13: every S3 bucket must have a lifecycle configuration.", check_lifecycle
    ),
    stack_policy(
        "s3-ownership-enforced",
        "S3.12: S3 buckets must not use ACLs (ownership enforced; "
        "CloudFront legacy-logging bucket excepted).",
        check_ownership,
    ),
    stack_policy(
        "s3-access-logging",
        "S3.9: the uploads (primary data) bucket must have server access logging.",
        check_access_logging,
    ),
    resource_policy(
        "s3-no-wildcard-allow",
        "S3.2/S3.3: S3 bucket policies must not Allow a wildcard principal.",
        BUCKET_POLICY,
        check_no_wildcard_allow,
    ),
    resource_policy(
        "s3-no-public-acl",
        "S3.2/S3.3: S3 bucket ACLs must not grant public access.",
        ACL,
        check_no_public_acl,
    ),
]
