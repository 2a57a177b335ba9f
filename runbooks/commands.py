"""Is a command a runbook shows one that exists? Checked by kind, without running anything.

- our CLI (`python -m runbooks …`, `relay …`): parsed by the real argparse parsers;
- `make <target>`: the target is a rule of the Makefile;
- `aws <service> <operation> --param …`: a real botocore operation (or waiter) and real parameter
  names, with the required ones present (CLI names are the kebab-case of the model's names);
- `kubectl`, `pulumi`: the subcommand is on an allow-list;
- anything else is unknown, and unknown fails.
Placeholders such as `<db-instance-id>` are fine as argument values, never as a command.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import shlex
from pathlib import Path

import botocore.session
from botocore import xform_name
from botocore.exceptions import DataNotFoundError

OPERATORS = {"&&", "||", ";", "|"}
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=\S*$")
PLACEHOLDER = re.compile(r"^<[a-z0-9][a-z0-9-]*>$")
KUBECTL = {
    "get", "describe", "logs", "top", "events", "scale", "cordon", "uncordon", "drain", "delete",
    "rollout status", "rollout history", "rollout undo", "rollout restart", "auth can-i",
}  # fmt: skip
PULUMI = {
    "preview", "up", "refresh", "import", "whoami", "stack", "stack ls", "stack output", "stack history",
    "stack select", "config get", "config set", "config rm", "state delete", "state unprotect",
}  # fmt: skip
AWS_GLOBAL = {"region", "profile", "output", "query", "no-cli-pager", "endpoint-url", "no-paginate",
              "max-items", "page-size", "starting-token", "cli-input-json", "debug"}  # fmt: skip
AWS_SERVICE_ALIASES = {"s3api": "s3", "configservice": "config"}
# AWS CLI customizations: commands of the CLI itself, not operations of a service model.
AWS_CUSTOM = {
    ("eks", "update-kubeconfig"): {"name", "region", "alias", "role-arn", "kubeconfig"},
    ("rds", "generate-db-auth-token"): {"hostname", "port", "username", "region"},
}


def split_commands(line: str) -> list[list[str]]:
    """One shell line into its simple commands (split on && || ; |), env assignments dropped."""
    tokens = shlex.split(line, comments=True)
    commands, current = [], []
    for token in tokens:
        if token in OPERATORS:
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    return [argv for argv in map(_without_assignments, commands) if argv]


def _without_assignments(argv: list[str]) -> list[str]:
    """Drop leading `NAME=value` words (and an `export` of them): only the command is checked.

    A line that only sets variables leaves nothing to check.
    """
    words = list(argv)
    if words[:1] == ["export"] and all(ENV_ASSIGNMENT.match(word) for word in words[1:]):
        return []
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    return words


def check_line(line: str, make_targets: frozenset[str]) -> list[str]:
    """Problems with every command on one line (empty when all of them exist)."""
    try:
        commands = split_commands(line)
    except ValueError as error:
        return [f"cannot parse as a shell line ({error})"]
    problems = []
    for argv in commands:
        if any("$(" in t or "`" in t for t in argv):
            problems.append(f"{shlex.join(argv)}: command substitution cannot be checked; spell it out")
        elif problem := check_command(argv, make_targets):
            problems.append(problem)
    return problems


def check_command(argv: list[str], make_targets: frozenset[str]) -> str | None:
    head = argv[0]
    if argv[:3] in (["python", "-m", "runbooks"], [".venv/bin/python", "-m", "runbooks"]):
        return _parse_ours(argv[3:])
    if head == "relay":
        return _parse_relay(argv[1:])
    if head == "make":
        unknown = [t for t in argv[1:] if "=" not in t and not t.startswith("-") and t not in make_targets]
        return f"make: no target {unknown[0]!r} in the Makefile" if unknown else None
    if head == "aws":
        return check_aws(argv[1:])
    if head in ("kubectl", "pulumi"):
        return _allowed(head, argv[1:], KUBECTL if head == "kubectl" else PULUMI)
    return f"{head}: not a command the checker knows (our CLI, make, aws, kubectl or pulumi)"


def _argparse(parser, argv: list[str]) -> str | None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            parser.parse_args(argv)
        except SystemExit as exit_:
            if exit_.code not in (0, None):
                return err.getvalue().strip().splitlines()[-1]
    return None


def _parse_ours(argv: list[str]) -> str | None:
    from runbooks.__main__ import resolve

    found = resolve(argv)
    if found is None:
        return f"python -m runbooks {' '.join(argv[:2])}: no such command"
    module, rest = found
    return _argparse(module.build_parser(), rest)


def _parse_relay(argv: list[str]) -> str | None:
    from relay.cli import build_parser

    return _argparse(build_parser(), argv)


VALUE_FLAGS = {"-n", "--namespace", "--context", "-s", "--stack", "-o", "--output", "-l", "--selector"}


def _allowed(tool: str, argv: list[str], allowed: set[str]) -> str | None:
    words, skip = [], False
    for token in argv:
        if skip or token.startswith("-"):
            skip = not skip and token in VALUE_FLAGS
            continue
        words.append(token)
    groups = {entry.split()[0] for entry in allowed if " " in entry}
    if " ".join(words[:2]) in allowed:
        return None
    if words and words[0] in allowed and (len(words) == 1 or words[0] not in groups):
        return None
    return f"{tool} {' '.join(words[:2])}: not on the {tool} allow-list (runbooks/commands.py)"


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@functools.cache
def _operations(service: str) -> dict[str, str]:
    model = _session().get_service_model(service)
    return {xform_name(name, "-"): name for name in model.operation_names}


@functools.cache
def _waiters(service: str) -> dict[str, str]:
    try:
        waiters = _session().get_waiter_model(service)
    except DataNotFoundError:
        return {}
    return {xform_name(name, "-"): waiters.get_waiter(name).operation for name in waiters.waiter_names}


def check_aws(argv: list[str]) -> str | None:
    args = _drop_globals(argv)
    if len(args) < 2:
        return f"aws {' '.join(args)}: expected aws <service> <operation>"
    service_cli, operation = args[0], args[1]
    service = AWS_SERVICE_ALIASES.get(service_cli, service_cli)
    if service not in _session().get_available_services():
        return f"aws {service_cli}: no such service in botocore"
    rest = args[2:]
    if (service_cli, operation) in AWS_CUSTOM:
        return _check_params(
            f"aws {service_cli} {operation}", rest, AWS_CUSTOM[(service_cli, operation)], set()
        )
    if operation == "wait":
        waiter = rest[0] if rest else ""
        if waiter not in _waiters(service):
            return f"aws {service_cli} wait {waiter}: no such waiter"
        name, rest, required = _waiters(service)[waiter], rest[1:], False
    elif operation in _operations(service):
        name, required = _operations(service)[operation], True
    else:
        return f"aws {service_cli} {operation}: no such operation in botocore's {service} model"
    shape = _session().get_service_model(service).operation_model(name).input_shape
    members = set(shape.members) if shape else set()
    params = {xform_name(m, "-") for m in members}
    booleans = {xform_name(m, "-") for m in members if shape.members[m].type_name == "boolean"}
    must = {xform_name(m, "-") for m in (shape.required_members if shape and required else [])}
    return _check_params(f"aws {service_cli} {operation}", rest, params | {f"no-{b}" for b in booleans}, must)


def _drop_globals(argv: list[str]) -> list[str]:
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        name = token[2:].split("=", 1)[0] if token.startswith("--") else None
        if name in AWS_GLOBAL and len(out) < 2:
            skip = "=" not in token and name not in ("no-cli-pager", "no-paginate", "debug")
            continue
        out.append(token)
    return out


def _check_params(command: str, argv: list[str], valid: set[str], required: set[str]) -> str | None:
    given = {t[2:].split("=", 1)[0] for t in argv if t.startswith("--")}
    unknown = sorted(given - valid - AWS_GLOBAL)
    if unknown:
        return f"{command}: no parameter --{unknown[0]}"
    missing = sorted(required - given)
    if missing and "cli-input-json" not in given:
        return f"{command}: missing required --{missing[0]}"
    return None


@functools.cache
def make_targets(makefile: Path) -> frozenset[str]:
    rule = re.compile(r"^([A-Za-z][\w.-]*)\s*:(?!=)", re.MULTILINE)
    return frozenset(rule.findall(makefile.read_text()))
