"""A private redis-server on a free port: tests may stop and restart it (never the shared one)."""

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.utils.ports import free_port, wait_for_port


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    @classmethod
    def start(cls) -> "RedisServer":
        server = cls(port=free_port(), workdir=Path(tempfile.mkdtemp(prefix="relay-redis-")))
        server.resume()
        return server

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def resume(self) -> None:
        """(Re)start on the same port, no persistence: a restart is an empty, reachable Redis."""
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
