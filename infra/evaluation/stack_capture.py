"""Run the real Pulumi program (`infra/__main__.py`) under mocks and capture every resource.

`capture_stack("prod")` loads `Pulumi.prod.yaml` as committed, runs the program in a fresh
Python process (the program runs at import and the Pulumi runtime is process-global, so a
subprocess is the one clean way to evaluate two stacks), and returns what the engine received
for each resource: type token, name, URN, inputs (camelCase, exactly as `MockResourceArgs.inputs`
holds them), provider reference, parent URN, dependencies and options.

It lives beside the program, not in tests/, because runtime code uses it too: `python -m runbooks
check` finds every alarm this way. Also a command: `python -m infra.evaluation.stack_capture prod`
prints the capture as JSON.
Stable API (the policy-pack tests use it): `capture_stack`, `evaluate_stack`, `capture_run`,
`CapturedResource`, `StackRun`.
"""

from __future__ import annotations

import functools
import json
import os
import runpy
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM = REPO_ROOT / "infra" / "__main__.py"
PROJECT = "relay"


@dataclass(frozen=True)
class CapturedResource:
    type: str
    name: str
    urn: str
    inputs: dict[str, Any]
    provider: str
    parent: str
    id: str = ""
    import_id: str = ""  # set when the program imports an existing resource (`import_`)
    custom: bool = True
    outputs: dict[str, Any] = field(default_factory=dict)
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    retain_on_delete: bool = False
    delete_before_replace: bool = False
    ignore_changes: tuple[str, ...] = ()
    replace_on_changes: tuple[str, ...] = ()

    @property
    def provider_urn(self) -> str:
        """The provider reference without its trailing `::<id>`."""
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


@dataclass(frozen=True)
class StackRun:
    """One evaluation: the resources, the stack exports, and how long the program took."""

    stack: str
    resources: list[CapturedResource]
    exports: dict[str, Any]
    secret_exports: tuple[str, ...]
    seconds: float
    error: str | None = None


def stack_config(stack_name: str) -> dict[str, str]:
    """The stack YAML's config as the engine hands it to the program: objects become JSON."""
    path = REPO_ROOT / f"Pulumi.{stack_name}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def capture_run(
    stack_name: str,
    config: dict[str, str] | None = None,
    preview: bool = False,
    secret_keys: tuple[str, ...] = (),
) -> StackRun:
    """Evaluate the program for a stack in a fresh process; `config` replaces the YAML's if given.

    A program failure (such as a config error) comes back as `error` holding the worker's stderr.
    `preview=True` evaluates as `pulumi preview` does: computed outputs stay unknown.
    `secret_keys` names config keys the engine would hold as secrets (`pulumi config set --secret`).
    """
    payload = json.dumps(
        {
            "stack": stack_name,
            "config": stack_config(stack_name) if config is None else config,
            "preview": preview,
            "secret_keys": list(secret_keys),
        }
    )
    completed = subprocess.run(
        [sys.executable, "-m", "infra.evaluation.stack_capture", "--worker"],
        input=payload,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=240,
        check=False,
        env={**os.environ, "PULUMI_CONFIG": "{}"},
    )
    if completed.returncode != 0:
        return StackRun(stack_name, [], {}, (), 0.0, error=completed.stderr[-6000:])
    result = json.loads(completed.stdout)
    return StackRun(
        stack=stack_name,
        resources=[CapturedResource(**_tupled(r)) for r in result["resources"]],
        exports=result["exports"],
        secret_exports=tuple(result["secret_exports"]),
        seconds=result["seconds"],
    )


@functools.cache
def evaluate_stack(stack_name: str) -> StackRun:
    """The committed stack's evaluation, once per process; raises if the program fails."""
    run = capture_run(stack_name)
    if run.error:
        raise RuntimeError(f"the program failed for stack {stack_name}:\n{run.error}")
    return run


def capture_stack(stack_name: str) -> list[CapturedResource]:
    """Every resource the program declares for `stack_name` with its committed YAML config."""
    return list(evaluate_stack(stack_name).resources)


def _tupled(record: dict[str, Any]) -> dict[str, Any]:
    for key in ("dependencies", "ignore_changes", "replace_on_changes"):
        record[key] = tuple(record[key])
    return record


def _evaluate(
    stack_name: str, config: dict[str, str], preview: bool, secret_keys: list[str]
) -> dict[str, Any]:
    """Worker side: set mocks and config, run the program to completion, return the capture."""
    import pulumi
    from pulumi.runtime.settings import get_root_resource
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from infra.evaluation.mocks import RecordingMonitor, RelayMocks

    disabled = json.loads(config.get("pulumi:disable-default-providers", "[]"))
    mocks = RelayMocks(preview=preview, disabled_default_providers=tuple(disabled))
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_all_config(config, secret_keys=secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack_name, preview=preview, monitor=monitor)
    # As the Pulumi language host does: only the program directory is on the path, so the
    # program must find its own modules (`python -m` put the repository root there for us).
    sys.path[:] = [p for p in sys.path if p not in ("", str(REPO_ROOT))]
    started = time.perf_counter()

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")
        # set_mocks registered the root stack's (empty) outputs already; send the exports too.
        stack = get_root_resource()
        stack.register_outputs(dict(stack.outputs))

    _sync_await(run_pulumi_func(program))
    return {
        "resources": monitor.registrations,
        "exports": monitor.stack_outputs.get("values", {}),
        "secret_exports": monitor.stack_outputs.get("secret", []),
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str]) -> int:
    if argv == ["--worker"]:
        request = json.loads(sys.stdin.read())
        result_stream, sys.stdout = sys.stdout, sys.stderr  # the program's prints must not corrupt the JSON
        result = _evaluate(request["stack"], request["config"], request["preview"], request["secret_keys"])
        result_stream.write(json.dumps(result, default=str))
        return 0
    if len(argv) != 1:
        print("usage: python -m infra.evaluation.stack_capture <stack>", file=sys.stderr)
        return 2
    run = capture_run(argv[0])
    print(
        json.dumps(
            {"resources": [r.__dict__ for r in run.resources], "exports": run.exports, "error": run.error},
            indent=2,
            default=str,
        )
    )
    return 1 if run.error else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
