"""`rollback app`: the ECR lookup against the emulator; `pulumi`/`kubectl` through recording fakes.

The fakes only record command lines: these tests do not show that a real Pulumi engine or
cluster accepts them.
"""

from __future__ import annotations

import json
import os
import sys
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


@pytest.fixture(scope="module")
def images(aws_module, boto, tmp_path_factory):
    """Three releases pushed a second apart; the stack config runs the newest. Tests only read it."""
    ecr = boto("ecr")
    url = ecr.create_repository(repositoryName=REPOSITORY)["repository"]["repositoryUri"]
    digests = [push(ecr, "v1")]
    for tag in ("v2", "v3"):
        time.sleep(1.05)  # ECR's imagePushedAt has one-second resolution in the emulator
        digests.append(push(ecr, tag))
    config = yaml.safe_load((REPO_ROOT / "Pulumi.prod.yaml").read_text())
    config["config"]["relay:appImage"] = f"{url}@{digests[-1]}"
    stack_file = tmp_path_factory.mktemp("stack") / "Pulumi.prod.yaml"
    stack_file.write_text(yaml.safe_dump(config))
    return {"url": url, "digests": digests, "stack_file": str(stack_file)}


def test_previous_is_the_image_pushed_before_the_current_one(images, fake_tools, capsys):
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


def test_an_unpinned_stack_rolls_back_from_the_image_it_built_and_deployed(
    images, fake_tools, monkeypatch, capsys
):
    """With no relay:appImage the stack deploys its own build: the current image is its output."""
    monkeypatch.setenv("FAKE_PULUMI_APP_IMAGE", f"{images['url']}@{images['digests'][2]}")
    code = rollback_app.main(["--stack", "prod", "--to", "previous", "--apply", "--json"])
    assert code == 0, capsys.readouterr().err
    deployed, target = (f"{images['url']}@{images['digests'][n]}" for n in (2, 1))
    assert fake_tools.calls()[:2] == [
        ["pulumi", "stack", "output", "appImage", "--stack", "prod"],
        ["pulumi", "config", "set", "relay:appImage", target, "--stack", "prod"],
    ]
    assert json.loads(capsys.readouterr().out)["before"] == {"appImage": deployed}


def test_dry_run_runs_nothing(images, fake_tools, capsys):
    code = rollback_app.main(["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous"])
    assert code == 0
    assert fake_tools.calls() == []
    out = capsys.readouterr().out
    assert images["digests"][1] in out and "Dry run" in out


def test_an_explicit_digest_must_exist_in_the_repository(images, fake_tools, capsys):
    missing = "sha256:" + "0" * 64
    code = rollback_app.main(
        ["--stack", "prod", "--stack-file", images["stack_file"], "--to", missing, "--apply"]
    )
    assert code == 1
    assert fake_tools.calls() == []
    assert missing in capsys.readouterr().err


def test_emergency_undo_then_pins_what_the_cluster_runs(images, fake_tools, monkeypatch, capsys):
    running = f"{images['url']}@{images['digests'][1]}"
    monkeypatch.setenv("FAKE_KUBECTL_IMAGE", running)
    stack = ["--stack", "prod", "--stack-file", images["stack_file"]]
    code = rollback_app.main([*stack, "--to", "previous", "--emergency", "--apply"])
    assert code == 0, capsys.readouterr().err
    assert fake_tools.calls() == [
        ["kubectl", "rollout", "undo", "deployment/relay", "-n", "relay"],
        ["kubectl", "rollout", "status", "deployment/relay", "-n", "relay", "--timeout=300s"],
        ["kubectl", "get", "deployment/relay", "-n", "relay", "-o",
         "jsonpath={.spec.template.spec.containers[0].image}"],
        ["pulumi", "config", "set", "relay:appImage", running, "--stack", "prod"],
    ]  # fmt: skip
    assert "make preview STACK=prod" in capsys.readouterr().out


def test_a_failing_tool_stops_the_rollback_with_the_next_step(images, fake_tools, monkeypatch, capsys):
    monkeypatch.setenv("FAKE_TOOL_EXIT", "1")
    code = rollback_app.main(
        ["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous", "--apply"]
    )
    assert code == 1
    assert len(fake_tools.calls()) == 1  # `pulumi up` never ran after the failed config set
    assert "re-run the same command" in capsys.readouterr().err


def test_a_failed_pulumi_up_says_to_finish_with_a_deploy_not_to_go_back_again(images, tmp_path, capsys):
    """After `config set` succeeded, `--to previous` again would skip a release: the message says so."""
    log, bin_dir = tmp_path / "calls", tmp_path / "failing-up"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:3]) + '\\n')\n"
        "sys.exit(1 if sys.argv[1] == 'up' else 0)\n"
    )
    script.chmod(0o755)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
        code = rollback_app.main(
            ["--stack", "prod", "--stack-file", images["stack_file"], "--to", "previous", "--apply"]
        )
    assert code == 1
    assert log.read_text().splitlines() == ["config set", "up --stack"]
    err = capsys.readouterr().err
    assert "finish with make deploy STACK=prod" in err and "do not re-run --to previous" in err
