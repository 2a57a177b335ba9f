"""What each replica's /healthz and /readyz say while a fault runs, asked directly (as haproxy and
Kubernetes probes do), so a test can check that they tell the truth."""

import asyncio
import time
from dataclasses import dataclass, field

import httpx

from topology import Topology

PROBE_INTERVAL_SECONDS = 0.5
PROBE_TIMEOUT_SECONDS = 3.0  # /readyz bounds each check to 2 s


@dataclass
class Sample:
    at: float
    replica: str
    path: str
    status: int | None  # None: no answer within PROBE_TIMEOUT_SECONDS
    body: dict = field(default_factory=dict)

    @property
    def failing(self) -> list[str]:
        return list(self.body.get("failing", []))


@dataclass
class HealthProbe:
    topology: Topology
    samples: list[Sample] = field(default_factory=list)

    async def __aenter__(self) -> "HealthProbe":
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_SECONDS) as client:
            while True:
                await asyncio.gather(
                    *(
                        self._probe(client, name, port, path)
                        for name, port in self.topology.ports.replica_ports().items()
                        for path in ("/healthz", "/readyz")
                    )
                )
                await asyncio.sleep(PROBE_INTERVAL_SECONDS)

    async def _probe(self, client: httpx.AsyncClient, name: str, port: int, path: str) -> None:
        at = time.monotonic()
        try:
            response = await client.get(f"http://127.0.0.1:{port}{path}")
        except httpx.HTTPError:
            self.samples.append(Sample(at, name, path, None))
            return
        self.samples.append(Sample(at, name, path, response.status_code, response.json()))

    def between(self, start: float, end: float, *, path: str, replica: str | None = None) -> list[Sample]:
        return [
            s
            for s in self.samples
            if start <= s.at <= end and s.path == path and (replica is None or s.replica == replica)
        ]
