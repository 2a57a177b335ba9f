"""EKS node launch templates: IMDSv2 only, and encrypted root volumes.

A pod that reaches the node's metadata endpoint with IMDSv1 can take the node role's credentials
with a single GET (SSRF); the nodes' disks hold container layers and logs. Checklist: "Security
essentials".
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import get, items, shown, violation

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
# EKS AL2023 AMIs default to 2, which lets every pod reach the node role's credentials.
AMI_DEFAULT_HOP_LIMIT = 2


def check_imdsv2(args: ResourceValidationArgs) -> Iterator[str]:
    tokens = get(args.props, "metadataOptions.httpTokens")
    if tokens != "required":
        yield violation(
            args.urn,
            "metadataOptions.httpTokens",
            shown(tokens, "optional"),
            "instances must only answer token-authenticated (IMDSv2) metadata requests",
            'set metadata_options={http_tokens: "required", http_put_response_hop_limit: 1}',
        )


def check_encrypted_volumes(args: ResourceValidationArgs) -> Iterator[str]:
    for i, mapping in enumerate(items(args.props.get("blockDeviceMappings"))):
        encrypted = get(mapping, "ebs.encrypted")
        if get(mapping, "ebs") is not None and str(encrypted).lower() != "true":
            yield violation(
                args.urn,
                f"blockDeviceMappings[{i}].ebs.encrypted",
                shown(encrypted, "false, unless the account encrypts EBS by default"),
                "node volumes must be encrypted at rest",
                'set ebs={encrypted: "true", ...} (optionally kms_key_id)',
            )


def check_hop_limit(args: ResourceValidationArgs) -> Iterator[str]:
    limit = get(args.props, "metadataOptions.httpPutResponseHopLimit")
    if (AMI_DEFAULT_HOP_LIMIT if limit is None else limit) > 1:
        yield violation(
            args.urn,
            "metadataOptions.httpPutResponseHopLimit",
            shown(limit, AMI_DEFAULT_HOP_LIMIT),
            "only the node may reach instance metadata; pods one hop further would get the node role",
            "set http_put_response_hop_limit=1 and give pods that call AWS an IRSA role",
        )


POLICIES = [
    resource_policy(
        "ec2-launch-template-imdsv2",
        "EC2.170: EC2 launch templates must require IMDSv2.",
        [LAUNCH_TEMPLATE],
        check_imdsv2,
    ),
    resource_policy(
        "ec2-launch-template-encrypted-volumes",
        "EC2.3: EBS volumes launched from templates must be encrypted at rest.",
        [LAUNCH_TEMPLATE],
        check_encrypted_volumes,
    ),
    resource_policy(
        "ec2-launch-template-imds-hop-limit",
        "Relay (no FSBP control): node launch templates must keep instance metadata to the node "
        "(hop limit 1).",
        [LAUNCH_TEMPLATE],
        check_hop_limit,
    ),
]
