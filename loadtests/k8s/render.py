"""Kubernetes objects for a distributed run on the EKS cluster: a master Job and N workers.

    python -m loadtests.k8s.render --image <ecr-repo>/relay-loadtest@sha256:<digest> --workers 4 \
        --url https://staging.relay.example --scenario mixed --users 4000 --duration 40m --shape ramp \
        | kubectl apply -f -

The image is pinned by digest (a tag is refused): every worker runs the same bytes. The master is a
Job whose exit code is the SLO gate's (`kubectl wait --for=condition=complete job/locust-master`);
its logs hold the pass/fail table. Tokens come from the Secret `relay-loadtest-tokens` (key
`command` or `tokens.json`; README, "Tokens"), never from these objects. Workers request one core
each: one locust process per core (README, "Sizing workers").
"""

import argparse
import json
import re
import sys
from typing import Any

NAMESPACE = "relay-loadtest"
MASTER = "locust-master"
WORKER = "locust-worker"
MASTER_PORT = 5557
DIGEST_REF = re.compile(r"^[a-z0-9][a-z0-9._/:-]*@sha256:[0-9a-f]{64}$")
TOKENS_SECRET = "relay-loadtest-tokens"  # noqa: S105  # the Secret's name; the operator creates it
TOKEN_COMMAND = {"name": TOKENS_SECRET, "key": "command", "optional": True}
RESULTS = "/results"


class RenderError(ValueError):
    pass


def _container(name: str, image: str, args: list[str], cpu: str, memory: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "command": ["locust"],
        "args": args,
        "env": [
            # A token command from the Secret (e.g. a Clerk testing-token script baked into the image).
            {"name": "RELAY_TEST_TOKEN_COMMAND", "valueFrom": {"secretKeyRef": TOKEN_COMMAND}},
            {"name": "RELAY_TEST_TOKEN_FILE", "value": "/tokens/tokens.json"},
        ],
        "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"memory": memory}},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [
            {"name": "tokens", "mountPath": "/tokens", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108  # an emptyDir: locust writes scratch files
            {"name": "results", "mountPath": RESULTS},
        ],
    }


def _pod_spec(container: dict[str, Any], restart: str) -> dict[str, Any]:
    return {
        "restartPolicy": restart,
        "automountServiceAccountToken": False,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}, "fsGroup": 10001},
        "containers": [container],
        "volumes": [
            {"name": "tokens", "secret": {"secretName": TOKENS_SECRET, "optional": True}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "results", "emptyDir": {}},
        ],
    }


def render(args: argparse.Namespace) -> list[dict[str, Any]]:
    if not DIGEST_REF.match(args.image):
        raise RenderError(
            f"--image {args.image!r} must be pinned by digest: <repository>@sha256:<64 hex digits>"
        )
    if args.workers < 1:
        raise RenderError("--workers must be at least 1")
    labels = {"app.kubernetes.io/name": "relay-loadtest"}
    files = "loadtests/locustfile.py" + (f",loadtests/shapes/{args.shape}.py" if args.shape else "")
    master_args = [
        "-f", files, "--master", "--headless", "--only-summary", "--expect-workers", str(args.workers),
        "--host", args.url, "-u", str(args.users), "-r", str(args.spawn_rate), "-t", args.duration,
        "--stop-timeout", "15", "--csv", f"{RESULTS}/stats", "--html", f"{RESULTS}/report.html",
        *SCENARIO_CLASSES[args.scenario],
    ]  # fmt: skip
    worker_args = ["-f", files, "--worker", "--master-host", MASTER, "--master-port", str(MASTER_PORT)]
    master_labels = {**labels, "app.kubernetes.io/component": "master"}
    worker_labels = {**labels, "app.kubernetes.io/component": "worker"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": MASTER, "namespace": NAMESPACE, "labels": master_labels},
            "spec": {"selector": master_labels, "ports": [{"name": "workers", "port": MASTER_PORT}]},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": MASTER, "namespace": NAMESPACE, "labels": master_labels},
            "spec": {
                "backoffLimit": 0,  # a failed gate is a result, not something to retry
                "ttlSecondsAfterFinished": 86400,
                "template": {
                    "metadata": {"labels": master_labels},
                    "spec": _pod_spec(_container("master", args.image, master_args, "1", "1Gi"), "Never"),
                },
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": WORKER, "namespace": NAMESPACE, "labels": worker_labels},
            "spec": {
                "replicas": args.workers,
                "selector": {"matchLabels": worker_labels},
                "template": {
                    "metadata": {"labels": worker_labels},
                    "spec": _pod_spec(_container("worker", args.image, worker_args, "1", "2Gi"), "Always"),
                },
            },
        },
    ]


SCENARIO_CLASSES = {
    "chat": ["ChatUser"],
    "api": ["ApiUser"],
    "uploads": ["UploadUser"],
    "mixed": ["ChatUser", "ApiUser", "UploadUser"],
}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.k8s.render", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--image", required=True, help="<repository>@sha256:<digest> (built from loadtests/Dockerfile)"
    )
    parser.add_argument("--workers", type=int, required=True, help="worker pods, one core each")
    parser.add_argument("--url", required=True)
    parser.add_argument("--scenario", choices=sorted(SCENARIO_CLASSES), default="mixed")
    parser.add_argument("--users", type=int, required=True, help="users (with --shape: the peak)")
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--duration", required=True)
    parser.add_argument("--shape", choices=("ramp", "step", "spike", "soak"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    try:
        objects = render(parse(sys.argv[1:] if argv is None else argv))
    except RenderError as error:
        print(f"loadtests.k8s.render: {error}", file=sys.stderr)
        return 2
    print("\n---\n".join(json.dumps(obj, indent=2) for obj in objects))  # JSON is YAML: kubectl takes it
    return 0


if __name__ == "__main__":
    sys.exit(main())
