"""`rollback app --stack … --to <digest|previous>`: put the app back on an earlier image.

The regular path pins the image digest in stack config (`relay:appImage`) and runs `pulumi up`,
so the stack and the cluster agree. `--emergency` runs `kubectl rollout undo` first (seconds, no
Pulumi) and then writes the image the cluster went back to into stack config, so the next
`pulumi up` keeps the rollback instead of undoing it.
"""

from __future__ import annotations

import argparse
import re

from runbooks.output import OperatorError, Record, add_output_flags, emit, run_guarded, who
from runbooks.stack import APP_NAMESPACE, Stack, add_stack_flags, client, load_stack, pulumi_binary
from runbooks.tools import run

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
DEPLOYMENT = "deployment/relay"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks rollback app",
        description="Roll the app back to an earlier image (dry run unless --apply).",
    )
    add_stack_flags(parser)
    parser.add_argument(
        "--to", required=True, help="'previous' (the image pushed before the current one) or sha256:<digest>"
    )
    parser.add_argument(
        "--emergency",
        action="store_true",
        help="kubectl rollout undo first, then reconcile the stack config (when Pulumi is too slow)",
    )
    add_output_flags(parser, changes_state=True)
    return parser


def deployed_image(stack: Stack, pulumi: str) -> str:
    """The pinned `relay:appImage`, or else the image the stack built and deployed (its output)."""
    if stack.app_image:
        return stack.app_image
    return run([pulumi, "stack", "output", "appImage", "--stack", stack.name]).strip()


def current_digest(image: str) -> tuple[str, str]:
    repository, _, digest = image.partition("@")
    return repository, digest


def previous_digest(stack: Stack, current: str) -> str:
    """The newest image in the stack's ECR repository pushed before `current`."""
    ecr = client("ecr", stack.region)
    images = [
        image
        for page in ecr.get_paginator("describe_images").paginate(repositoryName=stack.repository_name)
        for image in page["imageDetails"]
    ]
    pushed = {image["imageDigest"]: image["imagePushedAt"] for image in images}
    if current not in pushed:
        raise OperatorError(
            f"the current image {current} is not in ECR repository {stack.repository_name}",
            "pass the digest to roll back to explicitly: --to sha256:<digest> "
            f"(aws ecr describe-images --repository-name {stack.repository_name})",
        )
    older = sorted((at, digest) for digest, at in pushed.items() if at < pushed[current])
    if not older:
        raise OperatorError(
            f"no image in {stack.repository_name} is older than the current one",
            "there is nothing to roll back to; roll forward with a fixed image instead",
        )
    return older[-1][1]


def resolve_target(stack: Stack, current: str, to: str) -> str:
    if to == "previous":
        return previous_digest(stack, current)
    if not DIGEST.match(to):
        raise OperatorError(
            f"--to {to!r} is neither 'previous' nor sha256:<64 hex digits>",
            "pass --to previous, or a digest from aws ecr describe-images",
        )
    found = client("ecr", stack.region).describe_images(
        repositoryName=stack.repository_name, imageIds=[{"imageDigest": to}]
    )["imageDetails"]
    if not found:
        raise OperatorError(f"{to} is not in {stack.repository_name}", "pick a digest that exists in ECR")
    return to


def roll_back(args: argparse.Namespace) -> int:
    stack = load_stack(args.stack, args.stack_file)
    pulumi = pulumi_binary()
    image = deployed_image(stack, pulumi)
    repository, current = current_digest(image)
    record = Record("rollback app", dry_run=not args.apply, before={"appImage": image})
    if args.emergency and args.to != "previous":
        raise OperatorError(
            "--emergency goes back one Deployment revision (kubectl rollout undo), not to a chosen digest",
            f"use --to previous with --emergency, or drop --emergency to pin --to {args.to}",
        )
    if args.emergency:
        steps = [
            ["kubectl", "rollout", "undo", DEPLOYMENT, "-n", APP_NAMESPACE],
            ["kubectl", "rollout", "status", DEPLOYMENT, "-n", APP_NAMESPACE, "--timeout=300s"],
        ]
        target = None
    else:
        target = f"{repository}@{resolve_target(stack, current, args.to)}"
        steps = [
            [pulumi, "config", "set", "relay:appImage", target, "--stack", stack.name],
            [pulumi, "up", "--stack", stack.name, "--yes", *stack.policy_pack_args],
        ]
    record.details["commands"] = [" ".join(s) for s in steps]
    if not args.apply:
        record.after = {"appImage": target or "(the image of the Deployment's previous revision)"}
        return emit(record, args.json, _plan(record))
    record.who = who(client("sts", stack.region))
    for done, step in enumerate(steps):
        try:
            run(step)
        except OperatorError as error:
            if done == 0:
                raise
            raise OperatorError(str(error), _resume(stack, args.emergency, target)) from None
    if args.emergency:
        image = run(
            [
                "kubectl",
                "get",
                DEPLOYMENT,
                "-n",
                APP_NAMESPACE,
                "-o",
                "jsonpath={.spec.template.spec.containers[0].image}",
            ]
        ).strip()
        if "@sha256:" not in image:
            raise OperatorError(
                f"the Deployment now runs {image!r}, which is not pinned by digest",
                "find its digest (aws ecr describe-images) and run: python -m runbooks rollback app "
                f"--stack {stack.name} --to sha256:<digest> --apply",
            )
        run([pulumi, "config", "set", "relay:appImage", image, "--stack", stack.name])
        record.details["commands"].append(f"{pulumi} config set relay:appImage {image} --stack {stack.name}")
        target = image
        record.next_steps.append(
            f"make preview STACK={stack.name}: the app Deployment should show no image change"
        )
    record.after = {"appImage": target}
    record.next_steps.append("watch the rollout: python -m runbooks status --stack " + stack.name)
    return emit(record, args.json, _plan(record))


def _resume(stack: Stack, emergency: bool, target: str | None) -> str:
    """After a partial rollback, re-running `--to previous` would go back one release too many."""
    if emergency:
        return (
            "the rollout undo was done: check kubectl get pods -n relay, then pin what runs with "
            f"python -m runbooks rollback app --stack {stack.name} --to sha256:<digest> --apply "
            "(do not run --emergency again: it would undo one more revision)"
        )
    return (
        f"relay:appImage already pins {target}: finish with make deploy STACK={stack.name} "
        "(do not re-run --to previous: it would go back one more release)"
    )


def _plan(record: Record) -> list[str]:
    return [
        f"before: {record.before['appImage']}",
        f"after:  {record.after['appImage']}",
        *(f"  {c}" for c in record.details["commands"]),
    ]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("rollback app", args.json, lambda: roll_back(args))
