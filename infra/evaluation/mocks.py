"""Pulumi mocks for Relay: the cloud boundary, and nothing else.

`RelayMocks` returns each resource's inputs as its outputs plus the few computed values the
program reads (ARNs, endpoints, OIDC issuer, certificate validation records), in the shape the
providers return them. `RecordingMonitor` keeps what the engine would see: parent, provider,
dependencies and resource options, which `MockResourceArgs` does not carry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

ACCOUNT_ID = "111111111111"
CLUSTER_SECURITY_GROUP_ID = "sg-0c1u5t3r5ecur1ty"


def _arn(args: MockResourceArgs) -> str:
    service = args.typ.split(":")[1].split("/")[0]
    region = args.inputs.get("region", "eu-west-1")
    return f"arn:aws:{service}:{region}:{ACCOUNT_ID}:{args.typ.rsplit(':', 1)[1].lower()}/{args.name}"


def _computed(args: MockResourceArgs) -> dict[str, Any]:
    """Values AWS computes that the program reads, keyed by resource type."""
    inputs, name = args.inputs, args.name
    if args.typ == "aws:eks/cluster:Cluster":
        return {
            "endpoint": f"https://{name}.gr7.eu-west-1.eks.amazonaws.com",
            "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"},
            "identities": [
                {"oidcs": [{"issuer": f"https://oidc.eks.eu-west-1.amazonaws.com/id/{name.upper()}"}]}
            ],
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": CLUSTER_SECURITY_GROUP_ID},
        }
    if args.typ == "aws:rds/instance:Instance":
        address = f"{inputs.get('identifier', name)}.abcdefghijkl.eu-west-1.rds.amazonaws.com"
        return {
            "address": address,
            "endpoint": f"{address}:5432",
            "port": 5432,
            # RDS picks the newest minor of the requested major.
            "engineVersionActual": f"{inputs.get('engineVersion')}.4",
            "masterUserSecrets": [
                {"secretArn": f"arn:aws:secretsmanager:eu-west-1:{ACCOUNT_ID}:secret:rds!db"}
            ],
        }
    if args.typ == "aws:elasticache/replicationGroup:ReplicationGroup":
        return {"primaryEndpointAddress": f"master.{name}.abcdef.euw1.cache.amazonaws.com"}
    if args.typ == "aws:lb/loadBalancer:LoadBalancer":
        return {
            "dnsName": f"{name}-123456.eu-west-1.elb.amazonaws.com",
            "zoneId": "Z32O12XQLNTSW2",
            "arnSuffix": f"app/{name}/50dc6c495c0c9188",
        }
    if args.typ == "aws:lb/targetGroup:TargetGroup":
        return {"arnSuffix": f"targetgroup/{name}/73e2d6bc24d8a067"}
    if args.typ == "aws:cloudfront/distribution:Distribution":
        return {"domainName": "d111111abcdef8.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"}
    if args.typ == "aws:acm/certificate:Certificate":
        domains = [inputs["domainName"], *inputs.get("subjectAlternativeNames", [])]
        return {
            "domainValidationOptions": [
                {
                    "domainName": d,
                    "resourceRecordName": f"_x1.{d}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": "_x2.acm-validations.aws.",
                }
                for d in domains
            ]
        }
    if args.typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket", name)
        return {"bucket": bucket, "bucketRegionalDomainName": f"{bucket}.s3.eu-west-1.amazonaws.com"}
    if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {"latestVersion": 1}
    if args.typ == "aws:ecr/repository:Repository":
        return {
            "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.eu-west-1.amazonaws.com/{inputs['name']}",
            "registryId": ACCOUNT_ID,
        }
    if args.typ == "docker-build:index:Image":
        # BuildKit's manifest digest: here a hash of what was asked for, so new inputs, new digest.
        digest = (
            "sha256:" + hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()
        )
        tag = inputs["tags"][0]
        return {"digest": digest, "ref": f"{tag}@{digest}"}
    if args.typ == "aws:route53/record:Record":
        return {"fqdn": str(inputs.get("name", "")).rstrip(".")}
    if args.typ == "aws:route53/healthCheck:HealthCheck":
        return {"id": f"{name}-hc"}
    if args.typ == "random:index/randomPassword:RandomPassword":
        return {"result": "Mock0nlyPassw0rdForTests" + "x" * max(0, int(inputs.get("length", 24)) - 24)}
    return {}


def refusal(package: str, what: str) -> str:
    """The engine's words when a default provider is disabled (pkg/resource/deploy/providers)."""
    return f"Default provider for '{package}' disabled. '{what}' must use an explicit provider."


class RelayMocks(pulumi.runtime.Mocks):
    """`preview=True` behaves like `pulumi preview`: computed outputs stay unknown.

    `disabled_default_providers` is the stack's `pulumi:disable-default-providers`: like the engine,
    the mocks then refuse any resource or invoke of those packages that names no provider.
    """

    def __init__(self, preview: bool = False, disabled_default_providers: tuple[str, ...] = ()):
        self.preview = preview
        self.disabled = disabled_default_providers

    def _refuse_default_provider(self, token: str, provider: str | None, what: str) -> None:
        package = token.split(":", 1)[0]
        if not provider and ("*" in self.disabled or package in self.disabled):
            raise Exception(refusal(package, what))

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.custom and not args.typ.startswith("pulumi:providers:"):
            self._refuse_default_provider(args.typ, args.provider, args.name)
        # Auto-named resources get their logical name, as the provider's autonaming would.
        defaults = {"arn": _arn(args), "name": args.name}
        computed = {**{k: v for k, v in defaults.items() if k not in args.inputs}, **_computed(args)}
        if self.preview:
            return "", {**args.inputs, **dict.fromkeys(computed, rpc.UNKNOWN)}
        return f"{args.typ.rsplit(':', 1)[1].lower()}-{args.name}", {**args.inputs, **computed}

    def call(self, args: MockCallArgs) -> dict[str, Any]:
        self._refuse_default_provider(args.token, args.provider, args.token)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/ci", "userId": "AIDA0"}
        if args.token == "aws:elb/getServiceAccount:getServiceAccount":
            return {"arn": "arn:aws:iam::156460612806:root", "id": "156460612806"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            endpoint = f"https://{args.args.get('registryId', ACCOUNT_ID)}.dkr.ecr.eu-west-1.amazonaws.com"
            return {"proxyEndpoint": endpoint, "userName": "AWS", "password": "mock-ecr-token", "id": "x"}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}
        return {}


class RecordingMonitor(MockMonitor):
    """A MockMonitor that also keeps each registration's options and the stack's exports."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[dict[str, Any]] = []
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                {
                    "type": request.type,
                    "name": request.name,
                    "urn": response.urn,
                    "id": response.id,
                    "import_id": request.importId,
                    "custom": request.custom,
                    "parent": request.parent,
                    "provider": request.provider,
                    "dependencies": list(request.dependencies),
                    "property_dependencies": {
                        k: list(v.urns) for k, v in request.propertyDependencies.items()
                    },
                    "protect": request.protect,
                    "retain_on_delete": request.retainOnDelete,
                    "delete_before_replace": request.deleteBeforeReplace,
                    "ignore_changes": list(request.ignoreChanges),
                    "replace_on_changes": list(request.replaceOnChanges),
                    "inputs": rpc.deserialize_properties(request.object),
                    "outputs": self.resources[response.urn].state,
                }
            )
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[2] == "pulumi:pulumi:Stack":
            exports = rpc.deserialize_properties(request.outputs, keep_unknowns=True)
            self.stack_outputs = {
                "values": {k: rpc.unwrap_rpc_secret(v) for k, v in exports.items()},
                "secret": sorted(k for k, v in exports.items() if rpc.is_rpc_secret(v)),
            }
        return super().RegisterResourceOutputs(request)
