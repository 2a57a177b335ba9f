"""EKS policies: each weakened cluster setting is refused with the resource, property and fix."""

import pytest

from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix, violations_of

EKS = "relay-eks"
CASES = [
    Weakening("eks-endpoint-access", EKS, "vpcConfig.endpointPrivateAccess", DELETE, "endpointPrivateAccess"),
    Weakening("eks-endpoint-access", EKS, "vpcConfig.publicAccessCidrs", ["0.0.0.0/0"], "publicAccessCidrs"),
    Weakening("eks-endpoint-access", EKS, "vpcConfig.publicAccessCidrs", DELETE, "publicAccessCidrs"),
    Weakening("eks-secrets-encryption", EKS, "encryptionConfig", DELETE, "encryptionConfig"),
    Weakening("eks-secrets-encryption", EKS, "encryptionConfig.resources", [], "encryptionConfig"),
    Weakening("eks-control-plane-logs", EKS, "enabledClusterLogTypes", ["api"], "enabledClusterLogTypes"),
    Weakening("eks-standard-support", EKS, "upgradePolicy", DELETE, "upgradePolicy.supportType"),
    Weakening(
        "eks-standard-support", EKS, "upgradePolicy.supportType", "EXTENDED", "upgradePolicy.supportType"
    ),
    Weakening("eks-addon-version-pinned", "relay-vpc-cni", "addonVersion", DELETE, "addonVersion"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_cluster_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_messages_print_nested_values_not_proxies():
    case = Weakening("eks-secrets-encryption", EKS, "encryptionConfig.resources", [], "encryptionConfig")
    found, _ = violations_of(case)
    assert "'provider': {'keyArn': 'arn:aws:kms:key'}" in found[0].message
