"""Lookups over a captured stack, so tests read as statements about the infrastructure."""

from __future__ import annotations

from typing import Any

from infra.evaluation.stack_capture import CapturedResource, StackRun, stack_config

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"


def plain(value: Any) -> Any:
    """The value with Pulumi's secret wrappers removed (the engine sends secrets wrapped)."""
    if isinstance(value, dict):
        if value.get(SIG_KEY) == SECRET_SIG:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def of_type(run: StackRun, type_token: str) -> list[CapturedResource]:
    return [r for r in run.resources if r.type == type_token]


def single(run: StackRun, type_token: str, name_suffix: str = "") -> CapturedResource:
    found = [r for r in of_type(run, type_token) if r.name.endswith(name_suffix)]
    assert len(found) == 1, (
        f"{run.stack}: expected one {type_token} named *{name_suffix}, found {[r.name for r in found]}"
    )
    return found[0]


def by_urn(run: StackRun) -> dict[str, CapturedResource]:
    return {r.urn: r for r in run.resources}


def by_output(run: StackRun, key: str) -> dict[Any, CapturedResource]:
    """Resources indexed by an output value (an `id` or `arn`), to follow references."""
    if key == "id":
        return {r.id: r for r in run.resources if r.id}
    # An `arn` among the inputs names another resource (a topic policy's topic), not this one.
    return {
        r.outputs[key]: r
        for r in run.resources
        if isinstance(r.outputs.get(key), str) and not (key == "arn" and "arn" in r.inputs)
    }


def config(run: StackRun, key: str) -> str:
    """A value from the stack YAML as committed (what the program read)."""
    return stack_config(run.stack)[f"relay:{key}"]


def region_of(run: StackRun, resource: CapturedResource) -> str:
    """The region a resource lands in: its own `region` input, else its provider's region."""
    if "region" in resource.inputs:
        return resource.inputs["region"]
    return by_urn(run)[resource.provider_urn].inputs["region"]


def ancestors(run: StackRun, resource: CapturedResource) -> list[CapturedResource]:
    index, chain, parent = by_urn(run), [], resource.parent
    while parent in index:
        chain.append(index[parent])
        parent = index[parent].parent
    return chain
