"""`rollback app`: the ECR lookup against the emulator; `pulumi`/`kubectl` through recording fakes.

The fakes only record command lines: these tests do not show that a real Pulumi engine or
cluster accepts them.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from runbooks import rollback_app
from runbooks.stack import REPO_ROOT

REPOSITORY = "relay-prod"  # infra/registry.py names the repository after the stack prefix


def push(ecr, tag: str) -> str:
    manifest = json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "tag": tag}
    )
    return ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag=tag)["image"]["imageId"][
        "imageDigest"
    ]


@pytest.fixture
def images(boto, tmp_path):
    """Three releases pushed a second apart; the stack config runs the newest."""
    ecr = boto("ecr")
    url = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    digests = [push(ecr, "v1")]
    for tag in ("v2", "v3"):
        time.sleep(1.05)  # ECR's imagePushedAt has one-second resolution in the emulator
        digests.append(push(ecr, tag))
    config = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["relay:appImage"] = f"{url}@{digests[-1]}"
    stack_file = tmp_path / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    return {"url": url, "digests": digests, "stack_file": str(stack_file)}


def test_previous_is_the_image_pushed_before_the_current_one(aws, images, fake_tools, capsys):
    code = rollback_app.main(
        ["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous", "--apply", "--json"]
    )
    assert code == 0, capsys.readouterr().err
    target = f"{images['url']}@{images['digests'][1]}"
    assert fake_tools.calls() == [
        ["pulumi", "config", "set", "relay:appImage", target, "--stack", "prod"],
        ["pulumi", "up", "--stack", "prod", "--yes", "--policy-pack", "infra/policy",
         "--policy-pack-config", "infra/policy/config/prod.json"],
    ]  # fmt: skip
    record = json.loads(capsys.readouterr().out)
    assert record["before"] == {"appImage": f"{images['url']}@{images['digests'][2]}"}
    assert record["after"] == {"appImage": target}
    assert record["who"] and record["started"] and record["dry_run"] is False


def test_dry_run_runs_nothing(aws, images, fake_tools, capsys):
    code = rollback_app.main(["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous"])
    assert code == 0
    assert fake_tools.calls() == []
    out = capsys.readouterr().out
    assert images["digests"][1] in out and "Dry run" in out


def test_an_explicit_digest_must_exist_in_the_repository(aws, images, fake_tools, capsys):
    missing = "sha256:" + "0" * 64
    code = rollback_app.main(
        ["--stack", "prod", "--stack-file", images["stack_file"], "--to", missing, "--apply"]
    )
    assert code == 1
    assert fake_tools.calls() == []
    assert missing in capsys.readouterr().err


def test_emergency_undoes_the_rollout_then_pins_what_the_cluster_runs(
    aws, images, fake_tools, monkeypatch, capsys
):
    running = f"{images['url']}@{images['digests'][1]}"
    monkeypatch.setenv("FAKE_KUBECTL_IMAGE", running)
    code = rollback_app.main(
        [
            "--stack",
            "prod",
            "--stack-file",
            images["stack_file"],
            "--to",
            "previous",
            "--emergency",
            "--apply",
        ]
    )
    assert code == 0, capsys.readouterr().err
    assert fake_tools.calls() == [
        ["kubectl", "rollout", "undo", "deployment/relay", "-n", "relay"],
        ["kubectl", "rollout", "status", "deployment/relay", "-n", "relay", "--timeout=300s"],
        ["kubectl", "get", "deployment/relay", "-n", "relay", "-o",
         "jsonpath={.spec.template.spec.containers[0].image}"],
        ["pulumi", "config", "set", "relay:appImage", running, "--stack", "prod"],
    ]  # fmt: skip
    assert "make preview STACK=prod" in capsys.readouterr().out


def test_a_failing_tool_stops_the_rollback_with_the_next_step(aws, images, fake_tools, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_TOOL_EXIT", "1")
    code = rollback_app.main(
        ["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous", "--apply"]
    )
    assert code == 1
    assert len(fake_tools.calls()) == 1  # `pulumi up` never ran after the failed config set
    assert "re-run the same command" in capsys.readouterr().err
