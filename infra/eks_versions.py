"""Kubernetes versions this program may run on EKS: support dates, and what is pinned per version.

A cluster past its end of standard support is billed at the extended-support rate (six times the
control-plane price), so config refuses such a version and `make preview` warns WARN_DAYS before
the end. The dates are the Amazon EKS Kubernetes release calendar
(https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, UTC); compare them with
`aws eks describe-cluster-versions` when adding a version. kubernetes-validate 1.37 ships schemas
up to 1.37, which caps what the tests can check (MAX_VERSION).

Only versions with a `Pins` entry can be deployed: the managed add-on builds
(`aws eks describe-addon-versions --kubernetes-version <v> --addon-name <name>`), the Cluster
Autoscaler release of the same minor (it must match the control plane), and the oldest AWS Load
Balancer Controller chart whose release notes list the version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date

MAX_VERSION = (1, 37)
WARN_DAYS = 90
# An ISO date that replaces today when support is judged. The test suites set it, so an evaluation
# under mocks gives the same answer on any date; `make preview` and `make deploy` never do.
EVALUATION_DAY_ENV = "RELAY_EVALUATION_DAY"


@dataclass(frozen=True)
class SupportDates:
    eks_release: date
    end_of_standard_support: date
    end_of_extended_support: date


@dataclass(frozen=True)
class Pins:
    addons: dict[str, str]  # managed add-on name -> build
    cluster_autoscaler_image_tag: str  # registry.k8s.io/autoscaling/cluster-autoscaler:<tag>
    minimum_lb_controller_chart: tuple[int, int, int]


CALENDAR: dict[str, SupportDates] = {
    "1.33": SupportDates(date(2025, 5, 29), date(2026, 7, 29), date(2027, 7, 29)),
    "1.34": SupportDates(date(2025, 10, 2), date(2026, 12, 2), date(2027, 12, 2)),
    "1.35": SupportDates(date(2026, 1, 27), date(2027, 3, 27), date(2028, 3, 27)),
    "1.36": SupportDates(date(2026, 6, 2), date(2027, 8, 2), date(2028, 8, 2)),
}

PINS: dict[str, Pins] = {
    "1.36": Pins(
        addons={
            "vpc-cni": "v1.20.4-eksbuild.2",
            "coredns": "v1.12.4-eksbuild.1",
            "kube-proxy": "v1.36.0-eksbuild.2",
            "eks-pod-identity-agent": "v1.3.10-eksbuild.1",
            "metrics-server": "v0.8.0-eksbuild.3",
            "amazon-cloudwatch-observability": "v4.6.0-eksbuild.1",
        },
        cluster_autoscaler_image_tag="v1.36.1",
        # v3.5.0 is the first controller release that lists Kubernetes 1.36.
        minimum_lb_controller_chart=(3, 5, 0),
    ),
}


def judging_day() -> date:
    """The day standard support is judged on: today, or the pinned RELAY_EVALUATION_DAY."""
    pinned = os.environ.get(EVALUATION_DAY_ENV)
    return date.fromisoformat(pinned) if pinned else date.today()


def parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def days_of_standard_support(version: str, today: date) -> int:
    return (CALENDAR[version].end_of_standard_support - today).days


def support_problem(version: str, today: date) -> str | None:
    """Why `version` may not be deployed on `today`, or None when it may."""
    if parse(version) > MAX_VERSION:
        newest = ".".join(map(str, MAX_VERSION))
        return f"newer than {newest}, the newest version the tests can validate manifests for"
    if version not in CALENDAR:
        return f"not in the support calendar of infra/eks_versions.py (known: {', '.join(CALENDAR)})"
    if days_of_standard_support(version, today) < 0:
        end = CALENDAR[version].end_of_standard_support
        return f"out of EKS standard support since {end}, so billed at the extended-support rate"
    if version not in PINS:
        return f"no add-on builds pinned for it in infra/eks_versions.py (pinned: {', '.join(PINS)})"
    return None


def support_warning(version: str, today: date) -> str | None:
    """A reminder to upgrade, within WARN_DAYS of the end of standard support."""
    left = days_of_standard_support(version, today)
    if left <= WARN_DAYS:
        end = CALENDAR[version].end_of_standard_support
        return (
            f"relay:eksVersion {version} leaves EKS standard support on {end} ({left} days); "
            "upgrade one minor version before then (docs/platform-engineers.md, 'Kubernetes version')"
        )
    return None
