"""Case (a): the real program, captured under mocks for each committed stack, passes every policy.

`infra/evaluation/stack_capture.py` evaluates `infra/__main__.py` with `Pulumi.<stack>.yaml` as
committed and records what the engine received (inputs and property dependencies). Every
resource policy runs on every resource and every stack policy on the whole stack, with the
stack's own policy config, exactly as `make preview STACK=<stack>` would run them.

A violation here is a finding against the program, never a reason to weaken a policy.
"""

import pytest
from relay_policies import POLICIES

from infra.evaluation.stack_capture import capture_stack

from .harness import from_capture, policy, run_pack, run_policy

STACKS = ("prod", "staging")


@pytest.mark.parametrize("rule", POLICIES, ids=lambda p: p.name)
@pytest.mark.parametrize("stack", STACKS)
def test_program_passes_policy(stack, rule):
    resources = [from_capture(r) for r in capture_stack(stack)]
    violations = run_policy(rule, resources, stack)
    assert violations == [], f"{stack}: " + "\n".join(v.message for v in violations)


def without(types: tuple[str, ...]):
    return lambda resources: [r for r in resources if r.type not in types]


def with_props(resource_type: str, **changes):
    def weaken(resources):
        for r in resources:
            if r.type == resource_type:
                r.props.update(changes)
                r.deps = {k: v for k, v in r.deps.items() if k not in changes}  # literals refer to nothing
        return resources

    return weaken


# Weakenings of the real program's capture: prove each stack policy finds the program's resources
# through the references the program really makes (a policy that links nothing passes vacuously).
PROGRAM_WEAKENINGS = [
    ("backup-coverage", without(("aws:backup/selection:Selection",)), "aws:rds/instance:Instance"),
    (
        "backup-coverage",
        without(("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)),
        "aws:s3/bucket:Bucket",
    ),
    (
        "alarm-has-actions",
        with_props("aws:cloudwatch/metricAlarm:MetricAlarm", okActions=[]),
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    ),
    (
        "alarm-has-actions",
        with_props("aws:cloudwatch/metricAlarm:MetricAlarm", alarmActions=["arn:aws:lambda:x"]),
        "aws:cloudwatch/metricAlarm:MetricAlarm",
    ),
    ("s3-versioning", without(("aws:s3/bucketVersioning:BucketVersioning",)), "aws:s3/bucket:Bucket"),
    (
        "s3-public-access-block",
        without(("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)),
        "aws:s3/bucket:Bucket",
    ),
    ("s3-access-logging", without(("aws:s3/bucketLogging:BucketLogging",)), "aws:s3/bucket:Bucket"),
    (
        "s3-encryption",
        with_props(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
        ),
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    ),
    (
        "waf-attached",
        without(("aws:wafv2/webAclAssociation:WebAclAssociation",)),
        "aws:lb/loadBalancer:LoadBalancer",
    ),
    (
        "waf-logging",
        without(("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",)),
        "aws:wafv2/webAcl:WebAcl",
    ),
    (
        "cloudfront-logging",
        without(("aws:cloudwatch/logDeliverySource:LogDeliverySource",)),
        "aws:cloudfront/distribution:Distribution",
    ),
    ("vpc-nat-gateway-per-az", without(("aws:ec2/natGateway:NatGateway",)), "aws:ec2/vpc:Vpc"),
    ("vpc-flow-logs", without(("aws:ec2/flowLog:FlowLog",)), "aws:ec2/vpc:Vpc"),
    ("security-group-no-open-ingress", without(("aws:lb/loadBalancer:LoadBalancer",)), None),
    (
        "rds-storage-encrypted",
        with_props("aws:rds/instance:Instance", storageEncrypted=False),
        "aws:rds/instance:Instance",
    ),
    (
        "kubernetes-image-digest",
        with_props(
            "kubernetes:apps/v1:Deployment",
            spec={"template": {"spec": {"containers": [{"name": "relay", "image": "relay:latest"}]}}},
        ),
        "kubernetes:apps/v1:Deployment",
    ),
]


@pytest.mark.parametrize(
    ("name", "weaken", "blamed_type"), PROGRAM_WEAKENINGS, ids=[w[0] for w in PROGRAM_WEAKENINGS]
)
def test_weakened_program_is_refused(name, weaken, blamed_type):
    resources = weaken([from_capture(r) for r in capture_stack("prod")])
    violations = run_policy(next(p for p in POLICIES if p.name == name), resources, "prod")
    assert violations, f"{name} did not fire on the weakened program"
    if blamed_type:
        assert any(f"{blamed_type}::" in v.message and "Fix: " in v.message for v in violations), violations


# Resource kinds the program rightly never declares: their policies guard against adding them.
NEVER_DECLARED = {"s3-no-public-acl": "the program manages ownership, not ACLs (BucketOwnerEnforced)"}


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_policy_meets_a_resource_of_its_type(stack):
    declared = {r.type for r in capture_stack(stack)}
    vacuous = [
        p.name
        for p in POLICIES
        if getattr(p, "resource_types", None)
        and not p.resource_types & declared
        and p.name not in NEVER_DECLARED
    ]
    assert not vacuous, (
        f"{stack}: these policies never met a resource, so their pass proves nothing: {vacuous}"
    )


# relay:socketServer=python-socketio, the fallback (tests/infra/test_socket_route.py): one sticky
# target group for REST and the socket path; the committed stacks run the native server.
def test_python_socketio_stack_passes_every_policy(python_socketio_run):
    resources = [from_capture(r) for r in python_socketio_run.resources]
    violations = run_pack(resources, python_socketio_run.stack)
    assert violations == [], "\n".join(v.message for v in violations)


def test_the_stickiness_policy_follows_the_socket_path(native_run):
    """Stickiness moved to the socket target group: taking it away there is refused, while the REST
    target group may go without it."""
    resources = [from_capture(r) for r in native_run.resources]
    stickiness = policy("target-group-stickiness")
    for resource in resources:
        if resource.name.endswith("-sockets-pods"):
            resource.props["stickiness"] = {**resource.props["stickiness"], "enabled": False}
    violations = run_policy(stickiness, resources, native_run.stack)
    assert len(violations) == 1 and "-sockets-pods" in violations[0].message, violations
