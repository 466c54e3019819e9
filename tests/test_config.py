"""Settings resolution layer by layer, masking, the profile file and its mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from autoplay_cli import config
from autoplay_cli.errors import ConfigError, UsageError, mask, redact


def write_config(dir_: Path, text: str) -> Path:
    path = dir_ / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_when_nothing_is_set() -> None:
    settings = config.resolve()
    assert settings.get("connector_url") is None
    assert settings["connector_url"].source == "not set"
    assert settings.get("unkey_server_url") == "https://api.unkey.com"
    assert settings["unkey_server_url"].source == "default"


def test_each_layer_overrides_the_one_below(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_env, '[default]\nconnector_url = "http://profile"\n')
    assert config.resolve()["connector_url"].value == "http://profile"
    assert "profile 'default'" in config.resolve()["connector_url"].source

    monkeypatch.setenv("AUTOPLAY_CONNECTOR_URL", "http://env")
    resolved = config.resolve()["connector_url"]
    assert (resolved.value, resolved.source) == ("http://env", "env AUTOPLAY_CONNECTOR_URL")

    resolved = config.resolve({"connector_url": "http://flag"})["connector_url"]
    assert (resolved.value, resolved.source) == ("http://flag", "flag --connector-url")


def test_empty_flag_or_env_does_not_mask_lower_layers(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_env, '[default]\nproduct_id = "acme"\n')
    monkeypatch.setenv("AUTOPLAY_PRODUCT_ID", "")
    assert config.resolve({"product_id": None})["product_id"].value == "acme"


def test_token_falls_back_to_the_older_sdk_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOPLAY_APP_UNKEY_TOKEN", "uk_live_fallback_value")
    assert config.resolve()["token"].source == "env AUTOPLAY_APP_UNKEY_TOKEN"
    monkeypatch.setenv("AUTOPLAY_TOKEN", "uk_live_primary_value")
    assert config.resolve().get("token") == "uk_live_primary_value"


def test_named_profile_by_flag_and_by_env(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated_env, '[default]\nproduct_id = "a"\n\n[staging]\nproduct_id = "b"\n')
    assert config.resolve().get("product_id") == "a"
    assert config.resolve(profile="staging").get("product_id") == "b"
    monkeypatch.setenv("AUTOPLAY_PROFILE", "staging")
    assert config.resolve().get("product_id") == "b"
    assert config.resolve(profile="default").get("product_id") == "a"


def test_unknown_profile_is_a_config_error(isolated_env: Path) -> None:
    write_config(isolated_env, '[default]\nproduct_id = "a"\n')
    with pytest.raises(ConfigError, match="'prod' is not in"):
        config.resolve(profile="prod")


def test_xdg_config_home_is_used_without_override(tmp_path: Path) -> None:
    env = {"XDG_CONFIG_HOME": str(tmp_path)}
    assert config.config_path(env) == tmp_path / "autoplay" / "config.toml"
    assert config.config_path({"AUTOPLAY_CONFIG_DIR": str(tmp_path / "x")}) == (
        tmp_path / "x" / "config.toml"
    )


def test_malformed_file_names_the_file_and_line(isolated_env: Path) -> None:
    path = write_config(isolated_env, '[default]\nproduct_id = "a"\nthis is not toml\n')
    with pytest.raises(ConfigError) as info:
        config.resolve()
    assert str(path) in info.value.message
    assert "line 3" in info.value.message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('product_id = "a"\n', "must be a [profile] table"),
        ('[default]\ncolour = "blue"\n', "unknown setting 'colour'"),
        ("[default]\nproduct_id = 5\n", "must be a string"),
    ],
)
def test_structurally_wrong_files_are_config_errors(
    isolated_env: Path, text: str, needle: str
) -> None:
    write_config(isolated_env, text)
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        config.resolve()


def test_require_names_every_way_to_set_a_value() -> None:
    with pytest.raises(ConfigError) as info:
        config.resolve().require("token")
    assert "--token" in info.value.one_line()
    assert "AUTOPLAY_TOKEN" in info.value.one_line()
    assert "autoplay config set token" in info.value.one_line()


def test_set_value_writes_atomically_with_mode_0600(isolated_env: Path) -> None:
    path = config.set_value("token", 'uk_live_"quoted"\\value', profile="staging")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config.set_value("product_id", "acme", profile="staging")
    config.set_value("product_id", "other")
    assert config.resolve(profile="staging").get("token") == 'uk_live_"quoted"\\value'
    assert config.resolve(profile="staging").get("product_id") == "acme"
    assert config.resolve().get("product_id") == "other"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in isolated_env.iterdir()] == ["config.toml"]  # no temp files left


def test_set_value_rejects_unknown_keys_and_bad_profile_names() -> None:
    with pytest.raises(UsageError):
        config.set_value("nope", "x")
    with pytest.raises(UsageError):
        config.set_value("product_id", "x", profile="bad name!")


def test_unset_value(isolated_env: Path) -> None:
    config.set_value("product_id", "acme")
    assert config.unset_value("product_id") is True
    assert config.unset_value("product_id") is False
    assert config.resolve().get("product_id") is None


@pytest.mark.parametrize(
    ("secret", "shown"),
    [
        ("uk_live_abcdefghijkl7f3a", "uk_…7f3a"),
        ("abcdefghijklmnopq7f3a", "abc…7f3a"),
        ("abcdefghijklmnop7f3a", "…7f3a"),
        ("short-secret", "…cret"),
        ("tiny", "****"),
        ("", ""),
    ],
)
def test_mask_shows_a_short_prefix_and_last_four_at_most(secret: str, shown: str) -> None:
    assert mask(secret) == shown


@pytest.mark.parametrize("length", range(1, 80))
def test_mask_never_shows_more_than_a_third(length: int) -> None:
    secret = "".join(chr(ord("a") + i % 26) for i in range(length))
    visible = mask(secret).replace("…", "").replace("****", "")
    assert len(visible) * 3 <= length


def test_masked_secret_never_reveals_the_middle() -> None:
    secret = "uk_live_" + "S3CR3T" * 5 + "wxyz"
    masked = mask(secret)
    assert "S3CR3T" not in masked and masked.endswith("wxyz")


def test_resolved_display_masks_secrets_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOPLAY_TOKEN", "uk_live_0123456789abcdef")
    monkeypatch.setenv("AUTOPLAY_PRODUCT_ID", "acme-product")
    settings = config.resolve()
    assert settings["token"].display() == "uk_…cdef"
    assert settings["product_id"].display() == "acme-product"
    assert settings.secrets() == ["uk_live_0123456789abcdef"]


def test_redact_replaces_each_secret() -> None:
    text = "bad key uk_live_0123456789abcdef for acme"
    assert redact(text, ["uk_live_0123456789abcdef", None]) == "bad key uk_…cdef for acme"
