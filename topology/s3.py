"""The S3-compatible server: moto in server mode (DESIGN.md §3), with the uploads bucket created.

moto keeps objects in memory: they last as long as the server, not across `make down`.
"""

import sys
from pathlib import Path

import boto3

from topology.layout import UPLOADS_BUCKET, Layout, Ports
from topology.processes import read_pid, spawn_daemon, stop_from_pid_file, wait_for_port

# moto accepts any credentials; these keep boto3's chain from looking for real ones.
DUMMY_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "relay-local",
    "AWS_SECRET_ACCESS_KEY": "relay-local-not-a-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def endpoint_url(ports: Ports) -> str:
    return f"http://127.0.0.1:{ports.s3}"


def start(ports: Ports, layout: Layout) -> int:
    moto = str(Path(sys.executable).with_name("moto_server"))
    pid = spawn_daemon(
        [moto, "-H", "127.0.0.1", "-p", str(ports.s3)],
        pid_file=layout.pid_file("moto"),
        log_file=layout.log_file("moto"),
    )
    wait_for_port(ports.s3, timeout=30, what="moto_server", log_file=layout.log_file("moto"))
    return pid


def ensure_bucket(ports: Ports, bucket: str = UPLOADS_BUCKET) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint_url(ports),
        region_name=DUMMY_AWS_ENV["AWS_DEFAULT_REGION"],
        aws_access_key_id=DUMMY_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket)


def stop(layout: Layout) -> int | None:
    return stop_from_pid_file(layout.pid_file("moto"), timeout=5)


def running_pid(layout: Layout) -> int | None:
    return read_pid(layout.pid_file("moto"))
