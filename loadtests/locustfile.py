"""Relay's locust entry point: the user classes, per-IP source addresses, and the SLO gate.

Run it through `make loadtest` (loadtests/run.py), or directly:
    locust -f loadtests/locustfile.py[,loadtests/shapes/ramp.py] --host URL [ChatUser ApiUser UploadUser]
Targets and tokens come from the command line and the environment (README), never from here.
"""

import gc
import logging
import os
from pathlib import Path

from locust import events
from locust.runners import WorkerRunner

from loadtests import config, slo, source_addresses
from loadtests.users.api import ApiUser
from loadtests.users.chat import ChatUser
from loadtests.users.uploads import UploadUser

log = logging.getLogger("loadtests")

for user_class in (ChatUser, ApiUser, UploadUser):
    user_class.weight = config.load().weights[user_class.__name__]

if (network := os.environ.get("LOADTEST_SOURCE_NETWORK", source_addresses.DEFAULT_NETWORK)) != "off":
    source_addresses.install(source_addresses.SourceAddresses(network))


@events.init_command_line_parser.add_listener
def add_slo_option(parser, **_kwargs):
    parser.add_argument(
        "--slo", env_var="LOADTEST_SLO", default=str(slo.DEFAULT_PATH), help="SLO file (slo.yaml)"
    )


@events.init.add_listener
def check_slo_file(environment, **_kwargs):
    """A broken SLO file stops the run before it starts, not after."""
    if not isinstance(environment.runner, WorkerRunner):
        slo.load(Path(environment.parsed_options.slo))


@events.spawning_complete.add_listener
def freeze_the_users(**_kwargs):
    """Once this process's users exist, their state moves out of the garbage collector's sight: a
    gc.callbacks trace of 1,000-user runs showed each worker's full collections take 100-125 ms
    every 8-26 s and free nothing, a pause that every receipt in the worker waited for and that
    the stats counted as the service's latency."""
    gc.freeze()


@events.quitting.add_listener
def enforce_slo(environment, **_kwargs):
    if isinstance(environment.runner, WorkerRunner):
        return  # the master holds the merged stats
    limits = slo.load(Path(environment.parsed_options.slo))
    checks = slo.evaluate(limits, list(environment.stats.entries.values()), environment.stats.total)
    report = slo.table(checks)
    breaches = [check for check in checks if not check.passed]
    for check in breaches:
        log.error(
            "SLO breach: %s %s measured %.4g, limit %.4g",
            check.request,
            check.limit_name,
            check.measured,
            check.limit,
        )
    verdict = f"SLO gate: {'FAIL' if breaches else 'pass'} ({len(breaches)} of {len(checks)} limits breached)"
    print(f"\n{report}\n{verdict}", flush=True)
    if prefix := environment.parsed_options.csv_prefix:
        Path(f"{prefix}_slo.txt").write_text(f"{report}\n{verdict}\n")
    environment.process_exit_code = 1 if breaches else 0
