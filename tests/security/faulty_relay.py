"""`relay serve` with one fault injected, for the harness's own tests: GET /api/me raises, so the
process answers 500 and logs a traceback, as a real bug would.

RelayProcess.start(prefix=FAULTY_RELAY) runs `python -m tests.security.faulty_relay python -m relay
serve ...`: this module breaks the route's service call, then runs the relay command it was given.
"""

import sys

from relay.cli import main
from relay.services import users

FAULTY_RELAY = [sys.executable, "-m", "tests.security.faulty_relay"]
FAULT = "injected fault: the suite's guard must report this 500 and its traceback"


async def _broken_get_user(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError(FAULT)


if __name__ == "__main__":
    users.get_user = _broken_get_user
    relay_args = sys.argv[sys.argv.index("relay") + 1 :]  # after `python -m relay`
    sys.exit(main(relay_args))
