"""`python -m runbooks <command> [options]`: one entry point for every runbook automation."""

from __future__ import annotations

import sys
from types import ModuleType

from runbooks import check, contacts, export_user, restore_db, restore_files, rollback_app, status, verify

# (words) -> module with build_parser() and main(argv); two-word commands read as "verb object".
COMMANDS: dict[tuple[str, ...], ModuleType] = {
    ("verify",): verify,
    ("status",): status,
    ("rollback", "app"): rollback_app,
    ("restore", "db"): restore_db,
    ("restore", "files"): restore_files,
    ("export-user",): export_user,
    ("check",): check,
    ("contacts",): contacts,
}
USAGE = "usage: python -m runbooks <command> [--help]\n\ncommands:\n" + "\n".join(
    f"  {' '.join(words):<15} {module.build_parser().description}" for words, module in COMMANDS.items()
)


def resolve(argv: list[str]) -> tuple[ModuleType, list[str]] | None:
    """The command's module and its own arguments, or None when argv names no command."""
    for words, module in COMMANDS.items():
        if tuple(argv[: len(words)]) == words:
            return module, argv[len(words) :]
    return None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    found = resolve(argv)
    if found is None:
        stream = sys.stdout if argv[:1] in (["-h"], ["--help"]) else sys.stderr
        print(USAGE, file=stream)
        return 0 if stream is sys.stdout else 2
    module, rest = found
    return module.main(rest)


if __name__ == "__main__":
    sys.exit(main())
