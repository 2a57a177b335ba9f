"""The program as a whole: composition, exports, providers, and the component conventions."""

import json
import re
import sys
from pathlib import Path

import pytest

from tests.infra.resources import ancestors, by_urn, plain
from tests.infra.stack_capture import REPO_ROOT, capture_run

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
