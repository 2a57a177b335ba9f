"""AppImage: the relay image built from app/ with BuildKit (pulumi-docker-build) and pushed to ECR.

- Platform: the nodes' architecture (arm64 on Graviton families), so the image boots there.
- Tag: a hash of the build context, so the same sources make the same tag and a changed file a new
  one; ECR tags are immutable, and the deploy uses the digest anyway.
- Cache: `cache-<architecture>` in the same repository (the registry's only mutable tags).
- `build_on_preview`: from relay:buildOnPreview. Off, `pulumi preview` needs no Docker and shows
  the digest as unknown (the Deployment and the migrations Job as changing); on, preview builds
  (without pushing) and fails early on a broken Dockerfile.

Not declared at all when relay:appImage pins a digest: that is the rollback and promotion lever.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_docker_build as docker_build

from infra.registry import CACHE_TAG_PREFIX

PLATFORMS = {"arm64": docker_build.Platform.LINUX_ARM64, "x86_64": docker_build.Platform.LINUX_AMD64}
# What the Dockerfile copies (app/.dockerignore keeps the rest out): the tag hashes exactly these.
CONTEXT_PARTS = ("Dockerfile", "requirements.lock", "pyproject.toml", "src", "migrations")


@dataclass(frozen=True)
class AppImageArgs:
    context: Path  # app/
    repository_url: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    architecture: str  # arm64 or x86_64, from the node instance types
    build_on_preview: bool


class AppImage(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppImageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:app_image:AppImage", name, None, opts)
        # Through this component's (explicit) AWS provider: the stack disables the default one.
        token = aws.ecr.get_authorization_token_output(
            registry_id=args.registry_id, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        cache = pulumi.Output.concat(args.repository_url, f":{CACHE_TAG_PREFIX}{args.architecture}")
        self.image = docker_build.Image(
            f"{name}-build",
            context={"location": str(args.context)},
            platforms=[PLATFORMS[args.architecture]],
            tags=[pulumi.Output.concat(args.repository_url, ":", content_tag(args.context))],
            push=True,
            build_on_preview=args.build_on_preview,
            registries=[
                {
                    "address": token.proxy_endpoint,
                    "username": token.user_name,
                    "password": pulumi.Output.secret(token.password),
                }
            ],
            cache_from=[{"registry": {"ref": cache}}],
            # image_manifest + OCI media types: the form of cache ECR accepts.
            cache_to=[
                {"registry": {"ref": cache, "mode": "max", "image_manifest": True, "oci_media_types": True}}
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        # <repository>@sha256:<digest>: what the Deployment and the Jobs run.
        self.ref = pulumi.Output.concat(args.repository_url, "@", self.image.digest)
        self.register_outputs({"ref": self.ref})


def content_tag(context: Path) -> str:
    """`src-<12 hex>`: a hash of every file the image is built from, names and contents."""
    digest = hashlib.sha256()
    for part in CONTEXT_PARTS:
        root = context / part
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            generated = any(p == "__pycache__" or p.endswith((".egg-info", ".pyc")) for p in path.parts)
            if path.is_file() and not generated:
                digest.update(path.relative_to(context).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return f"src-{digest.hexdigest()[:12]}"
