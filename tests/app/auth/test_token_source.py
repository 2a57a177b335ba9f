"""Token sources for test users: a real command (subprocess), a JSON file, and the local minter."""

import json
import sys
import time
from pathlib import Path

import jwt
import pytest

from relay.auth.token_source import (
    COMMAND_VARIABLE,
    FILE_VARIABLE,
    TOPOLOGY_ENV_VARIABLE,
    CachingTokenSource,
    TokenSourceError,
    token_source_from_env,
)
from tests.utils.tokens import ISSUER, ORIGIN, SigningKeys

# A token command like a Clerk testing-token script: mints for its last argument, logs each run.
TOKEN_SCRIPT = """
import sys, time
from pathlib import Path
from tests.utils.tokens import SigningKeys
keys = SigningKeys(Path(sys.argv[1]), Path(sys.argv[1]))
ttl = int(sys.argv[2])
with open(sys.argv[3], "a") as runs:
    runs.write(sys.argv[-1] + "\\n")
now = int(time.time())
print(keys.mint(sys.argv[-1], iat=now, nbf=now, exp=now + ttl))
"""


@pytest.fixture
def keys(tmp_path: Path) -> SigningKeys:
    return SigningKeys.create(tmp_path / "keys")


def _command(tmp_path: Path, keys: SigningKeys, *, ttl: int) -> tuple[str, Path]:
    script, runs = tmp_path / "token_command.py", tmp_path / "runs.log"
    script.write_text(TOKEN_SCRIPT)
    repo = Path(__file__).resolve().parents[3]
    command = f"env PYTHONPATH={repo} {sys.executable} {script} {keys.private_file} {ttl} {runs}"
    return command, runs


def _claims(token: str, keys: SigningKeys) -> dict:
    public_key = keys.public_file.read_bytes()
    return jwt.decode(token, public_key, algorithms=["RS256"], issuer=ISSUER, options={"verify_aud": False})


def test_command_runs_once_per_user_while_the_token_is_fresh(tmp_path: Path, keys: SigningKeys) -> None:
    command, runs = _command(tmp_path, keys, ttl=3600)
    source = token_source_from_env({COMMAND_VARIABLE: command})

    first = source.token("alice")
    assert source.token("alice") == first
    assert _claims(first, keys)["sub"] == "alice"
    assert _claims(source.token("bob"), keys)["sub"] == "bob"
    assert runs.read_text().split() == ["alice", "bob"]


def test_token_is_fetched_again_once_a_third_of_its_life_is_left(keys: SigningKeys) -> None:
    now = [1_800_000_000.0]
    minted: list[str] = []

    def fetch(user: str) -> str:
        issued = int(now[0])
        minted.append(keys.mint(user, iat=issued, nbf=issued, exp=issued + 60))
        return minted[-1]

    source = CachingTokenSource(fetch, origin="test", clock=lambda: now[0])
    first = source.token("alice")
    now[0] += 39  # 21 s of 60 left
    assert source.token("alice") == first
    now[0] += 1  # 20 s left: a third
    second = source.token("alice")

    assert second != first
    assert len(minted) == 2


def test_command_is_run_again_when_its_token_nears_expiry(tmp_path: Path, keys: SigningKeys) -> None:
    command, runs = _command(tmp_path, keys, ttl=9)  # refreshed with a third (3 s) of its life left
    source = token_source_from_env({COMMAND_VARIABLE: command})

    first = source.token("alice")
    time.sleep(6.2)

    assert source.token("alice") != first
    assert runs.read_text().split() == ["alice", "alice"]


def test_failing_command_names_the_variable(tmp_path: Path) -> None:
    script = tmp_path / "fails.py"
    script.write_text("import sys; print('no such test user', file=sys.stderr); sys.exit(3)")
    source = token_source_from_env({COMMAND_VARIABLE: f"{sys.executable} {script}"})

    expected = rf"{COMMAND_VARIABLE} exited 3 for user 'carol': no such test user"
    with pytest.raises(TokenSourceError, match=expected):
        source.token("carol")


def test_missing_command_names_the_variable() -> None:
    source = token_source_from_env({COMMAND_VARIABLE: "/nonexistent/clerk-token"})

    expected = f"{COMMAND_VARIABLE}: '/nonexistent/clerk-token' was not found"
    with pytest.raises(TokenSourceError, match=expected):
        source.token("alice")


def test_expired_token_is_refused_without_showing_it(tmp_path: Path, keys: SigningKeys) -> None:
    expired = keys.mint("alice", iat=int(time.time()) - 120, exp=int(time.time()) - 60)
    token_file = tmp_path / "tokens.json"
    token_file.write_text(json.dumps({"alice": expired}))
    source = token_source_from_env({FILE_VARIABLE: str(token_file)})

    with pytest.raises(TokenSourceError, match="expired") as error:
        source.token("alice")
    assert expired not in str(error.value)
    assert FILE_VARIABLE in str(error.value)


def test_file_gives_each_user_its_token(tmp_path: Path, keys: SigningKeys) -> None:
    tokens = {"alice": keys.mint("alice"), "bob": keys.mint("bob")}
    token_file = tmp_path / "tokens.json"
    token_file.write_text(json.dumps(tokens))
    source = token_source_from_env({FILE_VARIABLE: str(token_file)})

    assert source.token("bob") == tokens["bob"]
    with pytest.raises(TokenSourceError, match=f"{FILE_VARIABLE}=.*tokens.json has no token for user 'dave'"):
        source.token("dave")


def test_command_wins_over_file(tmp_path: Path, keys: SigningKeys) -> None:
    command, runs = _command(tmp_path, keys, ttl=3600)
    source = token_source_from_env({COMMAND_VARIABLE: command, FILE_VARIABLE: str(tmp_path / "absent.json")})

    assert _claims(source.token("erin"), keys)["sub"] == "erin"
    assert runs.read_text().split() == ["erin"]


def _topology_env(tmp_path: Path, keys: SigningKeys) -> Path:
    env_file = tmp_path / "relay.env"
    env_file.write_text(
        "\n".join(
            [
                "RELAY_ENVIRONMENT=local",
                "RELAY_DATABASE_URL=postgresql+asyncpg://relay_app@127.0.0.1:5432/unused",
                "RELAY_REDIS_URL=redis://127.0.0.1:6379/0",
                "RELAY_S3_BUCKET=unused",
                f"RELAY_AUTH_ISSUER={ISSUER}",
                f"RELAY_AUTH_PUBLIC_KEY_FILE={keys.public_file}",
                f"RELAY_LOCAL_SIGNING_KEY_FILE={keys.private_file}",
                f"RELAY_ALLOWED_ORIGINS={ORIGIN}",
                f"RELAY_PUBLIC_URL={ORIGIN}",
            ]
        )
    )
    return env_file


def test_local_minter_signs_with_the_topology_key(tmp_path: Path, keys: SigningKeys) -> None:
    source = token_source_from_env({TOPOLOGY_ENV_VARIABLE: str(_topology_env(tmp_path, keys))})

    token = source.token("frank")
    claims = _claims(token, keys)
    assert (claims["sub"], claims["azp"]) == ("frank", ORIGIN)
    assert claims["exp"] - claims["iat"] == 3600
    assert source.token("frank") == token


def test_no_source_at_all_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(TokenSourceError) as error:
        token_source_from_env({TOPOLOGY_ENV_VARIABLE: str(tmp_path / "relay.env")})
    message = str(error.value)
    assert COMMAND_VARIABLE in message and FILE_VARIABLE in message and "make up" in message
