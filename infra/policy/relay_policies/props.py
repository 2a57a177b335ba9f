"""Reading resource properties the way the engine sends them, and phrasing violations.

The engine hands validators camelCase inputs wrapped in read-only proxies (Mapping and Sequence,
never dict and list), so every helper here tests against the abstract types. A property the
program leaves unset is treated as the value AWS (or Kubernetes) would apply, which callers pass
as `default`: a policy must not pass just because a setting was forgotten.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

UNSET = object()


def get(props: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Return the value at a dotted path (`viewerCertificate.minimumProtocolVersion`), or `default`."""
    value: Any = props
    for key in path.split("."):
        if not isinstance(value, Mapping) or value.get(key) is None:
            return default
        value = value[key]
    return value


def items(value: Any) -> list[Any]:
    """A list property as a Python list; a missing list is empty, a lone object is a list of one."""
    if value is None:
        return []
    if isinstance(value, Mapping | str):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    return [value]


def strings(value: Any) -> Iterator[str]:
    """Every string anywhere inside a property value (used to follow ARNs and ids by value)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for inner in value.values():
            yield from strings(inner)
    elif isinstance(value, Sequence):
        for inner in value:
            yield from strings(inner)


def plain(value: Any) -> Any:
    """The SDK's read-only proxies as plain dicts and lists, so messages print values, not proxies."""
    if isinstance(value, Mapping):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [plain(inner) for inner in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # numbers arrive as floats on the wire; 3 days reads better than 3.0
    return value


def shown(value: Any, default: Any = UNSET) -> str:
    """How a value appears in a message: unset values say which default AWS applies."""
    if value is None:
        return "unset" if default is UNSET else f"unset (AWS default {default!r})"
    return repr(plain(value))


def violation(urn: str, prop: str, actual: str, requirement: str, fix: str) -> str:
    """One violation message: the resource, the property, what it is, what it must be, the fix."""
    return f"{urn}: {prop} is {actual}; {requirement}. Fix: {fix}"
