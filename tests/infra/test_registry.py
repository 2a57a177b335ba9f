"""Registry: immutable, scanned, encrypted image repository that keeps rollback targets."""

import json

from tests.infra.resources import config, single


def test_images_are_immutable_scanned_and_encrypted(stack_run):
    repository = single(stack_run, "aws:ecr/repository:Repository")
    i = repository.inputs
    assert i["imageTagMutability"] == "IMMUTABLE"
    assert i["imageScanningConfiguration"] == {"scanOnPush": True}
    assert i["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert repository.protect, "deleting the repository would delete every rollback target"


def test_lifecycle_keeps_enough_images_to_roll_back(stack_run):
    policy = json.loads(single(stack_run, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    keep = next(r for r in policy["rules"] if r["selection"]["countType"] == "imageCountMoreThan")
    assert keep["selection"]["countNumber"] >= 50


def test_committed_stacks_deploy_images_from_their_own_repository(stack_run):
    repository = single(stack_run, "aws:ecr/repository:Repository").inputs["name"]
    assert config(stack_run, "appImage").split("/", 1)[1].startswith(f"{repository}@sha256:")
