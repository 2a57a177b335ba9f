"""Network policies: NAT per AZ, flow logs, and no internet-open ingress but the ALB's 80/443."""

import pytest

from .compliant_stack import compliant_stack
from .harness import Resource, policy, run_policy
from .weakening import REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

OPEN_SSH = {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["0.0.0.0/0"]}
CASES = [
    Weakening(
        "vpc-nat-gateway-per-az", "relay-nat-eu-west-1b", None, REMOVE, "NatGateway", blamed="relay-vpc"
    ),
    Weakening("vpc-flow-logs", "relay-flow-log", None, REMOVE, "FlowLog", blamed="relay-vpc"),
    Weakening("security-group-no-open-ingress", "relay-db-sg", "ingress.0", OPEN_SSH, "ingress[]"),
    Weakening("security-group-no-open-ingress", "relay-alb-443", "fromPort", 0, "cidrIpv4"),
    Weakening(
        "security-group-no-open-ingress",
        "relay-db-5432",
        None,
        Resource(
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "relay-db-5432",
            {
                "securityGroupId": "sg-db",
                "ipProtocol": "tcp",
                "fromPort": 443,
                "toPort": 443,
                "cidrIpv4": "0.0.0.0/0",
            },
            {"securityGroupId": ["relay-db-sg"]},
        ),
        "cidrIpv4",
    ),
    Weakening(
        "security-group-no-open-ingress",
        "relay-nodes-ipv6",
        None,
        Resource(
            "aws:ec2/securityGroupRule:SecurityGroupRule",
            "relay-nodes-ipv6",
            {
                "type": "ingress",
                "securityGroupId": "sg-db",
                "protocol": "-1",
                "fromPort": 0,
                "toPort": 0,
                "ipv6CidrBlocks": ["::/0"],
            },
            {"securityGroupId": ["relay-db-sg"]},
        ),
        "cidrBlocks",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_network_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_a_regional_nat_gateway_covers_every_zone():
    stack = [r for r in compliant_stack() if r.type != "aws:ec2/natGateway:NatGateway"]
    regional = Resource(
        "aws:ec2/natGateway:NatGateway",
        "relay-nat",
        {"availabilityMode": "regional", "vpcId": "v"},
        {"vpcId": ["relay-vpc"]},
    )
    assert run_policy(policy("vpc-nat-gateway-per-az"), stack, "prod")
    assert run_policy(policy("vpc-nat-gateway-per-az"), [*stack, regional], "prod") == []


def test_staging_needs_one_nat_gateway_not_one_per_zone():
    one_nat = [r for r in compliant_stack() if r.name not in ("relay-nat-eu-west-1b", "relay-nat-eu-west-1c")]
    no_nat = [r for r in compliant_stack() if r.type != "aws:ec2/natGateway:NatGateway"]
    assert run_policy(policy("vpc-nat-gateway-per-az"), one_nat, "staging") == []
    assert run_policy(policy("vpc-nat-gateway-per-az"), no_nat, "staging")


def test_the_default_security_group_may_not_open_ingress_either():
    default_group = Resource(
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "relay-default-sg",
        {"vpcId": "v", "ingress": [OPEN_SSH]},
    )
    found = run_policy(policy("security-group-no-open-ingress"), [*compliant_stack(), default_group], "prod")
    assert [v.urn for v in found] == [default_group.urn]
