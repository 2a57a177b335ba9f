"""A token command (RELAY_TEST_TOKEN_COMMAND) for the smoke run's refresh check: a token from the
topology's own minter that lives only `ttl` seconds, like Clerk's.

    python short_token.py <topology relay.env> <ttl seconds> <user>
"""

import sys
from pathlib import Path

from relay.auth.minter import mint_token
from relay.auth.token_source import local_settings

env_file, ttl, user = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
print(mint_token(local_settings(env_file), user, ttl=ttl))
