"""Where errors get their flags: each command spells the library's setting names."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli import flags
from autoplay_cli.cli.app import COMMANDS, app, load_command
from autoplay_cli.cli.boundary import describe
from autoplay_cli.errors import EXIT_USAGE, ConfigError, UsageError

runner = CliRunner()


def every_declared() -> dict[str, dict[str, str]]:
    return {entry.name: flags.declared(load_command(entry)) for entry in COMMANDS}


def test_every_alias_names_a_parameter_of_some_command() -> None:
    declared = every_declared()
    for library_name, parameter in flags.ALIASES.items():
        owners = [name for name, table in declared.items() if parameter in table]
        assert owners, f"{library_name} -> {parameter}: no command has that parameter"


def test_a_command_spells_only_its_own_flags() -> None:
    declared = every_declared()
    tail, doctor = flags.speller(declared["tail"]), flags.speller(declared["doctor"])
    assert tail("max_retries") == "--max-retries"
    assert doctor("max_retries") is None  # doctor has no such flag: the name stays
    assert doctor("debug") == "--debug"  # the root group's options hold everywhere
    simulate = flags.speller(declared["simulate"])
    assert simulate("pulse_s") == "--pulse" and simulate("sets") == "--set"


def test_describe_spells_names_and_adds_the_flag_an_error_is_about() -> None:
    table = {"idle_timeout": "--idle-timeout", "store": "--store"}
    named = ConfigError("`idle_timeout` must be ≥ 0 seconds", setting="idle_timeout")
    assert describe(named, table) == "--idle-timeout must be ≥ 0 seconds"
    unnamed = ConfigError("timeouts must be positive", setting="idle_timeout")
    assert describe(unnamed, table) == "timeouts must be positive — check --idle-timeout"
    hinted = UsageError("bad store", setting="store", hint="e.g. `store` redis://h")
    assert describe(hinted, table) == "bad store — e.g. --store redis://h"
    assert describe(unnamed) == "timeouts must be positive"  # no command: no flag to name


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["simulate", "--demo", "--pulse", "0.0001"],
            "Error: --pulse must be 0 or 0.001–86400 seconds, got 0.0001",
        ),
        (["simulate", "--demo", "--store", "mem"], "Error: --store 'mem': expected a redis:// URL"),
        (["simulate", "--demo", "--set", "nope"], "Error: --set 'nope': expected TRIGGER.PARAM"),
        (["emulate", "--rate", "-1"], "Error: --rate must be ≥ 0 (0 means as fast as possible)"),
    ],
)
def test_the_command_line_names_its_flags(args: list[str], line: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.startswith(line), result.stderr
    assert "`" not in result.stderr.split("—")[0]  # no library name left in the cause
