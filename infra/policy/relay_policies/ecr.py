"""ECR, where CI pushes the app image: scanned, immutable tags, bounded by a lifecycle policy.

Checklist: "Keep previous deployment ready" (rollback redeploys an earlier digest, which must
still exist and still mean the same image) and "Security essentials" (scan on push).
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import get, items, plain, shown, violation

REPOSITORY = "aws:ecr/repository:Repository"
LIFECYCLE_POLICY = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
# BuildKit's registry cache is rewritten by every build; only tags under this prefix may move.
CACHE_EXCLUSION = {"filter": "cache-*", "filterType": "WILDCARD"}


def check_scan_on_push(args: ResourceValidationArgs) -> Iterator[str]:
    value = get(args.props, "imageScanningConfiguration.scanOnPush")
    if value is not True:
        yield violation(
            args.urn,
            "imageScanningConfiguration.scanOnPush",
            shown(value, False),
            "every pushed image must be scanned for known vulnerabilities",
            "set image_scanning_configuration={scan_on_push: True}",
        )


def check_immutable_tags(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("imageTagMutability")
    exclusions = [plain(f) for f in items(args.props.get("imageTagMutabilityExclusionFilters"))]
    if value == "IMMUTABLE" or (value == "IMMUTABLE_WITH_EXCLUSION" and exclusions == [CACHE_EXCLUSION]):
        return
    yield violation(
        args.urn,
        "imageTagMutability",
        f"{shown(value, 'MUTABLE')} (exclusions {exclusions})",
        "a pushed tag must keep naming the same image, so a rollback redeploys what was tested; only "
        "the build cache's cache-* tags may move",
        'set image_tag_mutability="IMMUTABLE", or "IMMUTABLE_WITH_EXCLUSION" with exactly '
        '[{filter: "cache-*", filter_type: "WILDCARD"}]',
    )


def check_lifecycle(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    graph = StackGraph(args.resources)
    for repository in graph.of_type(REPOSITORY):
        if not graph.referrers(repository, "repository", LIFECYCLE_POLICY):
            yield (
                repository.urn,
                violation(
                    repository.urn,
                    "LifecyclePolicy",
                    "missing",
                    "old images must expire, keeping enough releases to roll back to",
                    "add aws.ecr.LifecyclePolicy(repository=repo.name) keeping the last N release images",
                ),
            )


POLICIES = [
    resource_policy(
        "ecr-scan-on-push",
        "ECR.1: ECR private repositories must have image scanning configured.",
        [REPOSITORY],
        check_scan_on_push,
    ),
    resource_policy(
        "ecr-tag-immutability",
        "ECR.2: ECR private repositories must have tag immutability configured (the cache-* build cache "
        "excepted).",
        [REPOSITORY],
        check_immutable_tags,
    ),
    stack_policy(
        "ecr-lifecycle-policy",
        "ECR.3: ECR repositories must have at least one lifecycle policy.",
        check_lifecycle,
    ),
]
