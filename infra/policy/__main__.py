"""Entry point the Pulumi CLI runs for `--policy-pack infra/policy`: builds the pack, nothing else.

Constructing `PolicyPack` starts the analyzer's gRPC server and blocks, so the policies live in
the importable `relay_policies` package.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from relay_policies import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
