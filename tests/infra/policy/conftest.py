"""Make the pack directory the import root for `relay_policies`, exactly as the Pulumi CLI does."""

import sys
from pathlib import Path

POLICY_DIR = Path(__file__).resolve().parents[3] / "infra" / "policy"
sys.path.insert(0, str(POLICY_DIR))
