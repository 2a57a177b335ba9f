"""`check`: the runbooks stay true. Run by `make test` (tests/runbooks/test_runbooks.py).

- every alarm the Pulumi program declares links a runbook that exists, named after the alarm,
  with Meaning / Impact / Diagnosis / Mitigation in that order (procedures: Preconditions /
  Steps / Verification / Rollback);
- every link (relative, or under a stack's `relay:runbookBaseUrl`) resolves, anchors included;
- every command in a fenced bash/sh/console block exists (runbooks/commands.py).
The alarms come from evaluating the real program under the Pulumi mocks of infra/evaluation/
(the same evaluation the infra tests use), so a new alarm without a runbook fails without anyone listing it.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

from runbooks.commands import check_line, make_targets
from runbooks.output import Record, add_output_flags, emit
from runbooks.stack import REPO_ROOT

STACKS = ("prod", "staging")
ALARM_TYPES = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
ALERT_HEADINGS = ("Meaning", "Impact", "Diagnosis", "Mitigation")
PROCEDURE_HEADINGS = ("Preconditions", "Steps", "Verification", "Rollback")
FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
SHELL = {"bash", "sh", "shell", "console"}
UNFINISHED = re.compile(r"TODO|TBD|follow in the runbooks issue", re.IGNORECASE)


@dataclass(frozen=True)
class Alarm:
    stack: str
    name: str  # the physical alarm name, e.g. relay-prod-RdsHighCpu
    description: str
    base_url: str  # the stack's relay:runbookBaseUrl


def program_alarms(stacks: tuple[str, ...] = STACKS) -> list[Alarm]:
    """Every alarm each stack's program declares, evaluated under mocks (infra/evaluation/)."""
    from infra.evaluation.stack_capture import evaluate_stack, stack_config

    alarms = []
    for stack in stacks:
        base = stack_config(stack)["relay:runbookBaseUrl"].rstrip("/")
        for resource in evaluate_stack(stack).resources:
            if resource.type in ALARM_TYPES:
                inputs = resource.inputs
                alarms.append(
                    Alarm(
                        stack,
                        inputs.get("name") or inputs.get("alarmName", ""),
                        inputs.get("alarmDescription", ""),
                        base,
                    )
                )
    return alarms


def check_alarms(root: Path, alarms: list[Alarm]) -> list[str]:
    problems = []
    for alarm in alarms:
        link = re.search(r"Runbook: (\S+)", alarm.description)
        expected = f"{alarm.base_url}/runbooks/alerts/"
        if link is None or not link.group(1).startswith(expected):
            problems.append(f"{alarm.stack}: alarm {alarm.name} has no runbook link under {expected}")
            continue
        path = link.group(1).removeprefix(f"{alarm.base_url}/")
        if not alarm.name.endswith(f"-{Path(path).stem}"):
            problems.append(f"{alarm.stack}: alarm {alarm.name} links {path}, which is not named after it")
        if not (root / path).is_file():
            problems.append(f"{alarm.stack}: alarm {alarm.name} links {path}, which does not exist")
    return problems


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _headings(text: str) -> list[str]:
    return re.findall(r"^#{1,6} +(.+?) *$", FENCE.sub("", text), re.MULTILINE)


def check_structure(root: Path, path: Path) -> list[str]:
    text, rel = path.read_text(), path.relative_to(root)
    kind = path.parent.name
    required = {"alerts": ALERT_HEADINGS, "procedures": PROCEDURE_HEADINGS}.get(kind)
    problems = [f"{rel}: unfinished ({m.group(0)!r})" for m in UNFINISHED.finditer(FENCE.sub("", text))]
    if required is None:
        return problems
    level2 = re.findall(r"^## +(.+?) *$", FENCE.sub("", text), re.MULTILINE)
    order = [h for h in level2 if h in required]
    if order != list(required):
        problems.append(f"{rel}: needs the sections {' / '.join(required)} in that order (has {order})")
    if kind == "alerts" and not text.startswith(f"# {path.stem}\n"):
        problems.append(f"{rel}: must start with '# {path.stem}' (the alarm name)")
    return problems


def check_links(root: Path, path: Path, base_urls: set[str]) -> list[str]:
    problems, rel = [], path.relative_to(root)
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        base = next((b for b in base_urls if target.startswith(f"{b}/")), None)
        if base is not None:
            resolved_text = str(root / target.removeprefix(f"{base}/"))
        elif re.match(r"^[a-z]+:", target):
            continue  # other web pages and mailto: are not ours to check
        else:
            resolved_text = str(path.parent / target) if not target.startswith("#") else f"{path}{target}"
        file_part, _, anchor = resolved_text.partition("#")
        resolved = Path(file_part).resolve()
        if not resolved.is_relative_to(root.resolve()) or not resolved.exists():
            problems.append(f"{rel}: link {target} does not resolve")
        elif (
            anchor
            and resolved.suffix == ".md"
            and anchor not in {_slug(h) for h in _headings(resolved.read_text())}
        ):
            problems.append(f"{rel}: link {target} names no heading #{anchor}")
    return problems


def shell_lines(text: str) -> list[str]:
    """The command lines of fenced shell blocks: in `console` blocks only the `$ ` lines."""
    lines = []
    for lang, body in FENCE.findall(text):
        if lang not in SHELL:
            continue
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            stripped = line.strip()
            if lang == "console" and not stripped.startswith("$ "):
                continue
            stripped = stripped.removeprefix("$ ").strip()
            if stripped and not stripped.startswith("#"):
                lines.append(stripped)
    return lines


def check_commands(root: Path, path: Path) -> list[str]:
    targets = make_targets(REPO_ROOT / "Makefile")
    rel = path.relative_to(root)
    return [
        f"{rel}: `{line}`: {p}" for line in shell_lines(path.read_text()) for p in check_line(line, targets)
    ]


def check_tree(root: Path, alarms: list[Alarm]) -> list[str]:
    """Every problem in `root`'s runbooks (an empty list means the runbooks are good)."""
    base_urls = {a.base_url for a in alarms}
    problems = check_alarms(root, alarms)
    for path in sorted((root / "runbooks").rglob("*.md")):
        problems += check_structure(root, path)
        problems += check_links(root, path, base_urls)
        problems += check_commands(root, path)
    return problems


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks check",
        description="Check that every alarm has a runbook and every runbook is true.",
    )
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: this checkout)"
    )
    add_output_flags(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    alarms = program_alarms()
    problems = check_tree(args.root, alarms)
    record = Record("check", ok=not problems, details={"alarms": len(alarms)}, next_steps=problems)
    record.error = f"{len(problems)} problem(s)" if problems else None
    return emit(record, args.json, [f"{len(alarms)} alarms across {', '.join(STACKS)}: runbooks checked"])
