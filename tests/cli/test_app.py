"""The root command: help, version, exit codes, the stdout/stderr split, colour, start-up cost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from autoplay_cli import __version__
from autoplay_cli.cli.app import COMMANDS, app, run
from autoplay_cli.cli.boundary import boundary
from autoplay_cli.errors import EXIT_CONFIG, EXIT_INTERRUPTED, EXIT_USAGE, ServiceUnavailableError

runner = CliRunner()
HEAVY = ("httpx", "httpx_sse", "pydantic", "libcst", "redis", "unkey", "starlette", "uvicorn")


def autoplay(
    *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autoplay_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        **kw,  # type: ignore[call-overload]
    )


def test_version_in_process_and_as_a_module() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"autoplay {__version__}"
    proc = autoplay("--version")
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, f"autoplay {__version__}", "")


def test_help_lists_every_command_with_its_whole_summary() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    for entry in COMMANDS:
        line = next((ln for ln in result.stdout.splitlines() if f" {entry.name} " in ln), None)
        assert line is not None, f"{entry.name} missing from --help"
        assert line.split(entry.name, 1)[1].strip() == entry.summary, line


def test_every_summary_is_one_short_sentence() -> None:
    names = [entry.name for entry in COMMANDS]
    assert len(names) == len(set(names))
    for entry in COMMANDS:
        assert "\n" not in entry.summary and entry.summary.endswith("."), entry
        assert 10 <= len(entry.summary) <= 50, entry


@pytest.mark.parametrize("args", [[], ["config"]], ids=["autoplay", "autoplay config"])
def test_a_bare_command_prints_its_help_and_exits_0(args: list[str]) -> None:
    proc = autoplay(*args)  # `python -m autoplay_cli ...`
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("Usage: autoplay") and "Commands:" in proc.stdout
    assert proc.stdout == autoplay(*args, "--help").stdout


def test_the_installed_autoplay_script_alone_prints_help() -> None:
    script = Path(sys.executable).with_name("autoplay")
    assert script.exists(), "the package is installed with its console script"
    proc = subprocess.run([str(script)], capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.startswith("Usage: autoplay")


def test_double_dash_before_the_command_still_runs_it(isolated_env: Path) -> None:
    proc = autoplay("--", "config", "path")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(isolated_env / "config.toml")


def test_a_command_is_added_by_one_registry_entry(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    from autoplay_cli.cli import app as app_module

    probe = types.ModuleType("autoplay_probe_forward")

    def forward(
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 1,
    ) -> None:
        """Forward the stream somewhere."""
        sys.stdout.write(f"forward on {port}\n")

    probe.forward = forward  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    entry = app_module.Command("forward", probe.__name__, "forward", "Forward the stream.")
    monkeypatch.setattr(app_module, "COMMANDS", (*app_module.COMMANDS, entry))
    assert run(["forward", "--port", "7"]) == 0
    assert capsys.readouterr().out == "forward on 7\n"
    assert run(["--help"]) == 0
    assert re.search(r"^  forward +Forward the stream\.$", capsys.readouterr().out, re.M)
    assert run(["forward", "--help"]) == 0
    assert "--port PORT" in capsys.readouterr().out


def _help_of_every_command() -> dict[str, str]:
    from autoplay_cli.cli.app import load_command

    helps = {}
    for entry in COMMANDS:
        command = load_command(entry)
        paths = [[entry.name]] + [[entry.name, sub] for sub in getattr(command, "commands", {})]
        for path in paths:
            result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
            assert result.exit_code == 0, (path, result.stderr)
            helps[" ".join(path)] = result.stdout
    return helps


def test_help_names_values_instead_of_showing_types() -> None:
    import re

    for path, text in _help_of_every_command().items():
        assert not re.search(r"<(str|int|float|path|list|bool)[^>]*>", text), (path, text)
        assert "{" not in text.split("\n", 1)[0], (path, text)  # the usage line


def test_options_with_fixed_choices_list_them() -> None:
    helps = _help_of_every_command()
    assert "--integration-type [event_stream|push]" in helps["onboard"]


def test_config_set_help_lists_every_key() -> None:
    from autoplay_cli.settings import SETTINGS

    text = _help_of_every_command()["config set"]
    assert text.startswith("Usage: autoplay config set [OPTIONS] KEY VALUE")
    for setting in SETTINGS:
        assert f"  {setting.key} " in text, setting.key


@pytest.mark.parametrize(
    "path", ["doctor", "onboard", "config", "config show", "config set", "config unset"]
)
def test_help_ends_with_two_or_three_examples(path: str) -> None:
    helps = _help_of_every_command()
    tail = helps[path].rstrip().rsplit("Examples:", 1)
    assert len(tail) == 2, helps[path]
    examples = [ln for ln in tail[1].splitlines() if ln.strip()]
    assert 2 <= len(examples) <= 3, examples
    assert all(ln.strip().startswith(("autoplay ", "cat ")) for ln in examples), examples


def test_root_help_imports_no_command_module() -> None:
    code = (
        "import sys\n"
        "from autoplay_cli.cli.app import run\n"
        "run(['--help'])\n"
        "print('LOADED=' + ','.join(sorted(m for m in sys.modules\n"
        "      if m.startswith('autoplay_cli.cli.') and m.count('.') == 2)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    loaded = proc.stdout.strip().splitlines()[-1].removeprefix("LOADED=").split(",")
    assert set(loaded) <= {
        "autoplay_cli.cli.app",
        "autoplay_cli.cli.boundary",
        "autoplay_cli.cli.groups",
        "autoplay_cli.cli.output",
    }, loaded


def test_help_imports_none_of_the_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from autoplay_cli.cli.app import run\n"
        "try:\n    run(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "HEAVY=", proc.stdout[-300:]


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_importtime_of_help_and_version_shows_no_heavy_module(args: list[str]) -> None:
    proc = autoplay(*args, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 0
    imported = {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "typer" in imported  # the probe itself works
    assert not imported & set(HEAVY), imported & set(HEAVY)


def test_unknown_flag_is_one_error_line_and_exit_2() -> None:
    proc = autoplay("--bogus")
    assert proc.returncode == EXIT_USAGE
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "--bogus" in lines[0]


def test_unknown_command_is_a_usage_error() -> None:
    proc = autoplay("frobnicate")
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith("Error: ") and "Traceback" not in proc.stderr


def test_missing_argument_is_a_usage_error() -> None:
    proc = autoplay("config", "set", "token")
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: ")


def test_malformed_config_is_exit_3_with_file_and_line(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("[default\n", encoding="utf-8")
    for result_code, stdout, stderr in (
        (r.exit_code, r.stdout, r.stderr) for r in [runner.invoke(app, ["config", "show"])]
    ):
        assert result_code == EXIT_CONFIG and stdout == ""
        assert stderr.startswith("Error: ") and "config.toml" in stderr and "line 1" in stderr
    proc = autoplay("config", "show")
    assert proc.returncode == EXIT_CONFIG and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "line 1" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_debug_adds_the_traceback(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text("[default\n", encoding="utf-8")
    proc = autoplay("--debug", "config", "show")
    assert proc.returncode == EXIT_CONFIG
    assert "Traceback" in proc.stderr and "Error: config file" in proc.stderr
    proc = autoplay("config", "show", env={"AUTOPLAY_DEBUG": "1"})
    assert "Traceback" in proc.stderr


def test_config_set_then_show_json_masks_secrets(isolated_env: Path) -> None:
    secret = "uk_live_supersecretvalue1234"
    result = runner.invoke(app, ["config", "set", "token", secret, "--profile", "ci"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and secret not in result.stderr
    result = runner.invoke(app, ["config", "show", "--json", "--profile", "ci"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["profile"] == "ci"
    assert data["settings"]["token"]["value"] == "uk_…1234"
    assert secret not in result.stdout + result.stderr


def test_config_show_human_table_never_shows_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "uk_live_anothersecretvalue9876"
    proc = autoplay("config", "show", env={"AUTOPLAY_TOKEN": secret, "COLUMNS": "200"})
    assert proc.returncode == 0
    assert secret not in proc.stdout + proc.stderr
    assert "uk_…9876" in proc.stdout and "env AUTOPLAY_TOKEN" in proc.stdout


def test_config_path_prints_to_stdout(isolated_env: Path) -> None:
    result = runner.invoke(app, ["config", "path"])
    assert result.stdout.strip() == str(isolated_env / "config.toml")


def test_no_color_env_and_flag_remove_escape_codes() -> None:
    # force a terminal-like console: rich honours NO_COLOR and our --no-color
    proc = autoplay("config", "show", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert "\x1b[" not in proc.stdout + proc.stderr
    proc = autoplay("--no-color", "config", "show", env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in proc.stdout + proc.stderr


def test_output_is_plain_when_not_a_tty() -> None:
    proc = autoplay("config", "show")
    assert "\x1b[" not in proc.stdout + proc.stderr


def _probe_app(exc: BaseException) -> typer.Typer:
    probe = typer.Typer()

    @probe.command()
    @boundary
    def go() -> None:
        raise exc

    @probe.command()
    def other() -> None:  # a second command keeps Typer in group mode
        pass

    return probe


def test_boundary_maps_errors_to_codes_and_one_line() -> None:
    result = runner.invoke(
        _probe_app(
            ServiceUnavailableError("connector at http://x unreachable", hint="check the URL")
        ),
        ["go"],
    )
    assert result.exit_code == 6
    assert result.stderr == "Error: connector at http://x unreachable — check the URL\n"


def test_boundary_turns_ctrl_c_into_130_without_traceback() -> None:
    result = runner.invoke(_probe_app(KeyboardInterrupt()), ["go"])
    assert result.exit_code == EXIT_INTERRUPTED
    assert "Traceback" not in result.stderr


def test_boundary_reports_unexpected_errors_in_one_line() -> None:
    result = runner.invoke(_probe_app(RuntimeError("boom")), ["go"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: unexpected internal error: RuntimeError: boom")
    assert result.stderr.count("\n") == 1


def test_run_returns_codes_instead_of_exiting() -> None:
    assert run(["--version"]) == 0
    assert run(["--bogus"]) == EXIT_USAGE


def test_closed_pipe_ends_quietly() -> None:
    # `autoplay config show --json | head -c 0` style: stdout closed before we write
    code = (
        "import os, sys\n"
        "r, w = os.pipe(); os.close(r)\n"
        "os.dup2(w, 1)\n"
        "from autoplay_cli.cli.app import run\n"
        "sys.exit(run(['config', 'show', '--json']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_ctrl_c_at_a_prompt_exits_130_and_other_aborts_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import types

    from autoplay_cli.cli import app as app_module

    probe = types.ModuleType("autoplay_probe_commands")

    def interrupted() -> None:
        """Stands for a prompt interrupted by Ctrl-C."""
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise typer.Abort() from None

    def aborted() -> None:
        """Stands for a prompt the user declined."""
        raise typer.Abort()

    probe.interrupted = interrupted  # type: ignore[attr-defined]
    probe.aborted = aborted  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, probe.__name__, probe)
    monkeypatch.setattr(
        app_module,
        "COMMANDS",
        (
            app_module.Command("interrupted", probe.__name__, "interrupted", "Interrupted."),
            app_module.Command("aborted", probe.__name__, "aborted", "Aborted."),
        ),
    )
    assert run(["interrupted"]) == EXIT_INTERRUPTED
    assert "Traceback" not in capsys.readouterr().err
    assert run(["aborted"]) == 1
    assert capsys.readouterr().err == "Error: aborted\n"


def test_config_show_masks_credentials_inside_urls() -> None:
    env = {
        "AUTOPLAY_REDIS_URL": "redis://app:s3cr3tpw@cache:6379/0?password=other",
        "COLUMNS": "200",
    }
    for args in (["config", "show"], ["config", "show", "--json"]):
        proc = autoplay(*args, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "s3cr3tpw" not in proc.stdout and "other" not in proc.stdout
        assert "redis://app:****@cache:6379/0?password=****" in proc.stdout


def test_every_missing_setting_of_a_command_is_named_at_once() -> None:
    proc = autoplay("tail")
    assert proc.returncode == EXIT_CONFIG
    (line,) = proc.stderr.strip().splitlines()
    assert "connector_url, product_id, token" in line and "--token" in line
