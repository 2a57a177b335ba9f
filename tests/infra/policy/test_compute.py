"""Launch template policies: IMDSv1 and unencrypted node volumes are refused by name."""

import pytest

from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

TEMPLATE = "relay-node-template"
CASES = [
    Weakening("ec2-launch-template-imdsv2", TEMPLATE, "metadataOptions.httpTokens", "optional", "httpTokens"),
    Weakening("ec2-launch-template-imdsv2", TEMPLATE, "metadataOptions", DELETE, "httpTokens"),
    Weakening(
        "ec2-launch-template-encrypted-volumes",
        TEMPLATE,
        "blockDeviceMappings.0.ebs.encrypted",
        "false",
        "blockDeviceMappings[0].ebs.encrypted",
    ),
    Weakening(
        "ec2-launch-template-encrypted-volumes",
        TEMPLATE,
        "blockDeviceMappings.0.ebs.encrypted",
        DELETE,
        "blockDeviceMappings[0].ebs.encrypted",
    ),
    Weakening(
        "ec2-launch-template-imds-hop-limit",
        TEMPLATE,
        "metadataOptions.httpPutResponseHopLimit",
        2,
        "httpPutResponseHopLimit",
    ),
    Weakening(
        "ec2-launch-template-imds-hop-limit",
        TEMPLATE,
        "metadataOptions.httpPutResponseHopLimit",
        DELETE,
        "httpPutResponseHopLimit",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_launch_template_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
