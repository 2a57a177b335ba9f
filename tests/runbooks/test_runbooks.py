"""The repository's runbooks pass the checker, for every alarm the Pulumi program declares."""

from runbooks.check import STACKS, check_tree, program_alarms
from runbooks.check import main as check_main
from runbooks.stack import REPO_ROOT


def test_every_alarm_of_every_stack_has_a_true_runbook():
    alarms = program_alarms()
    assert {a.stack for a in alarms} == set(STACKS)
    assert len(alarms) >= 2 * 19, "the program declares 19 alarms per stack today"
    problems = check_tree(REPO_ROOT, alarms)
    assert problems == [], "\n".join(problems)


def test_the_check_command_fails_on_a_tree_without_alert_runbooks(tmp_path, capsys):
    (tmp_path / "runbooks").mkdir()
    assert check_main(["--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "relay-prod-AlbHigh5xxRate links runbooks/alerts/AlbHigh5xxRate.md, which does not exist" in err
