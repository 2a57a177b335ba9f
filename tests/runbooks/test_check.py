"""The runbook checker fails on a missing alert runbook, a broken link and an unknown command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runbooks.check import Alarm, check_tree, shell_lines
from runbooks.commands import check_line, make_targets
from runbooks.stack import REPO_ROOT

BASE = "https://github.com/relay-chat/relay/blob/main"
ALERT = """# {name}

## Meaning

Fires when something is wrong.

## Impact

Users notice.

## Diagnosis

```console
$ python -m runbooks status --stack prod
database relay-prod: available
```

## Mitigation

See [the restore](../procedures/restore.md#steps).
"""
PROCEDURE = """# Restore

## Preconditions

None.

## Steps

```bash
make deploy STACK=prod
```

## Verification

Check [the alert]({base}/runbooks/alerts/RdsHighCpu.md).

## Rollback

None.
"""


def alarm(name: str) -> Alarm:
    return Alarm(
        "prod", f"relay-prod-{name}", f"[warning] x. Runbook: {BASE}/runbooks/alerts/{name}.md", BASE
    )


@pytest.fixture
def tree(tmp_path) -> Path:
    (tmp_path / "runbooks" / "alerts").mkdir(parents=True)
    (tmp_path / "runbooks" / "procedures").mkdir()
    (tmp_path / "runbooks" / "alerts" / "RdsHighCpu.md").write_text(ALERT.format(name="RdsHighCpu"))
    (tmp_path / "runbooks" / "procedures" / "restore.md").write_text(PROCEDURE.format(base=BASE))
    return tmp_path


def test_a_good_tree_passes(tree):
    assert check_tree(tree, [alarm("RdsHighCpu")]) == []


def test_an_alarm_without_its_runbook_fails(tree):
    problems = check_tree(tree, [alarm("RdsHighCpu"), alarm("RdsBrandNew")])
    assert problems == [
        "prod: alarm relay-prod-RdsBrandNew links runbooks/alerts/RdsBrandNew.md, which does not exist"
    ]


def test_an_alarm_without_a_runbook_link_fails(tree):
    bare = Alarm("prod", "relay-prod-Bare", "[warning] no link", BASE)
    assert check_tree(tree, [alarm("RdsHighCpu"), bare]) == [
        f"prod: alarm relay-prod-Bare has no runbook link under {BASE}/runbooks/alerts/"
    ]


@pytest.mark.parametrize(
    "link",
    ["../procedures/missing.md", "../procedures/restore.md#no-such-heading",
     f"{BASE}/runbooks/alerts/Gone.md", "../../../outside.md"],
)  # fmt: skip
def test_a_broken_link_fails(tree, link):
    page = tree / "runbooks" / "alerts" / "RdsHighCpu.md"
    page.write_text(page.read_text().replace("../procedures/restore.md#steps", link))
    problems = check_tree(tree, [alarm("RdsHighCpu")])
    assert len(problems) == 1 and f"link {link}" in problems[0]


@pytest.mark.parametrize(
    "command",
    ["rm -rf /var/lib/postgresql", "kubectl exec -it relay-0 -- sh", "pulumi destroy --stack prod",
     "aws rds describe-db-instance --db-instance-identifier relay-prod",
     "aws rds describe-db-instances --db-instance relay-prod", "make nuke",
     "python -m runbooks restore everything", "python -m runbooks restore db --stack prod", "relay dance",
     "<tool> --flag"],
)  # fmt: skip
def test_an_unknown_command_fails(tree, command):
    page = tree / "runbooks" / "procedures" / "restore.md"
    page.write_text(page.read_text().replace("make deploy STACK=prod", command))
    problems = check_tree(tree, [alarm("RdsHighCpu")])
    assert len(problems) == 1 and f"`{command}`" in problems[0]


def test_an_alert_runbook_needs_its_four_sections_in_order(tree):
    page = tree / "runbooks" / "alerts" / "RdsHighCpu.md"
    page.write_text(page.read_text().replace("## Impact", "## Effects"))
    assert (
        "needs the sections Meaning / Impact / Diagnosis / Mitigation"
        in check_tree(tree, [alarm("RdsHighCpu")])[0]
    )


def test_a_stub_is_not_a_runbook(tree):
    shutil.copy(REPO_ROOT / "runbooks" / "alerts" / "RdsHighCpu.md", tree / "runbooks" / "alerts" / "Copy.md")
    stub = tree / "runbooks" / "alerts" / "Copy.md"
    stub.write_text("# Copy\n\n## Meaning\n\nx\n\n<!-- The rest follow in the runbooks issue. -->\n")
    problems = check_tree(tree, [alarm("RdsHighCpu")])
    assert any("unfinished" in p for p in problems) and any("needs the sections" in p for p in problems)


def test_console_blocks_check_only_the_prompted_lines():
    text = "```console\n$ make test\nsome output: rm -rf /\n```\n```bash\n$ make up\nmake down\n```\n"
    assert shell_lines(text) == ["make test", "make up", "make down"]


@pytest.mark.parametrize(
    "line",
    ["aws rds describe-db-instances --db-instance-identifier <db-instance-id> --region eu-west-1",
     "aws --region us-east-1 cloudwatch describe-alarms --alarm-name-prefix relay-prod- "
     "--state-value ALARM",
     "aws s3api list-object-versions --bucket <bucket> --prefix uploads/ --max-items 10",
     "aws rds wait db-instance-available --db-instance-identifier <target-id>",
     "aws rds modify-db-instance --db-instance-identifier relay-prod --no-deletion-protection",
     "aws eks update-kubeconfig --name relay-prod --region eu-west-1",
     "kubectl -n relay rollout undo deployment/relay",
     "pulumi config set relay:appImage <image> --stack prod",
     "python -m runbooks rollback app --stack prod --to previous --emergency", "relay migrate",
     "make preview STACK=prod", "AWS_PROFILE=relay-prod make deploy STACK=prod",
     "export STACK=prod AWS_REGION=eu-west-1", "export DIST=<distribution-id>  # from the list above"],
)  # fmt: skip
def test_real_commands_pass(line):
    assert check_line(line, make_targets(REPO_ROOT / "Makefile")) == []


def test_an_export_does_not_hide_the_command_after_it():
    assert check_line("export STACK=prod && frobnicate --now", frozenset()) == [
        "frobnicate: not a command the checker knows (our CLI, make, aws, kubectl or pulumi)"
    ]


def test_a_missing_required_aws_parameter_fails():
    assert check_line("aws rds describe-db-log-files", frozenset()) == [
        "aws rds describe-db-log-files: missing required --db-instance-identifier"
    ]
