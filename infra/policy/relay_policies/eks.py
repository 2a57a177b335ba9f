"""EKS: private API endpoint (public one off or limited to listed CIDRs), encrypted secrets,
control-plane logs.

Checklist: "Enable SSL/TLS", "Set up error logging service" (DESIGN.md §5: EKS with private
nodes, secrets encryption, control-plane logs; public endpoint restricted to CIDRs from config).
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import get, items, shown, violation

CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
REQUIRED_LOG_TYPES = ("api", "audit", "authenticator")


def check_endpoint(args: ResourceValidationArgs) -> Iterator[str]:
    vpc = args.props.get("vpcConfig") or {}
    private = get(vpc, "endpointPrivateAccess", False)
    public = get(vpc, "endpointPublicAccess", True)
    listed = [str(c) for c in items(get(vpc, "publicAccessCidrs"))]
    cidrs = listed or ["0.0.0.0/0"]  # AWS opens an unrestricted public endpoint to everyone
    if private is not True:
        yield violation(
            args.urn,
            "vpcConfig.endpointPrivateAccess",
            shown(get(vpc, "endpointPrivateAccess"), False),
            "nodes must reach the API server privately",
            "set endpoint_private_access=True",
        )
    if public is not False and set(cidrs) & set(OPEN_CIDRS):
        yield violation(
            args.urn,
            "vpcConfig.publicAccessCidrs",
            shown(listed or None, cidrs),
            "the public API endpoint must be off or limited to listed CIDRs, never the whole internet",
            "set endpoint_public_access=False, or public_access_cidrs from relay:eksPublicAccessCidrs",
        )


def check_secrets_encryption(args: ResourceValidationArgs) -> Iterator[str]:
    config = args.props.get("encryptionConfig") or {}
    if "secrets" not in [str(r) for r in items(get(config, "resources"))] or not get(
        config, "provider.keyArn"
    ):
        yield violation(
            args.urn,
            "encryptionConfig",
            shown(config or None),
            "Kubernetes secrets must be envelope-encrypted with the stack's KMS key",
            'set encryption_config={resources: ["secrets"], provider: {key_arn: <KMS key ARN>}}',
        )


def check_control_plane_logs(args: ResourceValidationArgs) -> Iterator[str]:
    enabled = [str(t) for t in items(args.props.get("enabledClusterLogTypes"))]
    absent = [t for t in REQUIRED_LOG_TYPES if t not in enabled]
    if absent:
        yield violation(
            args.urn,
            "enabledClusterLogTypes",
            shown(enabled or None),
            f"control-plane logs {', '.join(absent)} must reach CloudWatch Logs",
            'set enabled_cluster_log_types=["api", "audit", "authenticator", '
            '"controllerManager", "scheduler"]',
        )


def check_standard_support(args: ResourceValidationArgs) -> Iterator[str]:
    support = get(args.props, "upgradePolicy.supportType")
    if support != "STANDARD":
        yield violation(
            args.urn,
            "upgradePolicy.supportType",
            shown(support, "EXTENDED"),
            "a version past its end of standard support must be upgraded, not billed at the "
            "extended-support rate (six times the control-plane price)",
            'set upgrade_policy={"support_type": "STANDARD"}',
        )


def check_addon_version(args: ResourceValidationArgs) -> Iterator[str]:
    version = args.props.get("addonVersion")
    if not version:
        yield violation(
            args.urn,
            "addonVersion",
            shown(version, "the default build for the cluster version, chosen at create time"),
            "managed add-ons run a pinned build, so a deploy never changes one unannounced",
            "set addon_version from infra/eks_versions.py PINS",
        )


POLICIES = [
    resource_policy(
        "eks-endpoint-access",
        "EKS.1: EKS endpoints must be private, the public endpoint off or restricted to listed CIDRs.",
        [CLUSTER],
        check_endpoint,
    ),
    resource_policy(
        "eks-secrets-encryption",
        "EKS.3: EKS clusters must use encrypted Kubernetes secrets.",
        [CLUSTER],
        check_secrets_encryption,
    ),
    resource_policy(
        "eks-control-plane-logs",
        "EKS.8: EKS clusters must have audit (and API, authenticator) logging.",
        [CLUSTER],
        check_control_plane_logs,
    ),
    resource_policy(
        "eks-standard-support",
        "EKS.2: EKS clusters must run a supported Kubernetes version (standard support, not extended).",
        [CLUSTER],
        check_standard_support,
    ),
    resource_policy(
        "eks-addon-version-pinned",
        "Relay (no FSBP control): EKS managed add-ons must pin their build.",
        [ADDON],
        check_addon_version,
    ),
]
