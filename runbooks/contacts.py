"""`contacts [--file …]`: validate and print the emergency contacts the operator keeps out of git.

Each problem names the key, the value and the fix; the repository ships only
`contacts.example.yaml`, and its placeholder values are refused in the real file.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import yaml

from runbooks.output import OperatorError, Record, add_output_flags, emit, run_guarded

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "contacts.yaml"
EXAMPLE_FILE = HERE / "contacts.example.yaml"
REQUIRED = ("devops_lead", "database_admin", "security_team", "incident_commander")
PHONE = re.compile(r"^\+[1-9]\d{6,14}$")  # E.164
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
PLACEHOLDER = re.compile(r"(example\.com|^Example |^\+1555555)", re.IGNORECASE)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runbooks contacts", description="Validate and show the emergency contacts."
    )
    parser.add_argument(
        "--file", type=Path, default=DEFAULT_FILE, help=f"contacts file (default: {DEFAULT_FILE})"
    )
    parser.add_argument(
        "--allow-examples",
        action="store_true",
        help="accept the example placeholders (to check the example file)",
    )
    add_output_flags(parser)
    return parser


def validate(document: Any, allow_examples: bool = False) -> list[str]:
    """Every problem as '<key> is <value>: <why>. Fix: <what>' (empty when the file is good)."""
    if not isinstance(document, dict) or not isinstance(document.get("contacts"), dict):
        return [
            "contacts is missing: the file needs a 'contacts:' mapping. "
            "Fix: start from runbooks/contacts.example.yaml"
        ]
    problems, contacts = [], document["contacts"]
    for role in REQUIRED:
        entry = contacts.get(role)
        if not isinstance(entry, dict):
            problems.append(
                f"contacts.{role} is missing. Fix: add it with name, phone and email (see the example file)"
            )
            continue
        checks = (
            ("name", lambda v: isinstance(v, str) and v.strip(), "a person or rota name"),
            (
                "phone",
                lambda v: isinstance(v, str) and PHONE.match(v),
                "an E.164 number like +441632960123, quoted",
            ),
            ("email", lambda v: isinstance(v, str) and EMAIL.match(v), "an email address"),
        )
        for field, ok, what in checks:
            value = entry.get(field)
            if not ok(value):
                problems.append(f"contacts.{role}.{field} is {value!r}: expected {what}. Fix: edit that line")
            elif not allow_examples and PLACEHOLDER.search(str(value)):
                problems.append(
                    f"contacts.{role}.{field} is {value!r}: still the example value. "
                    f"Fix: put the real {field} there"
                )
    for i, step in enumerate(document.get("escalation") or []):
        if not isinstance(step, dict) or step.get("contact") not in contacts:
            problems.append(
                f"escalation[{i}].contact is {step.get('contact') if isinstance(step, dict) else step!r}: "
                f"not a key of contacts. Fix: use one of {', '.join(sorted(contacts))}"
            )
        elif not isinstance(step.get("after_minutes"), int) or step["after_minutes"] < 0:
            problems.append(
                f"escalation[{i}].after_minutes is {step.get('after_minutes')!r}: "
                "expected minutes >= 0. Fix: edit it"
            )
    if not document.get("escalation"):
        problems.append(
            "escalation is missing: who is paged in what order. Fix: copy the block from the example"
        )
    return problems


def show(args: argparse.Namespace) -> int:
    if not args.file.exists():
        raise OperatorError(
            f"no contacts file at {args.file}",
            f"cp {EXAMPLE_FILE} {args.file}, fill in the real contacts, and re-run",
        )
    try:
        document = yaml.safe_load(args.file.read_text())
    except yaml.YAMLError as error:
        raise OperatorError(
            f"{args.file} is not valid YAML: {error}", "fix the line it names and re-run"
        ) from None
    problems = validate(document, args.allow_examples)
    record = Record("contacts", ok=not problems, details={"file": str(args.file)}, next_steps=problems)
    if problems:
        record.error = f"{len(problems)} problem(s) in {args.file}"
        return emit(record, args.json, [])
    record.details["contacts"] = document["contacts"]
    record.details["escalation"] = document["escalation"]
    lines = [
        f"{role:<20} {c['name']:<32} {c['phone']:<16} {c['email']}"
        for role, c in document["contacts"].items()
    ]
    lines += [f"escalate to {s['contact']} after {s['after_minutes']} min" for s in document["escalation"]]
    return emit(record, args.json, lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("contacts", args.json, lambda: show(args))
