"""``autoplay tail`` end to end: real HTTP on loopback against the emulator."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from autoplay_cli.cli.app import app
from autoplay_cli.errors import EXIT_AUTH, EXIT_CONFIG, EXIT_NOT_FOUND, EXIT_UNAVAILABLE, EXIT_USAGE
from autoplay_cli.recording import dumps_envelope, parse_envelope_line

runner = CliRunner()
N = 60


def tail(
    emu: Any,
    *args: str,
    token: str | None = None,
    env: dict[str, str] | None = None,
) -> Any:
    full_env = {"AUTOPLAY_TOKEN": token or emu.token, **(env or {})}
    return runner.invoke(
        app,
        ["tail", "--connector-url", emu.url, "--product-id", emu.product_id, *args],
        env=full_env,
    )


def lines(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    """One emulator for the module: N events, kept in its ring so every run replays from 0."""
    from autoplay_cli.emulator.server import run_in_thread

    with run_in_thread(None, rate=0, max_events=N, retry_ms=10) as handle:
        yield handle


@pytest.fixture(scope="module")
def everything(emu: Any) -> list[dict[str, Any]]:
    result = tail(emu, "--json", "--count", str(N), "--last-event-id", "0")
    assert result.exit_code == 0, result.stderr
    return lines(result)


def test_json_is_one_envelope_per_line_and_round_trips(
    emu: Any, everything: list[dict[str, Any]]
) -> None:
    result = tail(emu, "--json", "--count", str(N), "--last-event-id", "0")
    assert [int(e["id"]) for e in everything] == list(range(1, N + 1))
    for line in result.stdout.splitlines():
        env = parse_envelope_line(line)
        assert dumps_envelope(env) == line
        assert set(json.loads(line)) == {"id", "event", "received_at", "payload"}
    assert f"{N} events shown" in result.stderr and "stopped: --count" in result.stderr


def expected_ids(everything: list[dict[str, Any]], option: str, value: str) -> list[str]:
    identified: set[str] = set()
    out = []
    for env in everything:
        p = env["payload"]
        if option == "--session":
            keep = p["session_id"] == value
        elif option == "--type":
            keep = p["type"] == value
        elif option in ("--user", "--email"):
            field = "user_id" if option == "--user" else "email"
            if p["type"] == "actions":
                keep = value in {p[field], *(a[field] for a in p["actions"])}
                if keep:
                    identified.add(p["session_id"])
            else:
                keep = p["session_id"] in identified
        else:  # --url
            urls = [a["canonical_url"] for a in p.get("actions", [])]
            keep = (
                any(value in u for u in urls)
                if "*" not in value
                else any(__import__("fnmatch").fnmatchcase(u, value) for u in urls)
            )
        if keep:
            out.append(env["id"])
    return out


@pytest.mark.parametrize(
    "option", ["--session", "--user", "--email", "--type", "--url", "--url-glob"]
)
def test_each_filter(emu: Any, everything: list[dict[str, Any]], option: str) -> None:
    identified = [e["payload"] for e in everything if e["payload"].get("user_id")]
    value = {
        "--session": identified[0]["session_id"],
        "--user": identified[1]["user_id"],
        "--email": identified[2]["email"],
        "--type": "summary",
        "--url": "/billing",
        "--url-glob": "/projects/:id*",
    }[option]
    option = option.removesuffix("-glob")
    want = expected_ids(everything, option, value)
    assert want, f"the emulator's traffic has nothing for {option} {value}"
    result = tail(emu, "--json", option, value, "--count", str(len(want)), "--last-event-id", "0")
    assert result.exit_code == 0, result.stderr
    assert [e["id"] for e in lines(result)] == want


def test_text_form(emu: Any, everything: list[dict[str, Any]]) -> None:
    result = tail(emu, "--text", "--type", "actions", "--count", "2", "--last-event-id", "0")
    assert result.exit_code == 0
    first = everything[0]["payload"]
    assert result.stdout.startswith(
        f"Session {first['session_id'] or 'unknown'} — {len(first['actions'])} actions\n[0] "
    )


@pytest.mark.parametrize("env", [{}, {"NO_COLOR": "1"}])
def test_human_view_has_no_escape_codes_off_a_terminal(
    emu: Any, env: dict[str, str], everything: list[dict[str, Any]]
) -> None:
    result = tail(emu, "--count", str(N), "--last-event-id", "0", env=env)
    assert result.exit_code == 0
    assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr
    summaries = [e for e in everything if e["event"] == "summary"]
    assert result.stdout.count("SUMMARY of") == len(summaries)
    some = next(e["payload"] for e in everything if e["payload"].get("user_id"))
    assert some["session_id"][:12] in result.stdout
    assert some["actions"][0]["canonical_url"] in result.stdout


def test_record_then_replay_gives_the_same_output(emu: Any, tmp_path: Path) -> None:
    rec = tmp_path / "rec.ndjson"
    live = tail(emu, "--json", "--count", "25", "--last-event-id", "0", "--record", str(rec))
    assert live.exit_code == 0
    replay = runner.invoke(app, ["tail", "--replay", str(rec), "--json"])
    assert replay.exit_code == 0, replay.stderr
    assert replay.stdout == live.stdout
    assert "stopped: end of input" in replay.stderr
    # saved --json output replays too, and filters apply the same way
    saved = tmp_path / "saved.ndjson"
    saved.write_text(live.stdout)
    filtered = runner.invoke(app, ["tail", "--replay", str(saved), "--json", "--type", "summary"])
    assert filtered.stdout == "".join(
        line + "\n" for line in live.stdout.splitlines() if '"event":"summary"' in line
    )


def test_resume_across_drops_without_loss_or_duplicate(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=40, drop_every=9, retry_ms=10)
    result = tail(emu, "--json", "--count", "40")
    assert result.exit_code == 0, result.stderr
    assert [int(e["id"]) for e in lines(result)] == list(range(1, 41))
    assert "4 reconnects" in result.stderr


def test_a_gap_is_reported_on_stderr_and_in_the_summary(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=30, ring_size=5, retry_ms=10)
    assert tail(emu, "--json", "--count", "30").exit_code == 0
    result = tail(emu, "--json", "--count", "5", "--last-event-id", "2")
    assert result.exit_code == 0, result.stderr
    assert [int(e["id"]) for e in lines(result)] == [26, 27, 28, 29, 30]
    assert "could not resume after id 2: 23 events lost" in result.stderr
    assert "1 gap (23 events lost)" in result.stderr


def test_stall_detection(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=10, stall_after=4, retry_ms=10)
    result = tail(emu, "--json", "--count", "10", "--idle-timeout", "0.3")
    assert result.exit_code == 0, result.stderr
    assert [int(e["id"]) for e in lines(result)] == list(range(1, 11))
    assert "stalled connection" in result.stderr


def test_malformed_frames_are_shown_with_verbose_and_counted(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=20, malformed_every=5, retry_ms=10)
    result = tail(emu, "--json", "--until-idle", "0.5", "--verbose")
    assert result.exit_code == 0, result.stderr
    assert len(lines(result)) == 16
    assert result.stderr.count("malformed frame") == 4
    assert "4 malformed, 0 unknown frames" in result.stderr


def test_wrong_token_exits_4_without_printing_it(emu: Any) -> None:
    secret = "uk_live_this_is_wrong_123456"
    result = tail(emu, "--json", token=secret)
    assert result.exit_code == EXIT_AUTH
    assert result.stdout == ""
    summary, error = result.stderr.splitlines()  # every fatal exit says how far it got
    assert summary.startswith("tail: 0 events shown") and "stopped: by the error below" in summary
    assert error.startswith("Error: ") and "HTTP 401" in error
    assert secret not in result.stderr and "AUTOPLAY_TOKEN" in result.stderr


def test_wrong_product_exits_5(emu: Any) -> None:
    result = runner.invoke(
        app,
        ["tail", "--connector-url", emu.url, "--product-id", "nope"],
        env={"AUTOPLAY_TOKEN": emu.token},
    )
    assert result.exit_code == EXIT_NOT_FOUND
    assert "/stream/nope" in result.stderr and "--product-id" in result.stderr


def test_max_retries_against_a_closed_port_exits_6() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(
        app,
        [
            "tail",
            "--connector-url",
            f"http://127.0.0.1:{port}",
            "--product-id",
            "p",
            "--max-retries",
            "1",
        ],
        env={"AUTOPLAY_TOKEN": "tok_secret_value_1"},
    )
    assert result.exit_code == EXIT_UNAVAILABLE
    assert "after 1 retry" in result.stderr and "tok_secret_value_1" not in result.stderr


def test_until_idle_exits_0(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=5, retry_ms=10)
    result = tail(emu, "--json", "--until-idle", "0.5")
    assert result.exit_code == 0
    assert len(lines(result)) == 5 and "idle for --until-idle" in result.stderr


def test_usage_and_config_errors(emu: Any) -> None:
    both = tail(emu, "--json", "--text")
    assert both.exit_code == EXIT_USAGE and "cannot be combined" in both.stderr
    no_token = runner.invoke(app, ["tail", "--connector-url", emu.url, "--product-id", "p"])
    assert no_token.exit_code == EXIT_CONFIG and "AUTOPLAY_TOKEN" in no_token.stderr


def test_ctrl_c_prints_the_summary_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    import autoplay_cli.stream

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    # The command calls the stream package's face, so that is where the stub goes.
    monkeypatch.setattr(autoplay_cli.stream, "run_tail", interrupted)
    result = runner.invoke(app, ["tail", "--replay", "whatever.ndjson"])
    assert result.exit_code == 130
    assert "stopped: interrupted" in result.stderr


SECRET = "whsec_cli_forward_secret"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bool], list[bytes]]]:
    """A loopback webhook receiver that checks the signature in constant time."""
    valid: list[bool] = []
    bodies: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, self.headers.get("X-Connector-Signature", ""))
            valid.append(ok)
            bodies.append(raw)
            self.send_response(204 if ok else 401)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", valid, bodies
    finally:
        server.shutdown()
        server.server_close()


def test_forward_to_signs_each_payload(emu: Any, receiver: Any) -> None:
    url, valid, bodies = receiver
    result = tail(
        emu,
        "--json",
        "--count",
        "5",
        "--last-event-id",
        "0",
        "--forward-to",
        url,
        "--forward-secret",
        SECRET,
    )
    assert result.exit_code == 0, result.stderr
    assert valid == [True] * 5
    assert [json.loads(b) for b in bodies] == [e["payload"] for e in lines(result)]
    assert result.stderr.count("forward: 204") == 5
    assert "forwarded 5, forward failures 0" in result.stderr
    assert SECRET not in result.stderr + result.stdout


def test_forward_to_a_down_endpoint_goes_on(emu: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = tail(
        emu,
        "--json",
        "--count",
        "3",
        "--last-event-id",
        "0",
        "--forward-to",
        f"http://127.0.0.1:{port}/hook",
    )
    assert result.exit_code == 0
    assert len(lines(result)) == 3
    assert result.stderr.count("forward: unreachable") == 3
    assert "forward failures 3" in result.stderr


def test_a_missing_replay_file_exits_8(tmp_path: Path) -> None:
    result = runner.invoke(app, ["tail", "--replay", str(tmp_path / "nope.ndjson")])
    assert result.exit_code == 8
    assert "nope.ndjson does not exist" in result.stderr


def test_colour_on_a_terminal_is_stable_per_session(
    emu: Any, everything: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoplay_cli.cli.tail_render import SESSION_COLOURS, session_colour

    monkeypatch.setenv("FORCE_COLOR", "1")
    result = tail(
        emu,
        "--count",
        "12",
        "--last-event-id",
        "0",
        env={"TERM": "xterm-256color", "COLUMNS": "200"},
    )
    assert result.exit_code == 0
    assert "\x1b[" in result.stdout
    styled: dict[str, set[str]] = {}
    for line in result.stdout.splitlines():
        sid = next(
            (
                e["payload"]["session_id"]
                for e in everything
                if e["payload"]["session_id"] and e["payload"]["session_id"][:12] in line
            ),
            None,
        )
        if sid:
            styled.setdefault(sid, set()).add(line.split(sid[:12])[0].rsplit("\x1b[0m", 1)[-1])
    assert styled and all(len(codes) == 1 for codes in styled.values())
    assert session_colour("abc") == session_colour("abc") in SESSION_COLOURS


def test_a_token_that_cannot_be_a_header_is_refused_without_echoing_it() -> None:
    secret = "uk_live_SECRETVALUE\nsecond-line"
    result = runner.invoke(
        app,
        ["tail", "--connector-url", "http://127.0.0.1:9", "--product-id", "p", "--token", secret],
    )
    assert result.exit_code == 2
    output = result.stdout + result.stderr
    assert "SECRETVALUE" not in output and "second-line" not in output
    assert output.startswith("Error: the stream key contains")


@pytest.mark.parametrize("form", [[], ["--text"], ["--json"]])
def test_piping_into_head_exits_0_quietly(
    form: list[str], everything: list[dict[str, Any]], tmp_path: Path
) -> None:
    """`autoplay tail ... | head -1`: the closed pipe ends the run with 0 and no message."""
    import subprocess
    import sys

    rec = tmp_path / "many.ndjson"
    # Far more than a pipe buffer holds, so the writer meets the closed pipe.
    rec.write_text("".join(json.dumps(e) + "\n" for e in everything) * 100)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "tail", "--replay", str(rec), *form],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert "Error" not in err and "Traceback" not in err


@pytest.mark.parametrize("mode", [[], ["--text"], ["--json"]])
def test_a_lone_surrogate_in_a_payload_is_shown_not_a_crash(
    tmp_path: Path, mode: list[str]
) -> None:
    line = (
        '{"id":"1","event":"summary","received_at":1767225600.5,'
        '"payload":{"type":"summary","session_id":"s","summary":"bad \\ud800 x"}}'
    )
    path = tmp_path / "r.ndjson"
    path.write_text(line + "\n")
    result = runner.invoke(app, ["tail", "--replay", str(path), *mode])
    assert result.exit_code == 0, result.stderr
    if mode == ["--json"]:
        assert result.stdout == line + "\n"  # as recorded, byte for byte
    else:
        assert "bad ? x" in result.stdout


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_a_recording_the_disk_refuses_is_one_line_and_exit_1(tmp_path: Path) -> None:
    path = tmp_path / "r.ndjson"
    path.write_text('{"id":"1","event":"summary","received_at":1.5,"payload":{"type":"summary"}}\n')
    result = runner.invoke(app, ["tail", "--replay", str(path), "--record", "/dev/full"])
    assert result.exit_code == 1
    assert "cannot write to the recording /dev/full: No space left on device" in result.stderr
    summary, error = result.stderr.splitlines()
    # Shown, but not in the file: not handled, and no id in the file to resume after.
    assert "1 received event not handled (no event id to resume from)" in summary
    assert error.startswith("Error: cannot write")
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


# -- stop conditions as a user meets them: a real process, a real server ------------------


def run_cli(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Any:
    """``python -m autoplay_cli tail ...`` in its own process; a hang fails the test."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "autoplay_cli", "tail", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


def live_args(emu: Any) -> list[str]:
    return ["--connector-url", emu.url, "--product-id", emu.product_id]


def test_max_time_alone_ends_a_live_tail(make_emulator: Any) -> None:
    """The README's "Try it live" step: a busy endless stream, --max-time and nothing else."""
    import time

    emu = make_emulator(rate=50)
    started = time.monotonic()
    result = run_cli(
        *live_args(emu), "--json", "--max-time", "1.5", env={"AUTOPLAY_TOKEN": emu.token}
    )
    assert result.returncode == 0, result.stderr
    assert "stopped: --max-time 1.5 s reached" in result.stderr
    assert lines(result) and time.monotonic() - started < 30


def test_max_time_ends_a_paced_replay(tmp_path: Path) -> None:
    rec = tmp_path / "r.ndjson"
    first = '{"id":"1","event":"summary","received_at":100.0,"payload":{"type":"summary"}}'
    rec.write_text(first + "\n" + first.replace("100.0", "3700.0").replace('"1"', '"2"') + "\n")
    result = run_cli("--replay", str(rec), "--speed", "1", "--max-time", "0.5", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == first + "\n"
    assert "stopped: --max-time 0.5 s reached" in result.stderr


def test_until_idle_ends_a_heartbeat_only_stream(make_emulator: Any) -> None:
    emu = make_emulator(rate=0, max_events=0, heartbeat_s=0.05, keepalive_s=0.05)
    result = run_cli(*live_args(emu), "--until-idle", "0.5", env={"AUTOPLAY_TOKEN": emu.token})
    assert result.returncode == 0, result.stderr
    assert "stopped: idle for --until-idle 0.5 s" in result.stderr


def test_until_idle_ends_when_no_event_matches_the_filters(make_emulator: Any) -> None:
    emu = make_emulator(rate=20)
    result = run_cli(
        *live_args(emu),
        "--session",
        "nobody",
        "--until-idle",
        "0.5",
        env={"AUTOPLAY_TOKEN": emu.token},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and "stopped: idle for --until-idle 0.5 s" in result.stderr


def test_sigterm_prints_the_summary_with_the_last_id(make_emulator: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    emu = make_emulator(rate=0, max_events=20, retry_ms=10)
    proc = subprocess.Popen(
        [sys.executable, "-m", "autoplay_cli", "tail", *live_args(emu), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "AUTOPLAY_TOKEN": emu.token, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    got = [proc.stdout.readline() for _ in range(20)]
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert json.loads(got[-1])["id"] == "20"
    assert "last id 20" in err and "stopped: SIGTERM" in err and "Traceback" not in err


# -- usage and input errors ------------------------------------------------------------------


def test_a_forward_url_that_cannot_be_parsed_is_a_usage_error(tmp_path: Path) -> None:
    rec = tmp_path / "r.ndjson"
    rec.write_text("")
    result = runner.invoke(app, ["tail", "--replay", str(rec), "--forward-to", "http://[::1"])
    assert result.exit_code == EXIT_USAGE
    assert "--forward-to 'http://[::1' is not a valid URL" in result.stderr
    assert "internal error" not in result.stderr


def test_a_resume_id_no_header_can_carry_is_a_usage_error() -> None:
    result = runner.invoke(
        app,
        [
            "tail",
            "--connector-url",
            "http://127.0.0.1:9",
            "--product-id",
            "p",
            "--last-event-id",
            "é",
        ],
        env={"AUTOPLAY_TOKEN": "tok_value_123"},
    )
    assert result.exit_code == EXIT_USAGE
    assert "cannot be sent in an HTTP header" in result.stderr


def replay_file(tmp_path: Path, payload: dict[str, Any], received_at: float = 1767225600.5) -> Path:
    path = tmp_path / "r.ndjson"
    path.write_text(
        json.dumps(
            {"id": "1", "event": payload["type"], "received_at": received_at, "payload": payload}
        )
        + "\n"
    )
    return path


def test_record_onto_a_file_that_is_not_a_recording_exits_8_and_leaves_it(tmp_path: Path) -> None:
    rec = replay_file(tmp_path, {"type": "summary", "summary": "s"})
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n")
    result = runner.invoke(app, ["tail", "--replay", str(rec), "--record", str(notes)])
    assert result.exit_code == 8
    assert "notes.md exists and is not a recording" in result.stderr
    assert notes.read_text() == "# my notes\n"


def test_record_into_a_missing_directory_exits_1_as_documented(tmp_path: Path) -> None:
    rec = replay_file(tmp_path, {"type": "summary", "summary": "s"})
    result = runner.invoke(
        app, ["tail", "--replay", str(rec), "--record", str(tmp_path / "no" / "r.ndjson")]
    )
    assert result.exit_code == 1
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr
    table = (Path(__file__).parents[2] / "docs" / "exit-codes.md").read_text()
    section = table[table.index("## `autoplay tail`") : table.index("## `autoplay simulate`")]
    assert "| 1 | the `--record` file could not be written" in section
    assert "missing directory" in section.split("| 1 |")[1].split("\n")[0]


# -- what the human view and --text show -------------------------------------------------------


def test_the_human_view_shows_the_time_of_receipt(tmp_path: Path) -> None:
    import time

    received = 1767225600.5
    rec = replay_file(
        tmp_path,
        {
            "type": "actions",
            "session_id": "s1",
            "actions": [
                {"type": "click", "timestamp_start": received - 5 * 3600, "canonical_url": "/a"}
            ],
        },
        received,
    )
    result = runner.invoke(app, ["tail", "--replay", str(rec)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(time.strftime("%H:%M:%S ", time.localtime(received)))


@pytest.mark.parametrize("mode", [[], ["--text"]])
def test_control_characters_from_the_stream_never_reach_the_terminal_raw(
    tmp_path: Path, mode: list[str]
) -> None:
    evil = "\x1b[2J\x1b]0;owned\x07\x9b31m\rx\x00"
    rec = replay_file(
        tmp_path,
        {
            "type": "actions",
            "session_id": "s\x1b[31m",
            "user_id": "u\x1b",
            "actions": [
                {"type": "click", "title": evil, "description": evil, "canonical_url": "/a\x1b"}
            ],
        },
    )
    summary_rec = tmp_path / "s.ndjson"
    summary_rec.write_text(
        replay_file(
            tmp_path / "..", {"type": "summary", "summary": "tab\tok\nnext " + evil}
        ).read_text()
    )
    for path in (rec, summary_rec):
        result = runner.invoke(app, ["tail", "--replay", str(path), *mode])
        assert result.exit_code == 0, result.stderr
        raw = [
            c for c in result.stdout if (ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F
        ]
        assert raw == [], repr(result.stdout)
        assert "\\x1b[2J" in result.stdout
    assert "tab\tok\nnext" in result.stdout  # tab and newline stay as they are
    exact = runner.invoke(app, ["tail", "--replay", str(rec), "--json"])
    assert json.loads(exact.stdout)["payload"]["actions"][0]["title"] == evil


def test_control_characters_are_escaped_in_colour_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoplay_cli.cli import output

    monkeypatch.setattr(output, "color_enabled", lambda stream: True)
    rec = replay_file(
        tmp_path,
        {
            "type": "actions",
            "session_id": "s1",
            "actions": [{"type": "click", "description": "a\x1b]0;t\x07b", "canonical_url": "/u"}],
        },
    )
    result = runner.invoke(app, ["tail", "--replay", str(rec)])
    assert result.exit_code == 0, result.stderr
    assert "a\\x1b]0;t\\x07b" in result.stdout and "\x07" not in result.stdout


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e308", "-1e308"])
@pytest.mark.parametrize("mode", ["human", "text"])
def test_timestamps_out_of_range_do_not_break_the_views(
    value: str, mode: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live frame may carry NaN or huge times (not strict JSON, still parsed)."""
    from autoplay_cli.cli.tail_render import UNKNOWN_TIME, make_sink
    from autoplay_cli.wire import PayloadEvent, parse_event

    data = (
        '{"type":"actions","session_id":"s","forwarded_at":T,"actions":[{"type":"click",'
        '"description":"d","timestamp_start":T,"timestamp_end":T}]}'
    ).replace("T", value)
    event = parse_event("message", data, "1", float(value))
    assert isinstance(event, PayloadEvent)
    sink = make_sink(mode, False)
    sink.event(event)
    sink.flush()
    out = capsys.readouterr().out
    assert "click" in out
    if mode == "human":  # received at a time no clock can show
        assert out.startswith(UNKNOWN_TIME + " s ")


def test_clock_time_of_what_no_clock_can_show() -> None:
    from autoplay_cli.cli.tail_render import UNKNOWN_TIME, clock_time

    for at in (float("nan"), float("inf"), -float("inf"), 1e300, -1e300):
        assert clock_time(at) == UNKNOWN_TIME
    assert clock_time(0.0) != UNKNOWN_TIME


def test_one_of_a_kind_is_singular(tmp_path: Path) -> None:
    rec = replay_file(
        tmp_path, {"type": "actions", "session_id": "s1", "actions": [{"type": "click"}]}
    )
    text = runner.invoke(app, ["tail", "--replay", str(rec), "--text"])
    assert text.stdout.startswith("Session s1 — 1 action\n")
    assert "1 event shown (actions 1) · 1 session · last id 1 —" in text.stderr
    human = runner.invoke(
        app, ["tail", "--replay", str(replay_file(tmp_path, {"type": "summary", "replaces": 1}))]
    )
    assert "≡ SUMMARY of 1 action:" in human.stdout


def test_tail_help_names_values_lists_choices_and_ends_with_examples() -> None:
    result = runner.invoke(app, ["tail", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.stdout
    for metavar in (
        "--session SESSION_ID",
        "--until-idle SECONDS",
        "--max-time SECONDS",
        "--type [actions|summary]",
        "--count N",
        "--record FILE",
        "--last-event-id EVENT_ID",
        "--forward-to URL",
        "--speed FACTOR",
    ):
        assert metavar in text, metavar
    mine = text.split("--connector-url")[0]  # the shared connection options are not tail's
    assert "<" not in mine and "range" not in mine
    examples = [line for line in text.splitlines() if line.strip().startswith("autoplay tail")]
    assert 2 <= len(examples) <= 3


def _maybe_null(strategy: Any) -> Any:
    from hypothesis import strategies as st

    return st.one_of(st.none(), strategy)


def payload_texts() -> Any:
    """JSON texts of payloads: nulls, upper-case types, unknown fields, odd characters."""
    from hypothesis import strategies as st

    text = st.text(max_size=8)
    action = st.fixed_dictionaries(
        {"type": st.sampled_from(["click", "PAGEVIEW", "Submit"])},
        optional={
            "index": _maybe_null(st.integers(0, 99)),
            "title": _maybe_null(text),
            "description": _maybe_null(text),
            "canonical_url": _maybe_null(text),
            "extra_field": text,
        },
    )
    actions = st.fixed_dictionaries(
        {"type": st.just("actions"), "actions": st.lists(action, max_size=3)},
        optional={"session_id": _maybe_null(text), "mystery": st.integers()},
    )
    summary = st.fixed_dictionaries(
        {"type": st.just("summary")},
        optional={
            "session_id": _maybe_null(text),
            "summary": _maybe_null(text),
            "replaces": _maybe_null(st.integers(0, 3)),
        },
    )
    return st.one_of(actions, summary).map(json.dumps)


def test_the_text_form_from_the_view_equals_the_models_text() -> None:
    from hypothesis import given, settings

    from autoplay_cli.wire import PayloadEvent, event_text, parse_event, payload_text

    @settings(max_examples=300, deadline=None)
    @given(payload_texts())
    def check(data: str) -> None:
        event = parse_event("message", data, "1")
        assert isinstance(event, PayloadEvent)
        assert event_text(event) == payload_text(event.payload)

    check()


def test_no_control_character_survives_either_view_whatever_the_json_spelling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Raw C1 characters (JSON allows them unescaped), escapes, any text: none gets through."""
    import io
    import sys

    from hypothesis import example, given, settings
    from hypothesis import strategies as st

    from autoplay_cli.cli.tail_render import make_sink
    from autoplay_cli.wire import PayloadEvent, parse_event

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=12), st.text(max_size=12), st.booleans())
    @example("\x7f", "", False)  # DEL: ASCII, and JSON does not escape it
    @example("\x9b2J", "s", False)  # a raw C1 CSI
    def check(description: str, session: str, ascii_only: bool) -> None:
        payload = {
            "type": "actions",
            "session_id": session,
            "actions": [{"type": "click", "description": description, "canonical_url": session}],
        }
        event = parse_event("message", json.dumps(payload, ensure_ascii=ascii_only), "1", 5.0)
        assert isinstance(event, PayloadEvent)
        for mode in ("human", "text"):
            out = io.StringIO()
            monkeypatch.setattr(sys, "stdout", out)
            sink = make_sink(mode, False)
            sink.event(event)
            sink.flush()
            shown = out.getvalue()
            assert not [
                c for c in shown if (ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F
            ], repr(shown)

    check()


def test_the_commands_tunings_hold_for_its_run_and_are_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gc
    import signal

    import httpcore

    import autoplay_cli.stream

    def state() -> tuple[object, ...]:
        return (
            gc.get_threshold(),
            gc.get_freeze_count() > 0,
            getattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", None),
            signal.getsignal(signal.SIGTERM),
        )

    during: list[tuple[object, ...]] = []
    real = autoplay_cli.stream.run_tail

    def spying(*args: Any, **kwargs: Any) -> Any:
        during.append(state())
        return real(*args, **kwargs)

    monkeypatch.setattr(autoplay_cli.stream, "run_tail", spying)
    before = state()
    rec = replay_file(tmp_path, {"type": "summary", "summary": "s"})
    assert runner.invoke(app, ["tail", "--replay", str(rec)]).exit_code == 0
    assert state() == before
    assert during and during[0][0] != before[0] and during[0][2] == 256 * 1024
    assert during[0][3] != before[3]  # SIGTERM ends the run with its summary


def test_objects_the_caller_froze_stay_frozen_after_the_run(tmp_path: Path) -> None:
    import gc

    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        rec = replay_file(tmp_path, {"type": "summary", "summary": "s"})
        assert runner.invoke(app, ["tail", "--replay", str(rec)]).exit_code == 0
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
