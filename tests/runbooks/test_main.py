"""`python -m runbooks`: one entry point; every command has --help and --json; changes need --apply."""

from __future__ import annotations

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
