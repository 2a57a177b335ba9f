"""Relay's CrossGuard policies, importable without starting the policy engine.

`infra/policy/__main__.py` is the only place that builds the `PolicyPack` (its constructor starts
the analyzer's gRPC server and blocks); tests import `POLICIES` from here and call the validators
directly.
"""

from . import (
    backup,
    cloudfront,
    compute,
    ecr,
    eks,
    elasticache,
    kubernetes,
    load_balancer,
    network,
    observability,
    rds,
    s3,
    waf,
)

PACK_NAME = "relay"

POLICIES = [
    *rds.POLICIES,
    *elasticache.POLICIES,
    *s3.POLICIES,
    *cloudfront.POLICIES,
    *load_balancer.POLICIES,
    *waf.POLICIES,
    *eks.POLICIES,
    *compute.POLICIES,
    *ecr.POLICIES,
    *network.POLICIES,
    *observability.POLICIES,
    *backup.POLICIES,
    *kubernetes.POLICIES,
]
