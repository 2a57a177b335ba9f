"""The app image: built from app/ and deployed by digest, unless relay:appImage pins one."""

import shutil

from infra.app_image import CONTEXT_PARTS, content_tag
from infra.evaluation.stack_capture import REPO_ROOT, stack_config
from tests.infra.conftest import PINNED_IMAGE
from tests.infra.resources import config, of_type, plain, single

IMAGE = "docker-build:index:Image"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"


def images_run(run):
    """Every container image the workloads run."""
    return {
        c["image"]
        for kind in (DEPLOYMENT, JOB)
        for w in of_type(run, kind)
        for c in w.inputs["spec"]["template"]["spec"]["containers"]
    }


def test_without_a_pin_the_image_is_built_from_app_and_pushed_to_the_stacks_repository(stack_run):
    image = single(stack_run, IMAGE)
    i = plain(image.inputs)
    repository = single(stack_run, "aws:ecr/repository:Repository").outputs["repositoryUrl"]
    assert i["context"] == {"location": str(REPO_ROOT / "app")}
    assert i["push"] is True
    assert i["tags"] == [f"{repository}:{content_tag(REPO_ROOT / 'app')}"], "tagged by content"
    assert i["buildOnPreview"] is (config(stack_run, "buildOnPreview") == "true")
    (registry,) = i["registries"]
    assert registry["address"].endswith(".dkr.ecr.eu-west-1.amazonaws.com") and registry["username"] == "AWS"
    assert image.inputs["registries"] != i["registries"], "the ECR token reaches the engine as a secret"
    cache = f"{repository}:cache-x86_64"
    assert i["cacheFrom"] == [{"registry": {"ref": cache}}]
    assert i["cacheTo"][0]["registry"]["ref"] == cache and i["cacheTo"][0]["registry"]["mode"] == "max"


def test_the_deployment_and_the_jobs_run_the_built_digest(stack_run):
    image = single(stack_run, IMAGE)
    repository = single(stack_run, "aws:ecr/repository:Repository").outputs["repositoryUrl"]
    built = f"{repository}@{image.outputs['digest']}"
    assert stack_run.exports["appImage"] == built
    assert images_run(stack_run) == {built}
    digest = image.outputs["digest"].removeprefix("sha256:")
    assert single(stack_run, JOB, "-migrate").inputs["metadata"]["name"] == f"relay-migrate-{digest[:12]}"


def test_a_pinned_digest_is_deployed_and_nothing_is_built(pinned_run):
    assert of_type(pinned_run, IMAGE) == []
    assert not [r for r in pinned_run.resources if r.type == "relay:app_image:AppImage"]
    assert images_run(pinned_run) == {PINNED_IMAGE}
    digest = PINNED_IMAGE.split("@sha256:")[1]
    assert single(pinned_run, JOB, "-migrate").inputs["metadata"]["name"] == f"relay-migrate-{digest[:12]}"


def test_the_pin_is_absent_from_both_committed_stacks(stack_run):
    assert "relay:appImage" not in stack_config(stack_run.stack), "committed stacks build from app/"


def test_the_content_tag_follows_the_files_the_image_is_built_from(tmp_path):
    for part in CONTEXT_PARTS:
        source = REPO_ROOT / "app" / part
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / part)
    tag = content_tag(tmp_path)
    assert tag == content_tag(REPO_ROOT / "app")
    (tmp_path / "unrelated.txt").write_text("not in the image")
    assert content_tag(tmp_path) == tag
    (tmp_path / "src" / "relay" / "__init__.py").write_text("# changed\n")
    assert content_tag(tmp_path) != tag


def test_the_cache_tags_are_the_only_mutable_tags(stack_run):
    repository = single(stack_run, "aws:ecr/repository:Repository").inputs
    (exclusion,) = repository["imageTagMutabilityExclusionFilters"]
    cache_ref = plain(single(stack_run, IMAGE).inputs)["cacheTo"][0]["registry"]["ref"]
    assert cache_ref.rsplit(":", 1)[1].startswith(exclusion["filter"].rstrip("*"))
