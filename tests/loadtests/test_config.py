"""The load-test population file: the committed defaults follow issue 10's mix, and a wrong value
stops the run with the key's name."""

from pathlib import Path

import pytest
import yaml

from loadtests import config


def _raw() -> dict:
    return yaml.safe_load(config.DEFAULT_PATH.read_text())


def test_defaults_are_the_capacity_mix() -> None:
    loaded = config.parse(_raw(), config.DEFAULT_PATH, environ={})
    assert loaded.weights == {"ChatUser": 85, "ApiUser": 12, "UploadUser": 3}
    assert (loaded.chat.writer_share, loaded.chat.messages_per_minute) == (0.2, 2)
    sizes = [size.members for size in loaded.chat.channel_sizes]
    assert (min(sizes), max(sizes)) == (2, 500)


def test_transport_comes_from_the_environment_first() -> None:
    loaded = config.parse(_raw(), config.DEFAULT_PATH, environ={"LOADTEST_TRANSPORT": "polling"})
    assert loaded.chat.transport == "polling"
    with pytest.raises(config.ConfigError, match="LOADTEST_TRANSPORT"):
        config.parse(_raw(), config.DEFAULT_PATH, environ={"LOADTEST_TRANSPORT": "carrier-pigeon"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda raw: raw.pop("api"), "`api` must be a mapping"),
        (lambda raw: raw["chat"].update(writer_share=2), "chat.writer_share"),
        (lambda raw: raw["chat"].update(channel_sizes=[{"members": 1, "weight": 1}]), "chat.channel_sizes"),
        (lambda raw: raw["uploads"].update(colour="blue"), "uploads: .*colour"),
    ],
)
def test_wrong_values_name_their_key(change, message: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(config.ConfigError, match=message):
        config.parse(raw, Path("config.yaml"), environ={})
