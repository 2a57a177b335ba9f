"""moto in server mode as the AWS API for the runbook automation: real HTTP, real botocore.

The automation finds it through `AWS_ENDPOINT_URL` (botocore's own setting), so the code under
test has no emulator switch. moto's recorder keeps every request the automation sent, which is
how tests see values moto accepts but ignores (an RDS `RestoreTime`).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from tests.utils.ports import free_port, wait_for_http

ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto only
    "AWS_DEFAULT_REGION": "eu-west-1",
}


@dataclass
class AwsEmulator:
    port: int
    recording: Path
    process: subprocess.Popen

    @classmethod
    def start(cls, workdir: Path) -> AwsEmulator:
        port, recording = free_port(), workdir / "moto-recording.jsonl"
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **ENVIRONMENT, "MOTO_RECORDER_FILEPATH": str(recording)},
        )
        emulator = cls(port, recording, process)
        wait_for_http(f"{emulator.url}/moto-api/", timeout=30)
        return emulator

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def environment(self) -> dict[str, str]:
        return {**ENVIRONMENT, "AWS_ENDPOINT_URL": self.url}

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()
        httpx.post(f"{self.url}/moto-api/recorder/reset-recording", timeout=10).raise_for_status()
        httpx.post(f"{self.url}/moto-api/recorder/start-recording", timeout=10).raise_for_status()

    def requests(self, action: str) -> list[dict[str, list[str]]]:
        """The parameters of every recorded query-protocol request for `action` (e.g. an RDS call)."""
        text = httpx.get(f"{self.url}/moto-api/recorder/download-recording", timeout=10).text
        found = []
        for line in filter(None, text.splitlines()):
            entry = json.loads(line)
            body = entry.get("body") or ""
            if entry.get("body_encoded"):
                body = base64.b64decode(body).decode()
            params = parse_qs(body)
            if params.get("Action") == [action]:
                found.append(params)
        return found

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
