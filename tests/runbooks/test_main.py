"""`python -m runbooks`: one entry point; every command has --help and --json; changes need --apply."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from runbooks.__main__ import COMMANDS, main
from runbooks.stack import REPO_ROOT

STATE_CHANGING = {("rollback", "app"), ("restore", "db"), ("restore", "files")}


@pytest.mark.parametrize("words", list(COMMANDS), ids=" ".join)
def test_every_command_has_help_and_json(words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "--json" in text
    assert ("--apply" in text) == (words in STATE_CHANGING)


def test_an_unknown_command_exits_2_with_the_list(capsys):
    assert main(["frobnicate"]) == 2
    assert "restore files" in capsys.readouterr().err


def test_the_module_runs_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "runbooks", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "rollback app" in done.stdout


def test_runtime_code_never_imports_the_test_tree():
    """The automation runs on an operator's machine from the repository; tests/ is not its code."""
    importers = []
    for tree in ("runbooks", "topology", "infra", "app/src"):
        for path in sorted((REPO_ROOT / tree).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name == "tests" or name.startswith("tests.") for name in names):
                    importers.append(str(path.relative_to(REPO_ROOT)))
    assert importers == []
