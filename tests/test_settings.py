"""Settings resolution layer by layer, masking, the profile file and its mode."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autoplay_cli import settings as config
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
        config.resolve().check_file()
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
        config.resolve().check_file()


def test_require_names_every_way_to_set_a_value() -> None:
    with pytest.raises(ConfigError) as info:
        config.resolve().require("token")
    assert "pass `token`" in info.value.one_line() and info.value.setting == "token"
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
    # no temporary file left; the lock file stays, empty, for the next writer
    assert sorted(p.name for p in isolated_env.iterdir()) == [".config.toml.lock", "config.toml"]


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


# --- concurrent writers, layout kept, symlinks, full disks, validation ---------------------


def _autoplay(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def test_parallel_config_set_processes_keep_every_profile(isolated_env: Path) -> None:
    procs = [
        _autoplay("config", "set", "product_id", f"product-{n}", "--profile", f"p{n}")
        for n in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    profiles = config.load_profiles(isolated_env / "config.toml")
    assert profiles == {f"p{n}": {"product_id": f"product-{n}"} for n in range(8)}


def test_parallel_save_profile_processes_keep_every_profile(isolated_env: Path) -> None:
    code = (
        "import sys\n"
        "from autoplay_cli.onboarding._envfile import save_profile\n"
        "n = sys.argv[1]\n"
        "save_profile({'product_id': 'acme-' + n, 'token': 'uk_' + n * 12}, profile='s' + n)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(8)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    profiles = config.load_profiles(isolated_env / "config.toml")
    assert sorted(profiles) == [f"s{n}" for n in range(8)]


def test_set_keeps_comments_and_layout(isolated_env: Path) -> None:
    original = (
        "# my settings\n"
        "[default]\n"
        "# the staging connector\n"
        'connector_url = "https://connector.example.com"  \n'
        "\n"
        "[other]   # second profile\n"
        'product_id = "b"\n'
    )
    path = write_config(isolated_env, original)
    config.set_value("product_id", "acme")
    config.set_value("connector_url", "https://c2.example.com")
    config.set_value("product_id", "z", profile="new")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# my settings\n[default]\n# the staging connector\n")
    assert 'connector_url = "https://c2.example.com"\nproduct_id = "acme"\n' in text
    assert "[other]   # second profile\n" in text
    assert config.load_profiles(path) == {
        "default": {"connector_url": "https://c2.example.com", "product_id": "acme"},
        "other": {"product_id": "b"},
        "new": {"product_id": "z"},
    }
    assert config.unset_value("product_id", profile="other")
    assert "# my settings" in path.read_text(encoding="utf-8")
    assert "other" not in config.load_profiles(path)


@pytest.mark.parametrize(
    ("original", "kept"),
    [
        (
            '# mine\ndefault = { product_id = "a", connector_url = "https://c.example.com" }'
            "  # one line\n"
            '# after\n[other]\n# theirs\nproduct_id = "b"\n',
            ["# mine\n", "  # one line\n", "# after\n", "# theirs\n"],
        ),
        (
            '# mine\ndefault.product_id = "a"  # id\n# url next\n'
            'default.connector_url = "https://c.example.com"\n'
            '\n[other]\n# theirs\nproduct_id = "b"\n',
            ["# mine\n", "# url next\n", "# theirs\n"],
        ),
    ],
    ids=["inline table", "dotted keys"],
)
def test_set_and_unset_keep_comments_of_inline_tables_and_dotted_keys(
    isolated_env: Path, original: str, kept: list[str]
) -> None:
    path = write_config(isolated_env, original)
    config.set_value("product_id", "acme")
    config.set_value("unkey_api_id", "api_123")
    assert config.unset_value("connector_url")
    text = path.read_text(encoding="utf-8")
    assert all(comment in text for comment in kept), text
    assert config.load_profiles(path) == {
        "default": {"product_id": "acme", "unkey_api_id": "api_123"},
        "other": {"product_id": "b"},
    }
    assert config.unset_value("product_id") and config.unset_value("unkey_api_id")
    text = path.read_text(encoding="utf-8")
    assert "# mine\n" in text and "# theirs\n" in text
    assert config.load_profiles(path) == {"other": {"product_id": "b"}}


def test_set_writes_through_a_symlinked_config_file(isolated_env: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "autoplay.toml"
    real.parent.mkdir()
    real.write_text('[default]\nproduct_id = "a"\n', encoding="utf-8")
    link = isolated_env / "config.toml"
    link.symlink_to(real)
    config.set_value("product_id", "b")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert config.load_profiles(real) == {"default": {"product_id": "b"}}


def test_a_full_disk_is_an_error_and_leaves_the_file_unchanged(isolated_env: Path) -> None:
    import resource
    import signal

    path = write_config(isolated_env, '[default]\nproduct_id = "a"\n')
    before = path.read_bytes()

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40, 40))

    proc = _autoplay(
        "config",
        "set",
        "connector_url",
        "https://" + "c" * 60 + ".example.com",
        preexec_fn=small_files,
    )
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    assert err.startswith("Error: cannot write config file") and "unchanged" in err
    assert "Traceback" not in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in isolated_env.iterdir()) == [".config.toml.lock", "config.toml"]


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("connector_url", "connector.example.com", "absolute http(s)"),
        ("connector_url", "https://u:pw@connector.example.com", "user name or password"),
        ("unkey_server_url", "ftp://unkey", "absolute http(s)"),
        ("product_id", "acme app!", "invalid product id"),
        ("redis_url", "http://cache:6379", "invalid Redis URL"),
        ("unkey_api_id", "my api", "invalid Unkey API id"),
        ("token", "uk_live with space", "spaces"),
    ],
)
def test_set_checks_the_value_for_its_key(key: str, value: str, needle: str) -> None:
    with pytest.raises(UsageError, match=re.escape(needle)):
        config.set_value(key, value)
    assert not (config.config_path()).exists()


def test_set_normalises_a_valid_url() -> None:
    config.set_value("connector_url", "https://connector.example.com/")
    assert config.resolve().get("connector_url") == "https://connector.example.com"


def test_config_dir_is_never_grown_from_the_filesystem_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing_root = Path("/autoplay-test-should-not-exist-" + os.urandom(4).hex())
    monkeypatch.setenv("AUTOPLAY_CONFIG_DIR", str(missing_root / "a" / "b"))
    with pytest.raises(ConfigError, match="does not exist"):
        config.set_value("product_id", "acme")
    assert not missing_root.exists()
    # Under an existing directory, the one missing directory is created.
    monkeypatch.setenv("AUTOPLAY_CONFIG_DIR", str(tmp_path / "cfg"))
    config.set_value("product_id", "acme")
    assert stat.S_IMODE((tmp_path / "cfg").stat().st_mode) == 0o700
    # ... but not a tree below a missing one.
    monkeypatch.setenv("AUTOPLAY_CONFIG_DIR", str(tmp_path / "x" / "y"))
    with pytest.raises(ConfigError, match="does not exist"):
        config.set_value("product_id", "acme")
    assert not (tmp_path / "x").exists()


def test_a_malformed_file_does_not_block_settings_given_as_flags(isolated_env: Path) -> None:
    write_config(isolated_env, "[default\n")
    flags = {"connector_url": "http://c", "product_id": "p", "token": "uk_123456789012"}
    settings = config.resolve(flags, profile="staging")
    assert settings.require_all("connector_url", "product_id", "token") == (
        "http://c",
        "p",
        "uk_123456789012",
    )
    # A value the file might have given still reports the file.
    with pytest.raises(ConfigError, match="not valid TOML"):
        settings.get("redis_url")


def test_every_missing_setting_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        config.resolve().require_all("connector_url", "product_id", "token")
    line = info.value.one_line()
    for needle in ("connector_url", "product_id", "token", "`connector_url`", "AUTOPLAY_TOKEN"):
        assert needle in line
    assert "--" not in line.replace("--profile", "")  # flags are the CLI's to add
