"""`relay token` prints only a token, and only in local mode (SERVICE-CONTRACT)."""

import httpx
import jwt

from tests.utils.relay_process import run_relay
from tests.utils.tokens import new_user_id


def test_token_prints_a_token_the_server_accepts(relay_env, relay_server) -> None:
    user_id = new_user_id()
    result = run_relay(relay_env, "token", "--user", user_id, "--ttl", "60")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    me = httpx.get(f"{relay_server.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["id"] == user_id


def test_token_is_refused_outside_local_mode(relay_env) -> None:
    env = {
        key: value
        for key, value in relay_env.items()
        if key not in ("RELAY_LOCAL_SIGNING_KEY_FILE", "RELAY_S3_ENDPOINT_URL")
    }
    result = run_relay({**env, "RELAY_ENVIRONMENT": "staging"}, "token", "--user", "alice")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "RELAY_ENVIRONMENT" in result.stderr


def test_signing_key_in_production_settings_refuses_to_start(relay_env) -> None:
    env = {key: value for key, value in relay_env.items() if key != "RELAY_S3_ENDPOINT_URL"}
    result = run_relay({**env, "RELAY_ENVIRONMENT": "prod"}, "serve")
    assert result.returncode == 2
    assert "RELAY_LOCAL_SIGNING_KEY_FILE" in result.stderr


def test_keygen_writes_a_private_key_only_its_owner_can_read(relay_env, tmp_path) -> None:
    private, public = tmp_path / "local" / "signing.pem", tmp_path / "local" / "signing.pub.pem"
    result = run_relay(relay_env, "keygen", "--private", str(private), "--public", str(public))
    assert result.returncode == 0, result.stderr
    assert private.stat().st_mode & 0o777 == 0o600
    assert b"BEGIN PRIVATE KEY" in private.read_bytes() and b"BEGIN PUBLIC KEY" in public.read_bytes()
    env = {
        **relay_env,
        "RELAY_LOCAL_SIGNING_KEY_FILE": str(private),
        "RELAY_AUTH_PUBLIC_KEY_FILE": str(public),
    }
    token = run_relay(env, "token", "--user", "alice").stdout.strip()
    assert (
        jwt.decode(token, public.read_bytes(), algorithms=["RS256"], options={"verify_aud": False})["sub"]
        == "alice"
    )
