"""The load generator's dependency closure is pinned (loadtests/requirements.lock): every package
that locust and websocket-client need, transitively, at the version installed here."""

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

LOCK = Path(__file__).resolve().parents[2] / "loadtests" / "requirements.lock"
ROOTS = ("locust", "websocket-client")


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(roots: tuple[str, ...]) -> dict[str, str]:
    """name -> installed version of `roots` and everything they require on this platform."""
    found: dict[str, str] = {}
    pending = [(root, ()) for root in roots]
    while pending:
        name, extras = pending.pop()
        if _key(name) in found:
            continue
        distribution = metadata.distribution(name)
        found[_key(name)] = distribution.version
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or any(
                requirement.marker.evaluate({**default_environment(), "extra": extra})
                for extra in ("", *extras)
            ):
                pending.append((requirement.name, tuple(requirement.extras)))
    return found


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_key(name)] = version
    return pins


def test_the_lock_pins_the_generators_whole_dependency_closure_as_installed() -> None:
    closure = installed_closure(ROOTS)
    expected = "\n".join(f"{name}=={version}" for name, version in sorted(closure.items()))
    assert locked() == closure, f"loadtests/requirements.lock should list:\n{expected}"
