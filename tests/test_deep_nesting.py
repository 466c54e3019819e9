"""A file nested deeper than Python's parsers go is bad input (one `Error:` line), not a crash."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autoplay_cli.errors import AutoplayError, ConfigError, InputError

DEPTH = 100_000
JSON = "[" * DEPTH + "]" * DEPTH
TOML = "a = " + JSON


def simulate_scenario(tmp: Path) -> Any:
    from autoplay_cli.simulate.inputs import load_scenario

    (tmp / "s.ndjson").write_text(JSON + "\n")
    return load_scenario(tmp / "s.ndjson")


def emulator_scenario(tmp: Path) -> Any:
    from autoplay_cli.emulator.scenario import read_file

    (tmp / "s.toml").write_text(TOML)
    return read_file(tmp / "s.toml")


def trigger_config_json(tmp: Path) -> Any:
    from autoplay_cli.triggers.config import load_trigger_config

    (tmp / "t.json").write_text(JSON)
    return load_trigger_config(tmp / "t.json")


def trigger_config_toml(tmp: Path) -> Any:
    from autoplay_cli.triggers.config import load_trigger_config

    (tmp / "t.toml").write_text(TOML)
    return load_trigger_config(tmp / "t.toml")


def skills_manifest(tmp: Path) -> Any:
    from autoplay_cli.skillpack import manifest

    (tmp / manifest.MANIFEST_NAME).write_text(JSON)
    return manifest.load(tmp)


def config_file(tmp: Path) -> Any:
    from autoplay_cli.settings import load_profiles

    (tmp / "config.toml").write_text(TOML)
    return load_profiles(tmp / "config.toml")


@pytest.mark.parametrize(
    ("read", "error"),
    [
        (simulate_scenario, InputError),
        (emulator_scenario, InputError),
        (trigger_config_json, InputError),
        (trigger_config_toml, InputError),
        (skills_manifest, InputError),
        (config_file, ConfigError),
    ],
)
def test_deep_nesting_is_an_input_error(
    tmp_path: Path, read: Callable[[Path], Any], error: type[AutoplayError]
) -> None:
    with pytest.raises(error, match=r"nested too deeply|not valid"):
        read(tmp_path)
