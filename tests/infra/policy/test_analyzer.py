"""The pack served through the SDK's own analyzer, as `pulumi preview --policy-pack` drives it.

The engine talks gRPC to `_PolicyAnalyzerServicer` (GetAnalyzerInfo, Configure, Analyze,
AnalyzeStack); these tests call the same servicer methods with the same protobuf messages, minus
the socket (`PolicyPack` would bind 0.0.0.0 and block).
"""

import pytest
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
from relay_policies import PACK_NAME, POLICIES

from .compliant_stack import compliant_stack
from .harness import Resource, stack_config

LEVELS = {"advisory": proto.ADVISORY, "mandatory": proto.MANDATORY}


def struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


@pytest.fixture
def analyzer():
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", POLICIES, EnforcementLevel.MANDATORY)


def configure(analyzer, stack: str) -> None:
    policy_config = {
        name: proto.PolicyConfig(enforcementLevel=proto.MANDATORY, properties=struct(values))
        for name, values in stack_config(stack).items()
    }
    analyzer.Configure(proto.ConfigureAnalyzerRequest(policyConfig=policy_config), None)


def analyze(analyzer, resource: Resource):
    request = proto.AnalyzeRequest(
        type=resource.type,
        properties=struct(resource.props),
        urn=resource.urn,
        name=resource.name,
        options=proto.AnalyzerResourceOptions(),
    )
    return analyzer.Analyze(request, None).diagnostics


def database(**changes) -> Resource:
    db = next(r for r in compliant_stack() if r.name == "relay-db")
    db.props.update(changes)
    return db


def test_engine_sees_every_policy_as_mandatory_with_its_config_schema(analyzer):
    info = analyzer.GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert {p.name for p in info.policies} == {p.name for p in POLICIES}
    assert {p.enforcementLevel for p in info.policies} == {proto.MANDATORY}
    assert {p.name for p in info.policies if p.HasField("configSchema")} == set(stack_config("staging"))


def test_weakened_database_is_a_mandatory_diagnostic_naming_property_and_fix(analyzer):
    configure(analyzer, "prod")
    diagnostics = analyze(analyzer, database(storageEncrypted=False))
    assert [d.policyName for d in diagnostics] == ["rds-storage-encrypted"]
    assert diagnostics[0].enforcementLevel == proto.MANDATORY
    assert "storageEncrypted" in diagnostics[0].message and "Fix: " in diagnostics[0].message


def test_staging_config_relaxes_multi_az_through_configure(analyzer):
    configure(analyzer, "staging")
    assert analyze(analyzer, database(multiAz=False)) == []
    configure(analyzer, "prod")
    assert [d.policyName for d in analyze(analyzer, database(multiAz=False))] == ["rds-multi-az"]


def test_stack_policies_follow_property_dependencies_sent_by_the_engine(analyzer):
    configure(analyzer, "prod")
    stack = [r for r in compliant_stack() if r.name != "relay-alb-waf-association"]
    urns = {r.name: r.urn for r in stack}
    resources = [
        proto.AnalyzerResource(
            type=r.type,
            properties=struct(r.props),
            urn=r.urn,
            name=r.name,
            options=proto.AnalyzerResourceOptions(),
            propertyDependencies={
                p: proto.AnalyzerPropertyDependencies(urns=[urns[n] for n in names if n in urns])
                for p, names in r.deps.items()
            },
        )
        for r in stack
    ]
    diagnostics = analyzer.AnalyzeStack(proto.AnalyzeStackRequest(resources=resources), None).diagnostics
    assert [(d.policyName, d.urn) for d in diagnostics] == [("waf-attached", urns["relay-alb"])]
