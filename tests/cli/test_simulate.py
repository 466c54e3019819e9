"""``autoplay simulate``: every option, the output formats, Redis, and error exits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_INPUT,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
)
from autoplay_cli.simulate.runner import demo_files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "simulate"
DEMO = str(EXAMPLES / "demo.ndjson")
runner = CliRunner()


def sim(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--no-color", "simulate", *args])
    return result.exit_code, result.stdout, result.stderr


def steps(stdout: str) -> list[dict[str, object]]:
    objects = [json.loads(line) for line in stdout.splitlines()]
    assert objects[-1]["type"] == "summary"
    return objects[:-1]


def test_human_timeline_and_summary_on_stdout() -> None:
    code, out, err = sim(DEMO)
    assert code == 0
    assert out.startswith("time   session  event")
    assert "canonical_url_ping_pong  offer     proactive" in out
    assert "blocked: v2_cooldown_active (0:47 left)" in " ".join(out.split())
    assert "\nSummary\n" in out and "offers made: 3; offers blocked: 2" in out
    assert "\x1b[" not in out
    assert "Simulated demo" in err


def test_json_steps_carry_the_full_snapshot_and_end_with_the_summary() -> None:
    code, out, _ = sim(DEMO, "--json")
    assert code == 0
    records = steps(out)
    assert [r["seq"] for r in records] == list(range(1, len(records) + 1))
    offer = next(r for r in records if r["decision"] == "offer")
    assert offer["offer"]["body"] == "Need my expert help?"
    assert offer["snapshot"]["current_state"] == "proactive_assistance"
    assert offer["at"] == "2026-01-01T09:00:08Z"
    summary = json.loads(out.splitlines()[-1])
    assert summary["overall"]["sessions_went_reactive"] == 1
    assert {s["session"] for s in summary["sessions"]} == {"maria", "kenji", "amara"}


def test_summary_only() -> None:
    code, out, _ = sim(DEMO, "--summary-only")
    assert code == 0 and out.startswith("Summary\n")
    code, out, _ = sim(DEMO, "--summary-only", "--json")
    assert code == 0 and [json.loads(x)["type"] for x in out.splitlines()] == ["summary"]


def test_diagram_static_and_with_counts() -> None:
    code, out, _ = sim("--diagram")
    assert code == 0 and out.startswith("stateDiagram-v2\n    [*] --> thinking\n")
    assert "×" not in out
    code, out, _ = sim(DEMO, "--diagram")
    assert "thinking --> proactive_assistance: trigger fires, no cooldown ×3" in out
    assert "thinking --> reactive_assistance: user opens chat (clears cooldown) ×1" in out
    code, out, _ = sim("--diagram", "--json")
    assert json.loads(out)["format"] == "mermaid"


def test_overrides_change_the_decisions() -> None:
    def decisions(*extra: str) -> list[tuple[object, ...]]:
        code, out, err = sim(DEMO, "--json", *extra)
        assert code == 0, err
        return [(r["session"], r["event"], r["decision"], r["trigger"]) for r in steps(out)]

    base = decisions()
    assert ("maria", "actions", "blocked", "canonical_url_ping_pong") in base
    no_cooldown = decisions("--cooldown", "0")
    assert ("maria", "actions", "blocked", "canonical_url_ping_pong") not in no_cooldown
    off = decisions("--trigger", "canonical_url_ping_pong=off")
    assert all(t != "canonical_url_ping_pong" for *_, t in off)
    strict = decisions("--set", "user_page_dwell.dwell_threshold_seconds=300")
    assert all(t != "user_page_dwell" for *_, t in strict)
    code, out, _ = sim(DEMO, "--json", "--interaction-timeout", "5")
    assert code == 0
    timeouts = [r for r in steps(out) if r["event"] == "timeout"]
    assert timeouts[0]["reason"] == "no interaction for 5 s; cooldown 60 s starts"


def test_config_flag_beats_the_scenario_config() -> None:
    code, out, _ = sim(DEMO, "--json", "--config", str(EXAMPLES / "criteria.json"))
    assert code == 0
    assert {r["trigger"] for r in steps(out)} <= {None, "lost_user"}


def test_generate_sessions_is_deterministic() -> None:
    first = sim("--generate", "5", "--seed", "4", "--json")
    again = sim("--generate", "5", "--seed", "4", "--json")
    other = sim("--generate", "5", "--seed", "5", "--json")
    assert first[0] == 0 and first[1] == again[1] and first[1] != other[1]
    summary = json.loads(first[1].splitlines()[-1])
    assert summary["overall"]["sessions"] == 5
    assert summary["inputs"] == ["generated: 5 sessions, seed 4"]


def test_redis_store_gives_the_same_output(redis_url: str) -> None:
    memory = sim(DEMO, "--json")
    redis = sim(DEMO, "--json", "--store", redis_url)
    assert redis[0] == 0 and redis[1] == memory[1]


def test_parallel_store_runs_in_real_processes_keep_to_their_own_keys(
    redis_url: str, tmp_path: Path
) -> None:
    import subprocess
    import sys

    import redis

    # Sessions of the same names in every run: before, the runs deleted and
    # overwrote each other's keys and printed wrong timelines.
    expected = sim(DEMO, "--json")[1]
    env = {**__import__("os").environ, "NO_COLOR": "1"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autoplay_cli",
                "simulate",
                DEMO,
                "--json",
                "--store",
                redis_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    namespaces = set()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode() == expected
        line = next(x for x in err.decode().splitlines() if "Redis keys of this run" in x)
        namespaces.add(line.split(": ", 1)[1].split("*", 1)[0])
    assert len(namespaces) == 3  # one namespace per run
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    for ns in namespaces:
        keys = list(client.scan_iter(match=ns + "*"))
        assert {k.split(":")[-1] for k in keys if ":session_state:" in k} >= {"maria", "kenji"}
        assert all(0 < client.ttl(k) <= 3600 for k in keys)
    client.close()


@pytest.fixture
def redis_user(redis_url: str) -> Any:
    """An ACL user with a known password on the shared test server."""
    import uuid

    import redis

    name = f"sim-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    client.acl_setuser(
        name, enabled=True, passwords=["+right-pass-123"], commands=["+@all"], keys=["*"]
    )
    yield name
    client.acl_deluser(name)
    client.close()


def test_store_with_a_wrong_password_is_an_auth_error_not_an_outage(
    redis_url: str, redis_user: str
) -> None:
    hostport = redis_url.split("//", 1)[1].split("/", 1)[0]
    code, out, err = sim(DEMO, "--store", f"redis://{redis_user}:wrong-pass-456@{hostport}/0")
    assert code == EXIT_AUTH and out == ""
    assert "refused the credentials" in err and "password" in err
    assert "redis-server is running" not in err and "wrong-pass-456" not in err
    assert len(err.strip().splitlines()) == 1
    ok = sim(DEMO, "--summary-only", "--store", f"redis://{redis_user}:right-pass-123@{hostport}/0")
    assert ok[0] == 0


def test_store_with_a_database_the_server_lacks_is_a_config_error(redis_url: str) -> None:
    hostport = redis_url.split("//", 1)[1].split("/", 1)[0]
    code, out, err = sim(DEMO, "--store", f"redis://{hostport}/999")
    assert code == EXIT_CONFIG and out == ""
    assert "no such database" in err and "redis-server is running" not in err


def test_unreachable_redis_is_one_error_line() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on once the socket is closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = sim(DEMO, "--store", f"redis://127.0.0.1:{port}/0")
    assert code == EXIT_UNAVAILABLE and out == ""
    assert err.startswith("Error: ") and len(err.strip().splitlines()) == 1


def test_bundled_demo_is_the_example(tmp_path: Path) -> None:
    scenario, config = demo_files()
    assert scenario.read_bytes() == (EXAMPLES / "demo.ndjson").read_bytes()
    assert config.read_bytes() == (EXAMPLES / "triggers.toml").read_bytes()
    demo = sim("--demo", "--json")
    assert demo[0] == 0
    strip = [{k: v for k, v in r.items() if k != "source"} for r in steps(demo[1])]
    example = [{k: v for k, v in r.items() if k != "source"} for r in steps(sim(DEMO, "--json")[1])]
    assert strip == example


def test_timeline_and_summary_lines_fit_100_columns_details_wrapped_below() -> None:
    for scenario in ("demo", "combined"):
        code, out, _ = sim(str(EXAMPLES / f"{scenario}.ndjson"))
        assert code == 0
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= 100, scenario
    # A long detail goes below its row, indented, never cut: the words are all there.
    lines = sim(DEMO)[1].splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith("+1:06  amara"))
    assert lines[row].rstrip().endswith("proactive")
    assert lines[row + 1].startswith("    46 s on /integrations/:id with 3 actions")
    assert "[No thanks]" in lines[row + 2]


def test_a_huge_cooldown_from_a_config_file_keeps_the_table_narrow(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text("cooldown_period_s = 1e308\n", encoding="utf-8")
    code, out, _ = sim(DEMO, "--config", str(config))
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 100
    assert "e+303 d left" in out


def test_counts_are_singular_for_one() -> None:
    scenario = str(EXAMPLES / "demo.ndjson")
    out = sim(scenario, "--session", "amara")[1]
    assert "1 session, 3 action events in 2 batches" in out
    assert "1 sessions" not in out


def test_help_names_values_lists_choices_and_gives_examples() -> None:
    result = runner.invoke(app, ["simulate", "--help"])
    assert result.exit_code == 0
    text = result.stdout
    assert "--seed SEED" in text and "<int>" not in text and "<float" not in text
    assert "canonical_url_ping_pong, user_page_dwell" in text  # --trigger's choices
    assert "ID=on|off" in text
    assert "Examples:" in text and "autoplay simulate --demo" in text


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        ([], EXIT_USAGE, "nothing to simulate"),
        ([DEMO, "--store", "mongodb://x"], EXIT_USAGE, "expected a redis:// URL"),
        ([DEMO, "--trigger", "user_page_dwell"], EXIT_USAGE, "expected ID=on or ID=off"),
        ([DEMO, "--trigger", "nope=on"], EXIT_USAGE, "unknown trigger 'nope'"),
        ([DEMO, "--set", "user_page_dwell.speed=3"], EXIT_USAGE, "has no parameter 'speed'"),
        ([DEMO, "--interaction-timeout", "0"], EXIT_USAGE, "--interaction-timeout must be > 0"),
        ([DEMO, "--cooldown", "inf"], EXIT_USAGE, "--cooldown must be at most 2592000 seconds"),
        ([DEMO, "--cooldown", "1e308"], EXIT_USAGE, "--cooldown must be at most 2592000 seconds"),
        ([DEMO, "--cooldown", "-1"], EXIT_USAGE, "--cooldown must be ≥ 0 seconds, got -1"),
        ([DEMO, "--interaction-timeout", "1e308"], EXIT_USAGE, "at most 2592000 seconds"),
        (["--generate", "100001"], EXIT_USAGE, "--generate must be at most 100000"),
        ([DEMO, "--set", "user_page_dwell.interaction_timeout_s=0"], EXIT_USAGE, "finite"),
        ([DEMO, "--pulse", "-1"], EXIT_USAGE, "--pulse must be 0 or 0.001–86400 seconds"),
        ([DEMO, "--pulse", "1e-300"], EXIT_USAGE, "--pulse must be 0 or 0.001–86400 seconds"),
        (["--generate", "0"], EXIT_USAGE, "--generate must be ≥ 1"),
        (["missing.ndjson"], EXIT_INPUT, "missing.ndjson does not exist"),
        ([DEMO, "--config", "missing.toml"], EXIT_INPUT, "missing.toml does not exist"),
    ],
)
def test_errors_are_one_line_with_the_documented_exit_code(
    args: list[str], code: int, message: str
) -> None:
    exit_code, out, err = sim(*args)
    assert exit_code == code and out == ""
    assert err.startswith("Error: ") and message in err
    assert len(err.strip().splitlines()) == 1


def test_bad_scenario_line_exits_8_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.ndjson"
    path.write_text(
        '{"at": 0, "session": "a", "event": "open_chat"}\n'
        '{"at": 1, "session": "a", "event": "wave"}\n',
        encoding="utf-8",
    )
    code, out, err = sim(str(path))
    assert code == EXIT_INPUT and out == ""
    assert f"{path}:2: event: expected one of actions, open_chat" in err and "got 'wave'" in err


def test_help_documents_the_options() -> None:
    result = runner.invoke(app, ["simulate", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--config",
        "--json",
        "--diagram",
        "--interaction-timeout",
        "--cooldown",
        "--trigger",
        "--set",
        "--store",
        "--generate",
        "--seed",
        "--pulse",
        "--demo",
        "--summary-only",
    ):
        assert option in result.stdout


def test_colour_output_has_the_same_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    plain = sim(DEMO)[1]
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = runner.invoke(app, ["simulate", DEMO]).stdout
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_session_filter_shows_only_those_sessions() -> None:
    code, out, _ = sim(DEMO, "--json", "--session", "kenji")
    assert code == 0
    records = steps(out)
    assert {r["session"] for r in records} == {"kenji"}
    full = {r["seq"]: r for r in steps(sim(DEMO, "--json")[1])}
    assert all(full[r["seq"]] == r for r in records)  # the same steps, not a separate run
    summary = json.loads(out.splitlines()[-1])
    assert [s["session"] for s in summary["sessions"]] == ["kenji"]
    code, _, err = sim(DEMO, "--session", "nobody")
    assert code == EXIT_USAGE and "no such session" in err and "maria" in err


def test_reads_a_recording_from_stdin() -> None:
    recording = (EXAMPLES / "recording.ndjson").read_text(encoding="utf-8")
    result = runner.invoke(app, ["--no-color", "simulate", "-", "--json"], input=recording)
    assert result.exit_code == 0
    from_file = sim(str(EXAMPLES / "recording.ndjson"), "--json")[1]
    strip = [{k: v for k, v in r.items() if k != "source"} for r in steps(result.stdout)]
    assert strip == [{k: v for k, v in r.items() if k != "source"} for r in steps(from_file)]
    assert steps(result.stdout)[0]["source"] == "<stdin>:1"
    bad = runner.invoke(app, ["simulate", "-"], input='{"at": 1}\n')
    assert bad.exit_code == EXIT_INPUT and "<stdin>:1: missing 'event'" in bad.stderr
