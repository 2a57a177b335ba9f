"""Kubernetes versions: standard support only, chosen with room to spare, upgraded in time.

Every date-dependent check takes the date as an argument, and stack evaluations read it from
RELAY_EVALUATION_DAY; TODAY is the day this version was chosen.
"""

import os
from datetime import date, timedelta

import pytest

from infra import eks_versions
from infra.config import ConfigError
from infra.evaluation.stack_capture import capture_run
from tests.infra.test_config import TODAY, settings_for

SIX_MONTHS = timedelta(days=182)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_version_has_six_months_of_standard_support_left(stack):
    version = settings_for(stack, today=TODAY).eks_version
    assert eks_versions.parse(version) <= eks_versions.MAX_VERSION, (
        "kubernetes-validate has no schemas beyond"
    )
    end = eks_versions.CALENDAR[version].end_of_standard_support
    assert end - TODAY >= SIX_MONTHS, f"{version} leaves standard support on {end}"
    assert version in eks_versions.PINS


def test_a_version_in_extended_support_is_refused():
    with pytest.raises(ConfigError) as error:
        settings_for("prod", eksVersion="1.33", today=TODAY)
    message = str(error.value)
    assert "relay:eksVersion is '1.33'" in message and "since 2026-07-29" in message
    assert "extended-support rate" in message


def test_a_version_beyond_the_validation_schemas_is_refused():
    with pytest.raises(ConfigError, match=r"relay:eksVersion is '1\.38': newer than 1\.37"):
        settings_for("prod", eksVersion="1.38", today=TODAY)


def test_preview_warns_within_ninety_days_of_the_end_of_standard_support():
    end = eks_versions.CALENDAR["1.36"].end_of_standard_support
    assert eks_versions.support_warning("1.36", end - timedelta(days=eks_versions.WARN_DAYS + 1)) is None
    warning = eks_versions.support_warning("1.36", end - timedelta(days=eks_versions.WARN_DAYS))
    assert warning and str(end) in warning and "relay:eksVersion 1.36" in warning


def test_the_lb_controller_chart_must_support_the_version():
    with pytest.raises(
        ConfigError, match=r"relay:lbControllerChartVersion is '1\.13\.4'.*1\.36 needs .* 3\.5\.0"
    ):
        settings_for("prod", lbControllerChartVersion="1.13.4", today=TODAY)


def test_every_pinned_version_is_in_the_calendar_and_its_dates_are_ordered():
    assert set(eks_versions.PINS) <= set(eks_versions.CALENDAR)
    for version, dates in eks_versions.CALENDAR.items():
        assert dates.eks_release < dates.end_of_standard_support < dates.end_of_extended_support, version


def test_stack_evaluations_judge_support_on_the_pinned_day_and_deploys_on_today(monkeypatch):
    """tests/conftest.py pins the day, so the suites do not start failing once 1.36 leaves standard
    support; unpinned (`make preview`, `make deploy`), the day is today."""
    assert str(TODAY) == os.environ[eks_versions.EVALUATION_DAY_ENV]
    end = eks_versions.CALENDAR["1.36"].end_of_standard_support
    monkeypatch.setenv(eks_versions.EVALUATION_DAY_ENV, str(end + timedelta(days=1)))
    run = capture_run("prod")
    assert run.error and f"relay:eksVersion is '1.36': out of EKS standard support since {end}" in run.error
    monkeypatch.delenv(eks_versions.EVALUATION_DAY_ENV)
    assert eks_versions.judging_day() == date.today()
