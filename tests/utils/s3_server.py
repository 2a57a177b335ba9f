"""moto in server mode on a free port with the uploads bucket: the S3-compatible server of DESIGN §3."""

import os
import subprocess
import sys
from dataclasses import dataclass

import boto3

from tests.utils.ports import free_port, wait_for_http

# moto accepts any credentials; real ones must never be needed (or leak) in tests.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass
class S3Server:
    port: int
    bucket: str
    process: subprocess.Popen

    @classmethod
    def start(cls, bucket: str = "relay-uploads-test") -> "S3Server":
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **CREDENTIALS},
        )
        server = cls(port, bucket, process)
        wait_for_http(f"{server.url}/moto-api/", timeout=30)
        server.client().create_bucket(Bucket=bucket)
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # moto only
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
