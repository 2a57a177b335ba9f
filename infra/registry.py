"""Registry: the ECR repository the program pushes the app image to (built from app/, AppImage).

Release tags are immutable and the program deploys by digest, so what runs is exactly what was
scanned and tested. The one exception is BuildKit's layer cache, kept in the same repository under
`cache-<architecture>` tags that every build overwrites. Old images are kept long enough to roll
back to.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.keys import encryption_key

CACHE_TAG_PREFIX = "cache-"


@dataclass(frozen=True)
class RegistryArgs:
    repository_name: str
    keep_images: int = 100  # every one of them is a possible rollback target


class Registry(pulumi.ComponentResource):
    def __init__(self, name: str, args: RegistryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:registry:Registry", name, None, opts)
        key = encryption_key(f"{name}-key", "app images", self)
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            # Immutable except the build cache, which each build replaces in place.
            image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
            image_tag_mutability_exclusion_filters=[
                {"filter": f"{CACHE_TAG_PREFIX}*", "filter_type": "WILDCARD"}
            ],
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": key.arn}],
            force_delete=False,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": "untagged layers of failed pushes",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 14,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"keep the newest {args.keep_images} images for rollbacks",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": args.keep_images,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository_url = repository.repository_url
        self.registry_id = repository.registry_id
        self.register_outputs({"repository_url": self.repository_url})
