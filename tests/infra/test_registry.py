"""Registry: immutable, scanned, encrypted image repository that keeps rollback targets."""

import json

from tests.infra.resources import single


def test_images_are_immutable_scanned_and_encrypted(stack_run):
    repository = single(stack_run, "aws:ecr/repository:Repository")
    i = repository.inputs
    # Release tags never move; only the build cache (cache-<architecture>) is rewritten.
    assert i["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
    assert i["imageTagMutabilityExclusionFilters"] == [{"filter": "cache-*", "filterType": "WILDCARD"}]
    assert i["imageScanningConfiguration"] == {"scanOnPush": True}
    assert i["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert repository.protect, "deleting the repository would delete every rollback target"


def test_lifecycle_keeps_enough_images_to_roll_back(stack_run):
    policy = json.loads(single(stack_run, "aws:ecr/lifecyclePolicy:LifecyclePolicy").inputs["policy"])
    keep = next(r for r in policy["rules"] if r["selection"]["countType"] == "imageCountMoreThan")
    assert keep["selection"]["countNumber"] >= 50
