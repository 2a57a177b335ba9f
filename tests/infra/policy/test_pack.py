"""The pack as a whole: loadable by the CLI, every policy mandatory and exercised, config safe."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pulumi_policy import EnforcementLevel
from relay_policies import PACK_NAME, POLICIES
from relay_policies.thresholds import PolicyConfigError

from . import (
    test_cloudfront,
    test_compute,
    test_ecr,
    test_eks,
    test_elasticache,
    test_kubernetes,
    test_load_balancer,
    test_network,
    test_observability,
    test_rds,
    test_s3,
    test_waf,
)
from .compliant_stack import compliant_stack
from .harness import POLICY_DIR, config_for, policy, run_pack, run_policy, stack_config
from .weakening import DELETE, Weakening

REPO = POLICY_DIR.parents[1]
ALL_CASES = [
    case
    for module in (
        test_rds,
        test_elasticache,
        test_s3,
        test_cloudfront,
        test_compute,
        test_ecr,
        test_load_balancer,
        test_waf,
        test_eks,
        test_network,
        test_observability,
        test_kubernetes,
    )
    for case in module.CASES
]
CONTROL = re.compile(
    r"^([A-Za-z0-9]+\.\d+(/[A-Za-z0-9]+\.\d+)*|Relay \(no FSBP control\)|Pod Security Standards \w+ "
    r"\(no FSBP control\)):"
)
# Only reliability and cost settings may be relaxed per stack; never encryption, public access, TLS or WAF.
RELAXABLE = {
    "rds-multi-az",
    "rds-deletion-protection",
    "rds-backup-retention",
    "elasticache-automatic-failover",
    "elasticache-multi-az",
    "elasticache-snapshot-retention",
    "alb-deletion-protection",
    "vpc-nat-gateway-per-az",
    "log-group-retention",
}


def test_pack_has_at_least_thirty_uniquely_named_mandatory_policies():
    names = [p.name for p in POLICIES]
    assert len(names) >= 30
    assert len(set(names)) == len(names), (
        f"duplicate policy names: {sorted(n for n in names if names.count(n) > 1)}"
    )
    assert all(p.enforcement_level == EnforcementLevel.MANDATORY for p in POLICIES)


def test_every_description_cites_its_control():
    uncited = [p.description for p in POLICIES if not CONTROL.match(p.description)]
    assert not uncited, f"descriptions must start with the FSBP control id (or say there is none): {uncited}"


def test_every_policy_has_a_weakened_variant_that_fires():
    untested = {p.name for p in POLICIES} - {c.policy for c in ALL_CASES}
    assert not untested, f"policies without a weakened-variant test: {sorted(untested)}"


@pytest.mark.parametrize("stack", ["prod", "staging", None])
def test_compliant_stack_passes_every_policy(stack):
    assert run_pack(compliant_stack(), stack) == []


def test_only_reliability_settings_have_config():
    configurable = {p.name for p in POLICIES if p.config_schema is not None}
    assert configurable == RELAXABLE


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_stack_config_relaxes_only_relaxable_policies_and_never_enforcement(stack):
    config = stack_config(stack)
    assert set(config) <= RELAXABLE, f"{stack}.json configures {sorted(set(config) - RELAXABLE)}"
    assert not any("enforcementLevel" in entry for entry in config.values())


def test_prod_config_is_the_strict_default():
    for rule in POLICIES:
        if rule.config_schema is None:
            continue
        defaults = {k: v["default"] for k, v in rule.config_schema.properties.items()}
        assert config_for(rule.name, "prod") == defaults, f"prod.json relaxes {rule.name}"


def test_staging_relaxes_multi_az_but_never_encryption():
    no_standby = Weakening("rds-multi-az", "relay-db", "multiAz", False, "multiAz").apply(compliant_stack())
    unencrypted = Weakening("rds-storage-encrypted", "relay-db", "storageEncrypted", False, "x").apply(
        compliant_stack()
    )
    assert run_policy(policy("rds-multi-az"), no_standby, "staging") == []
    assert run_policy(policy("rds-multi-az"), no_standby, "prod")
    assert run_policy(policy("rds-storage-encrypted"), unencrypted, "staging")


def test_staging_still_requires_seven_days_of_backups():
    six_days = Weakening("rds-backup-retention", "relay-db", "backupRetentionPeriod", 6, "x").apply(
        compliant_stack()
    )
    found = run_policy(policy("rds-backup-retention"), six_days, "staging")
    assert found and "at least 7 days" in found[0].message


def test_retention_minimum_below_the_floor_is_refused_naming_the_key(monkeypatch):
    monkeypatch.setitem(stack_config("staging"), "log-group-retention", {"minimumDays": 3})
    with pytest.raises(PolicyConfigError, match=r"log-group-retention\.minimumDays is 3.*Fix"):
        run_policy(policy("log-group-retention"), compliant_stack(), "staging")


def test_unset_properties_count_as_their_aws_defaults():
    unset_public_cidrs = Weakening(
        "eks-endpoint-access", "relay-eks", "vpcConfig.publicAccessCidrs", DELETE, "x"
    )
    found = run_policy(policy("eks-endpoint-access"), unset_public_cidrs.apply(compliant_stack()), "prod")
    assert found and "0.0.0.0/0" in found[0].message


def test_policy_pack_yaml_declares_python_runtime_version_and_existing_virtualenv():
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    # The CLI's PolicyPackProject fields; a Python pack's name comes from PolicyPack(name=...).
    assert set(project) <= {"runtime", "version", "main", "description", "author", "website", "license"}
    assert project["runtime"]["name"] == "python"
    assert re.fullmatch(r"\d+\.\d+\.\d+", project["version"])
    assert (POLICY_DIR / project["runtime"]["options"]["virtualenv"]).resolve() == REPO / ".venv"
    assert re.fullmatch(r"[a-zA-Z0-9-_.]{1,100}", PACK_NAME)


def test_main_only_constructs_the_pack():
    """Building PolicyPack starts the analyzer server and blocks, so __main__.py does nothing else."""
    tree = ast.parse((POLICY_DIR / "__main__.py").read_text())
    body = [node for node in tree.body if not isinstance(node, ast.Import | ast.ImportFrom)]
    docstring, call = body
    assert isinstance(docstring, ast.Expr) and isinstance(docstring.value, ast.Constant)
    assert (
        isinstance(call, ast.Expr) and isinstance(call.value, ast.Call) and call.value.func.id == "PolicyPack"
    )


def test_pack_requirements_match_the_repository_pins():
    def pins(path: Path) -> set[str]:
        return {
            line.strip()
            for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        }

    assert pins(POLICY_DIR / "requirements.txt") <= pins(REPO / "requirements.txt")


def test_readme_table_lists_every_policy_with_its_control():
    rows = {
        cells[1]: cells[2]
        for line in (POLICY_DIR / "README.md").read_text().splitlines()
        if line.startswith("| ") and len(cells := [c.strip() for c in line.split("|")]) > 3
    }
    for rule in POLICIES:
        control = rule.description.split(":")[0]
        assert rule.name in rows, f"README.md table misses {rule.name}"
        assert control.startswith("Relay") or control.startswith("Pod") or rows[rule.name] == control


@pytest.mark.parametrize("target", ["preview", "deploy"])
def test_make_preview_and_deploy_pass_the_pack_and_the_stack_config(target):
    plan = subprocess.run(
        ["make", "-n", target, "STACK=staging"], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "--policy-pack infra/policy --policy-pack-config infra/policy/config/staging.json" in plan.stdout


ENTRY_POINT = """
import runpy, sys
import pulumi_policy.policy as sdk

class ServerWouldStart(Exception):
    pass

def refuse_to_serve(*args, **kwargs):  # PolicyPack validated the pack and is about to bind 0.0.0.0
    raise ServerWouldStart

sdk.grpc.server = refuse_to_serve
try:
    runpy.run_path(sys.argv[1], run_name="__main__")  # what `python -m pulumi.policy` does
except ServerWouldStart:
    print("pack accepted")
"""


def test_pack_directory_runs_as_the_cli_runs_it_up_to_serving():
    """`pulumi-analyzer-policy-python` runs the directory with runpy; the SDK must accept the pack."""
    done = subprocess.run(
        [sys.executable, "-c", ENTRY_POINT, str(POLICY_DIR)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.strip() == "pack accepted", done.stderr
