"""The env file and profile hand-over: quoting, refusal to overwrite, mode 0600."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli import settings as config
from autoplay_cli.errors import UsageError
from autoplay_cli.onboarding import _envfile


def test_render_quotes_values_and_comments_missing_ones() -> None:
    text = _envfile.render_env_file({"A": "plain", "B": "it's $x", "C": None}, header="one\n\ntwo")
    assert text.splitlines() == [
        "# one",
        "#",
        "# two",
        "export A=plain",
        "export B='it'\"'\"'s $x'",
        "# C is not set: see the onboarding output",
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"),
        max_size=40,
    )
)
def test_any_value_survives_a_shell_round_trip(value: str) -> None:
    text = _envfile.render_env_file({"AUTOPLAY_TOKEN": value}, header="h")
    out = subprocess.run(
        ["bash", "-c", text + 'printf %s "$AUTOPLAY_TOKEN"'],
        env={},
        capture_output=True,
        check=True,
    ).stdout
    assert out.decode("utf-8", "surrogateescape") == value


def test_targets_are_checked(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="is a directory"):
        _envfile.check_env_file_target(tmp_path, force=True)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="is not a directory"):
        _envfile.check_env_file_target(blocker / "a.env", force=False)
    with pytest.raises(UsageError, match="refusing to overwrite"):
        _envfile.check_env_file_target(blocker, force=False)
    _envfile.check_env_file_target(blocker, force=True)
    _envfile.check_env_file_target(tmp_path / "new" / "a.env", force=False)


def test_write_is_private_and_needs_force_to_replace(tmp_path: Path) -> None:
    target = tmp_path / "a.env"
    _envfile.write_env_file(target, "export A=1\n", force=False)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    with pytest.raises(UsageError):
        _envfile.write_env_file(target, "export A=2\n", force=False)
    _envfile.write_env_file(target, "export A=2\n", force=True)
    assert target.read_text() == "export A=2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.env"]  # no temp file left behind


def test_a_file_that_appears_after_the_check_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.env"

    def racing_check(path: Path, *, force: bool) -> None:
        path.write_text("someone else's\n")  # created between the check and the write

    monkeypatch.setattr(_envfile, "check_env_file_target", racing_check)
    with pytest.raises(UsageError, match="refusing to overwrite"):
        _envfile.write_env_file(target, "export A=1\n", force=False)
    assert target.read_text() == "someone else's\n"
    assert [p.name for p in tmp_path.iterdir()] == ["a.env"]


def test_mode_is_0600_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        for force in (False, True):
            target = tmp_path / "new" / "a.env"
            _envfile.write_env_file(target, "export A=1\n", force=force)
            assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(target.parent).st_mode) == 0o700
        path = _envfile.save_profile({"token": "uk_live_x"}, profile="p")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


def test_save_profile_drops_missing_values_and_keeps_other_settings() -> None:
    config.set_value("token", "uk_live_previous_product", profile="p1")
    config.set_value("redis_url", "redis://127.0.0.1:6379/0", profile="p1")
    config.set_value("token", "uk_live_other_profile", profile="p2")
    path = _envfile.save_profile({"product_id": "acme", "token": None}, profile="p1")
    assert path == config.config_path()
    assert config.load_profiles(path) == {
        "p1": {"product_id": "acme", "redis_url": "redis://127.0.0.1:6379/0"},
        "p2": {"token": "uk_live_other_profile"},
    }


def test_a_profile_holding_a_product_is_refused_without_force() -> None:
    _envfile.check_profile_target("p1", force=False)  # no config file yet
    config.set_value("redis_url", "redis://127.0.0.1:6379/0", profile="p1")
    config.set_value("connector_url", "https://connector.test", profile="p1")
    config.set_value("admin_key", "admin-key-0123456789", profile="p1")
    _envfile.check_profile_target("p1", force=False)  # set up for onboarding, no product yet
    config.set_value("token", "uk_live_previous_product", profile="p1")
    with pytest.raises(UsageError, match="already holds token; refusing") as info:
        _envfile.check_profile_target("p1", force=False)
    assert "uk_live_previous_product" not in info.value.one_line()
    _envfile.check_profile_target("p1", force=True)
