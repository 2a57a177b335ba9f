"""Network: three zones, three tiers, NAT per zone in prod, flow logs, no open default group."""

import json

from infra.network import INTERFACE_ENDPOINTS
from tests.infra.resources import by_output, config, of_type, single


def subnets(run, tier):
    return [s for s in of_type(run, "aws:ec2/subnet:Subnet") if f"-{tier}-" in s.name]


def test_vpc_spans_three_zones_with_public_private_and_database_subnets(stack_run):
    zones = set(json.loads(config(stack_run, "availabilityZones")))
    for tier in ("public", "private", "database"):
        tier_subnets = subnets(stack_run, tier)
        assert {s.inputs["availabilityZone"] for s in tier_subnets} == zones, (
            f"{tier} subnets must cover every zone"
        )


def test_subnets_are_tagged_for_the_clusters_load_balancers(stack_run):
    cluster_tag = f"kubernetes.io/cluster/relay-{stack_run.stack}"
    for subnet in subnets(stack_run, "public"):
        assert subnet.inputs["tags"]["kubernetes.io/role/elb"] == "1", subnet.urn
        assert subnet.inputs["tags"][cluster_tag] == "shared", subnet.urn
        assert subnet.inputs.get("mapPublicIpOnLaunch") is False, f"{subnet.urn}: no public IPs by default"
    for subnet in subnets(stack_run, "private"):
        assert subnet.inputs["tags"]["kubernetes.io/role/internal-elb"] == "1", subnet.urn


def test_prod_has_a_nat_gateway_per_zone_and_staging_one(prod_run, staging_run):
    assert len(of_type(prod_run, "aws:ec2/natGateway:NatGateway")) == 3
    assert len(of_type(staging_run, "aws:ec2/natGateway:NatGateway")) == 1


def test_database_subnets_have_no_route_out(stack_run):
    table = single(stack_run, "aws:ec2/routeTable:RouteTable", "-database-rt")
    assert not table.inputs.get("routes"), f"{table.urn}: database subnets must not reach the internet"
    associations = [
        a
        for a in of_type(stack_run, "aws:ec2/routeTableAssociation:RouteTableAssociation")
        if a.inputs["routeTableId"] == table.id
    ]
    assert {a.inputs["subnetId"] for a in associations} == {s.id for s in subnets(stack_run, "database")}


def test_private_subnets_leave_through_nat_only(stack_run):
    nat_ids = {n.id for n in of_type(stack_run, "aws:ec2/natGateway:NatGateway")}
    for table in of_type(stack_run, "aws:ec2/routeTable:RouteTable"):
        if "-private-rt-" in table.name:
            assert [r["natGatewayId"] for r in table.inputs["routes"]] and all(
                r["natGatewayId"] in nat_ids and "gatewayId" not in r for r in table.inputs["routes"]
            ), table.urn


def test_flow_logs_record_all_traffic_with_retention(stack_run):
    flow_log = single(stack_run, "aws:ec2/flowLog:FlowLog")
    assert flow_log.inputs["trafficType"] == "ALL"
    group = by_output(stack_run, "arn")[flow_log.inputs["logDestination"]]
    assert group.inputs["retentionInDays"] == int(config(stack_run, "logRetentionDays"))


def test_default_security_group_allows_nothing(stack_run):
    group = single(stack_run, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert group.inputs.get("ingress", []) == [] and group.inputs.get("egress", []) == [], group.urn


def test_s3_traffic_uses_a_gateway_endpoint(stack_run):
    (endpoint,) = [
        e
        for e in of_type(stack_run, "aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Gateway"
    ]
    assert endpoint.inputs["serviceName"] == f"com.amazonaws.{config(stack_run, 'region')}.s3"
    private_tables = {
        t.id for t in of_type(stack_run, "aws:ec2/routeTable:RouteTable") if "-private-rt-" in t.name
    }
    assert set(endpoint.inputs["routeTableIds"]) == private_tables


def test_image_pulls_tokens_logs_and_secrets_stay_off_the_nat_gateways(stack_run):
    region = config(stack_run, "region")
    interfaces = {
        e.inputs["serviceName"].removeprefix(f"com.amazonaws.{region}."): e
        for e in of_type(stack_run, "aws:ec2/vpcEndpoint:VpcEndpoint")
        if e.inputs["vpcEndpointType"] == "Interface"
    }
    assert (
        set(interfaces) == set(INTERFACE_ENDPOINTS) >= {"ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager"}
    )
    private = {s.id for s in of_type(stack_run, "aws:ec2/subnet:Subnet") if "-private-" in s.name}
    for service, endpoint in interfaces.items():
        assert endpoint.inputs["privateDnsEnabled"] is True, service
        assert set(endpoint.inputs["subnetIds"]) == private, service
        (group,) = [by_output(stack_run, "id")[g] for g in endpoint.inputs["securityGroupIds"]]
        (rule,) = group.inputs["ingress"]
        assert (rule["fromPort"], rule["cidrBlocks"]) == (443, [config(stack_run, "vpcCidr")])
