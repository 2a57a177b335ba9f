"""Cluster: private nodes, restricted API endpoint, encrypted secrets, audited, explicit access."""

import json

from infra import eks_versions
from tests.infra.resources import by_output, by_urn, config, of_type, single

CLUSTER = "aws:eks/cluster:Cluster"
ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/"


def test_api_endpoint_is_private_plus_public_only_from_configured_cidrs(stack_run):
    vpc = single(stack_run, CLUSTER).inputs["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True and vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == json.loads(config(stack_run, "eksPublicAccessCidrs"))
    assert "0.0.0.0/0" not in vpc["publicAccessCidrs"]
    assert all("-private-" in by_output(stack_run, "id")[s].name for s in vpc["subnetIds"])


def test_secrets_are_envelope_encrypted_with_kms(stack_run):
    cluster = single(stack_run, CLUSTER)
    (encryption,) = [cluster.inputs["encryptionConfig"]]
    assert encryption["resources"] == ["secrets"]
    key = by_output(stack_run, "arn")[encryption["provider"]["keyArn"]]
    assert key.inputs["enableKeyRotation"] is True


def test_control_plane_logs_go_to_a_precreated_group_with_retention(stack_run):
    cluster = single(stack_run, CLUSTER)
    assert set(cluster.inputs["enabledClusterLogTypes"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    group = next(
        g
        for g in of_type(stack_run, "aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    )
    assert group.inputs["retentionInDays"] == int(config(stack_run, "logRetentionDays"))
    assert group.urn in cluster.dependencies
    assert cluster.inputs["deletionProtection"] is True and cluster.protect


def test_access_is_granted_by_access_entries_from_config_only(stack_run):
    cluster = single(stack_run, CLUSTER)
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    grants = {
        (
            a.inputs["principalArn"],
            a.inputs["policyArn"].removeprefix(ACCESS_POLICY),
            a.inputs["accessScope"]["type"],
        )
        for a in of_type(stack_run, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    }
    deployer, oncall = config(stack_run, "eksDeployerRoleArn"), config(stack_run, "eksOncallRoleArn")
    assert grants == {
        (deployer, "AmazonEKSClusterAdminPolicy", "cluster"),
        (oncall, "AmazonEKSAdminViewPolicy", "cluster"),
        (oncall, "AmazonEKSEditPolicy", "namespace"),
    }
    entries = {e.inputs["principalArn"] for e in of_type(stack_run, "aws:eks/accessEntry:AccessEntry")}
    assert entries == {deployer, oncall}


def test_nodes_run_in_private_subnets_with_the_configured_sizes(stack_run):
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup")
    i = nodes.inputs
    assert all("-private-" in by_output(stack_run, "id")[s].name for s in i["subnetIds"])
    assert i["scalingConfig"] == {
        "minSize": int(config(stack_run, "eksNodeMinSize")),
        "desiredSize": int(config(stack_run, "eksNodeDesiredSize")),
        "maxSize": int(config(stack_run, "eksNodeMaxSize")),
    }
    assert i["instanceTypes"] == json.loads(config(stack_run, "eksNodeInstanceTypes"))


def test_oidc_provider_enables_irsa(stack_run):
    oidc = single(stack_run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert oidc.inputs["url"] == single(stack_run, CLUSTER).outputs["identities"][0]["oidcs"][0]["issuer"]


def addon(run, addon_name):
    (found,) = [a for a in of_type(run, "aws:eks/addon:Addon") if a.inputs["addonName"] == addon_name]
    return found


def test_cloudwatch_observability_addon_ships_container_logs(stack_run):
    addon_ = addon(stack_run, "amazon-cloudwatch-observability")
    cluster_name = single(stack_run, CLUSTER).inputs["name"]
    groups = {g.inputs["name"]: g for g in of_type(stack_run, "aws:cloudwatch/logGroup:LogGroup")}
    app_logs = groups[f"/aws/containerinsights/{cluster_name}/application"]
    assert app_logs.urn in addon_.dependencies, "log groups exist (with retention) before the add-on writes"


def test_kubernetes_provider_waits_for_admin_access_and_nodes(stack_run):
    provider = single(stack_run, "pulumi:providers:kubernetes")
    dependencies = {by_urn(stack_run)[d].type for d in provider.dependencies}
    assert {
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
        "aws:eks/nodeGroup:NodeGroup",
    } <= dependencies


def test_nodes_boot_with_encrypted_volumes_and_imdsv2_only(stack_run):
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup").inputs
    template = by_output(stack_run, "id")[nodes["launchTemplate"]["id"]]
    assert nodes["launchTemplate"]["version"] == str(template.outputs["latestVersion"])
    (volume,) = template.inputs["blockDeviceMappings"]
    assert volume["ebs"]["encrypted"] == "true"
    metadata = template.inputs["metadataOptions"]
    assert metadata["httpTokens"] == "required" and metadata["httpPutResponseHopLimit"] <= 2


def test_cluster_is_upgraded_at_the_end_of_standard_support_never_billed_for_extended(stack_run):
    cluster = single(stack_run, CLUSTER)
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}, cluster.urn
    assert cluster.inputs["version"] == config(stack_run, "eksVersion")


def test_nodes_boot_the_ami_of_their_instance_architecture(stack_run, variant_run):
    """x86 families boot the x86_64 AMI, Graviton (m7g, ...) the arm64 one, and the image follows."""
    for run, ami, platform in (
        (stack_run, "AL2023_x86_64_STANDARD", "linux/amd64"),
        (variant_run, "AL2023_ARM_64_STANDARD", "linux/arm64"),
    ):
        nodes = single(run, "aws:eks/nodeGroup:NodeGroup").inputs
        assert nodes["amiType"] == ami, nodes["instanceTypes"]
        assert single(run, "docker-build:index:Image").inputs["platforms"] == [platform]


def test_pods_cannot_take_the_node_role(stack_run):
    """IMDS answers the node only (hop limit 1); the add-ons that call AWS have IRSA roles, so the
    node role keeps no CNI or CloudWatch permissions for a pod to borrow."""
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup").inputs
    template = by_output(stack_run, "id")[nodes["launchTemplate"]["id"]]
    assert template.inputs["metadataOptions"]["httpPutResponseHopLimit"] == 1
    node_role = by_output(stack_run, "arn")[nodes["nodeRoleArn"]]
    node_policies = {
        a.inputs["policyArn"].rsplit("/", 1)[1]
        for a in of_type(stack_run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == node_role.outputs["name"]
    }
    assert node_policies.isdisjoint({"AmazonEKS_CNI_Policy", "CloudWatchAgentServerPolicy"}), node_policies
    for addon_name, service_account, policy in (
        ("vpc-cni", "system:serviceaccount:kube-system:aws-node", "AmazonEKS_CNI_Policy"),
        (
            "amazon-cloudwatch-observability",
            "system:serviceaccount:amazon-cloudwatch:cloudwatch-agent",
            "CloudWatchAgentServerPolicy",
        ),
    ):
        role = by_output(stack_run, "arn")[addon(stack_run, addon_name).inputs["serviceAccountRoleArn"]]
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert service_account in trust["Condition"]["StringEquals"].values(), addon_name
        attached = {
            a.inputs["policyArn"].rsplit("/", 1)[1]
            for a in of_type(stack_run, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if a.inputs["role"] == role.outputs["name"]
        }
        assert attached == {policy}, addon_name


def test_managed_addons_run_the_builds_pinned_for_the_cluster_version(stack_run):
    pins = eks_versions.PINS[config(stack_run, "eksVersion")].addons
    addons = {a.inputs["addonName"]: a for a in of_type(stack_run, "aws:eks/addon:Addon")}
    assert {name: a.inputs["addonVersion"] for name, a in addons.items()} == pins
    assert set(pins) >= {"vpc-cni", "coredns", "kube-proxy", "eks-pod-identity-agent", "metrics-server"}
    assert json.loads(addons["vpc-cni"].inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup")
    networking = {"vpc-cni", "kube-proxy", "eks-pod-identity-agent"}
    for name, addon_ in addons.items():
        # Pod networking before nodes join; everything else after, on the nodes.
        waits_for_nodes = nodes.urn in addon_.dependencies
        assert waits_for_nodes is (name not in networking), name
        assert (
            addon_.urn in nodes.dependencies or by_urn(stack_run)[addon_.parent].urn in nodes.dependencies
        ) is (name in networking), name


def test_the_lb_controller_chart_supports_the_cluster_version(stack_run):
    release = single(stack_run, "kubernetes:helm.sh/v3:Release", "-lb-controller-release")
    minimum = eks_versions.PINS[config(stack_run, "eksVersion")].minimum_lb_controller_chart
    assert eks_versions.parse(release.inputs["version"]) >= minimum
