"""Every socket disconnect writes one JSON log line with `event: socket.disconnect`: the
AppSocketDisconnectSpike alarm (infra/monitoring.py) is a metric filter on exactly that field."""

import re
import time
from collections.abc import Iterator

import pytest

from infra.monitoring import APP_LOG_FILTERS
from tests.app.middleware.test_stack_in_service import json_lines
from tests.utils.relay_process import RelayProcess
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id


@pytest.fixture(scope="module")
def logged_server(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    env = {**relay_env, "RELAY_LOG_LEVEL": "INFO"}
    with RelayProcess.start(env, tmp_path_factory.mktemp("disconnect-logs"), name="disconnects") as server:
        yield server


def alarm_event_name() -> str:
    """The value the alarm's metric filter matches (`$.log_processed.event = "<name>"`)."""
    match = re.fullmatch(r'\$\.log_processed\.event = "(.+)"', APP_LOG_FILTERS["SocketDisconnects"])
    assert match, APP_LOG_FILTERS["SocketDisconnects"]
    return match.group(1)


def lines_with_event(server: RelayProcess, event: str, timeout: float = 5) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not (lines := [line for line in json_lines(server.log_file) if line.get("event") == event]):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return lines


async def test_a_closed_socket_logs_the_event_the_alarm_counts(logged_server, signing_keys) -> None:
    user = await SocketUser(logged_server.url, signing_keys.mint(new_user_id())).connect()
    await user.close()
    lines = lines_with_event(logged_server, alarm_event_name())
    assert len(lines) == 1, lines
    assert lines[0]["reason"], "the reason helps tell client closes from server-side drops"
