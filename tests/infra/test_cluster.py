"""Cluster: private nodes, restricted API endpoint, encrypted secrets, audited, explicit access."""

import json

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


def test_cloudwatch_observability_addon_ships_container_logs(stack_run):
    addon = single(stack_run, "aws:eks/addon:Addon")
    assert addon.inputs["addonName"] == "amazon-cloudwatch-observability"
    cluster_name = single(stack_run, CLUSTER).inputs["name"]
    groups = {g.inputs["name"]: g for g in of_type(stack_run, "aws:cloudwatch/logGroup:LogGroup")}
    app_logs = groups[f"/aws/containerinsights/{cluster_name}/application"]
    assert app_logs.urn in addon.dependencies, "log groups exist (with retention) before the add-on writes"


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
