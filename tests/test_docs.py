"""The README documents every command and every exit code the code defines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autoplay_cli import errors
from autoplay_cli.cli.app import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [c[0] for c in COMMANDS])
def test_every_command_has_a_readme_section_and_a_table_row(name: str) -> None:
    assert f"<!-- section: {name} -->" in README
    assert re.search(rf"^\| `autoplay {re.escape(name)}` \|", README, re.M), name


def test_exit_code_table_matches_the_error_tree() -> None:
    section = README.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    documented = {int(m) for m in re.findall(r"^\| (\d+) \|", section, re.M)}
    assert documented == set(errors.EXIT_CODES)


def test_every_error_class_maps_to_a_documented_code() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.AutoplayError)
    ]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.exit_code in errors.EXIT_CODES, cls


def test_one_line_joins_cause_and_fix() -> None:
    err = errors.ConfigError("no token\nconfigured", hint="pass --token")
    assert err.one_line() == "no token configured — pass --token"
    assert errors.AutoplayError("plain").one_line() == "plain"
