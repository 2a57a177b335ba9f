"""Reading the JSON log lines a test captured."""

import io
import json
from typing import Any


def log_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [line for line in log_lines(stream) if line["logger"] == "relay.access"]
