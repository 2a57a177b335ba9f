"""The program as a whole: composition, exports, providers, and the component conventions."""

import ast
import json
import re
import sys
from pathlib import Path

import pytest

from infra.evaluation.stack_capture import REPO_ROOT, capture_run, stack_config
from tests.infra.resources import ancestors, by_urn, plain, single

COMPONENT_TOKEN = re.compile(r"^relay:(?P<module>[a-z_]+):(?P<cls>[A-Z][A-Za-z]+)$")


def test_program_exports_what_operators_need(stack_run):
    exports = stack_run.exports
    domain = {"prod": "relay.example.com", "staging": "staging.relay.example.com"}[stack_run.stack]
    assert exports["appUrl"] == f"https://{domain}"
    assert exports["filesDomain"] == f"files.{domain}"
    assert exports["clusterName"] == f"relay-{stack_run.stack}"
    assert exports["databaseEndpoint"].endswith(":5432")
    assert exports["alarmTopicArn"].startswith("arn:aws:sns:")
    assert exports["dashboardUrl"].endswith(f"#dashboards:name=relay-{stack_run.stack}-overview")
    assert '"command": "aws"' in exports["kubeconfig"]


def test_kubeconfig_is_exported_as_a_secret(stack_run):
    assert "kubeconfig" in stack_run.secret_exports


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_resource_is_created_inside_an_apply(stack, request):
    """Under preview, computed outputs are unknown and applies do not run: a resource declared
    inside one would be missing from `pulumi preview`. The preview must declare everything."""
    full = request.getfixturevalue(f"{stack}_run")
    preview = capture_run(stack, preview=True)
    assert preview.error is None, preview.error
    assert {r.urn for r in preview.resources} == {r.urn for r in full.resources}


def test_every_aws_resource_goes_through_the_tagging_provider(stack_run):
    providers = [r for r in stack_run.resources if r.type == "pulumi:providers:aws"]
    assert len(providers) == 1, "one AWS provider, so every resource gets the same default tags"
    provider = providers[0]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]  # provider config travels as JSON
    assert tags == {
        "project": "relay",
        "environment": stack_run.stack,
        "stack": stack_run.stack,
        "managed-by": "pulumi",
    }
    for resource in stack_run.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider_urn == provider.urn, (
                f"{resource.urn}: not created through {provider.urn}"
            )


def test_every_kubernetes_object_goes_to_the_cluster_provider(stack_run):
    provider = next(r for r in stack_run.resources if r.type == "pulumi:providers:kubernetes")
    assert '"current-context": "relay-' in plain(provider.inputs["kubeconfig"])
    for resource in stack_run.resources:
        if resource.type.startswith("kubernetes:"):
            assert resource.provider_urn == provider.urn, resource.urn


def test_every_cloud_resource_belongs_to_a_relay_component(stack_run):
    for resource in stack_run.resources:
        if resource.custom and resource.type != "pulumi:providers:aws":
            assert any(a.type.startswith("relay:") for a in ancestors(stack_run, resource)), resource.urn


def test_components_follow_the_type_token_and_naming_conventions(stack_run):
    index = by_urn(stack_run)
    for resource in stack_run.resources:
        if resource.custom:
            parent = index.get(resource.parent)
            assert parent is None or resource.name.startswith(f"{parent.name}-"), (
                f"{resource.urn}: child names are '<component name>-<role>'"
            )
            continue
        match = COMPONENT_TOKEN.match(resource.type)
        assert match, f"{resource.urn}: component type tokens are relay:<module>:<Class>"
        module = Path(REPO_ROOT, "infra", f"{match['module']}.py")
        assert f"class {match['cls']}(pulumi.ComponentResource)" in module.read_text(), resource.urn


def test_no_program_module_shadows_the_standard_library():
    """Pulumi puts infra/ first on sys.path: an infra/secrets.py would replace the stdlib's."""
    modules = {p.stem for p in Path(REPO_ROOT, "infra").glob("*.py")} - {"__main__"}
    assert not modules & sys.stdlib_module_names


def test_resources_the_platform_guide_targets_exist(prod_run):
    guide = Path(REPO_ROOT, "docs", "platform-engineers.md").read_text()
    targeted = re.findall(r"--target '([^']+)'", guide)
    assert set(targeted) <= {r.urn for r in prod_run.resources}


def test_the_guide_walks_the_first_deploy_the_rollback_pin_and_the_costs():
    guide = Path(REPO_ROOT, "docs", "platform-engineers.md").read_text()
    assert "pulumi config set relay:appImage " in guide and "pulumi config rm relay:appImage" in guide
    assert "docker buildx version" in guide, "Docker with buildx is a prerequisite of the build"
    costs = guide.split("## Monthly cost estimate")[1].split("\n## ")[0]
    for driver in ("NAT data", "flow logs", "Container Insights", "restore tests", "replica storage class"):
        assert driver in costs, driver
    assert "clerkSecretKey" not in guide and "clerk-secret-key" not in guide


def test_protected_resources_are_the_ones_the_guide_lists(stack_run):
    protected = {r.type for r in stack_run.resources if r.protect}
    assert protected == {
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:s3/bucket:Bucket",
        "aws:lb/loadBalancer:LoadBalancer",
        "aws:eks/cluster:Cluster",
        "aws:ecr/repository:Repository",
        "aws:kms/key:Key",
        "aws:backup/vault:Vault",
    }


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_lookups_and_resources_use_explicit_providers_as_the_stack_requires(stack):
    """The mocks refuse what the engine refuses (a default provider the stack disables); the
    program must evaluate anyway, its lookups included (`get_caller_identity`, ELB account)."""
    assert json.loads(stack_config(stack)["pulumi:disable-default-providers"])
    run = capture_run(stack)
    assert run.error is None, run.error[-800:]


def test_packages_without_default_providers_are_always_given_one(stack_run):
    """The stack YAML disables default providers; a resource relying on one would fail to deploy."""
    disabled = json.loads(stack_config(stack_run.stack)["pulumi:disable-default-providers"])
    for resource in stack_run.resources:
        package = resource.type.split(":")[0]
        if (
            resource.custom
            and not resource.type.startswith("pulumi:providers:")
            and ("*" in disabled or package in disabled)
        ):
            assert resource.provider, f"{resource.urn}: needs an explicit provider"
    assert {"aws", "kubernetes"} <= set(disabled) or "*" in disabled


def component_classes():
    for path in sorted(Path(REPO_ROOT, "infra").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(b) == "pulumi.ComponentResource" for b in node.bases
            ):
                yield path.name, node


def test_every_component_registers_its_outputs_once_at_the_end_of_init():
    classes = list(component_classes())
    assert len(classes) >= 12
    for module, cls in classes:
        init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
        calls = [
            n
            for n in ast.walk(cls)
            if isinstance(n, ast.Call) and ast.unparse(n.func) == "self.register_outputs"
        ]
        assert len(calls) == 1, f"{module}:{cls.name} calls register_outputs {len(calls)} times"
        last = init.body[-1]
        assert isinstance(last, ast.Expr) and last.value is calls[0], (
            f"{module}:{cls.name}: not the last statement"
        )


def test_every_component_takes_a_frozen_args_dataclass():
    for module, cls in component_classes():
        init = next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "__init__")
        assert [a.arg for a in init.args.args] == ["self", "name", "args", "opts"], f"{module}:{cls.name}"
        args_type = ast.unparse(init.args.args[2].annotation)
        source = Path(REPO_ROOT, "infra", module).read_text()
        assert f"@dataclass(frozen=True)\nclass {args_type}:" in source, (
            f"{module}: {args_type} must be frozen"
        )


def test_staging_is_smaller_than_prod_yet_as_protected(prod_run, staging_run):
    def sizes(run):
        db = single(run, "aws:rds/instance:Instance").inputs
        cache = single(run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs
        nats = [r for r in run.resources if r.type == "aws:ec2/natGateway:NatGateway"]
        return db["multiAz"], cache["numCacheClusters"], len(nats), db["instanceClass"]

    assert sizes(prod_run)[:3] == (True, 2, 3)
    assert sizes(staging_run)[:3] == (False, 1, 1)
    assert sizes(staging_run)[3] != sizes(prod_run)[3]
    protected = [
        {(r.type, r.name.replace(f"relay-{run.stack}-", "")) for r in run.resources if r.protect}
        for run in (prod_run, staging_run)
    ]
    assert protected[0] == protected[1]
