"""The scenario format: steps, embedded actions, envelopes, includes, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import InputError
from autoplay_cli.simulate import load_inputs, load_scenario, parse_scenario
from autoplay_cli.simulate.inputs import DEFAULT_START, parse_clock, parse_start

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "simulate"


def write(tmp_path: Path, *lines: str | dict[str, object], name: str = "s.ndjson") -> Path:
    path = tmp_path / name
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
        encoding="utf-8",
    )
    return path


def test_clock_and_start_parsing() -> None:
    assert parse_clock(75, where="x") == 75.0
    assert parse_clock("1:15", where="x") == 75.0
    assert parse_clock("1:00:01.5", where="x") == 3601.5
    assert parse_start("2026-01-01T00:00:00Z", where="x") == DEFAULT_START
    for bad in ("1:75", "soon", -1, True):
        with pytest.raises(InputError, match="x: "):
            parse_clock(bad, where="x")
    with pytest.raises(InputError, match="timezone"):
        parse_start("2026-01-01T00:00:00", where="x")


def test_steps_actions_and_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"scenario": "t", "start": 1000, "config": "cfg.toml"},
        "# a comment, then a blank line",
        "",
        {
            "at": "0:10",
            "session": "s1",
            "event": "actions",
            "email": "a@b.example",
            "actions": [
                {"type": "PageView", "url": "/a", "at": 5},
                {"type": "click", "url": "/a", "duration": 2},
            ],
        },
        {"at": 12, "session": "s1", "event": "link", "conversation": "c1", "link": "reply"},
        {"at": 13, "session": "s1", "event": "actions", "actions": [{"url": "/b"}]},
    )
    scenario = load_scenario(path)
    assert (scenario.name, scenario.start) == ("t", 1000.0)
    assert scenario.config == str(tmp_path / "cfg.toml")
    first, link, second = scenario.events
    assert (first.time, first.session_id, first.source) == (1010.0, "s1", f"{path}:4")
    assert first.payload is not None and first.payload.email == "a@b.example"
    a0, a1 = first.payload.actions
    assert (a0.type, a0.index, a0.canonical_url, a0.raw_url) == ("pageview", 0, "/a", "/a")
    assert (a0.timestamp_start, a1.timestamp_start, a1.timestamp_end) == (1005.0, 1010.0, 1012.0)
    assert link.args == {"conversation": "c1", "link": "reply_existing"}
    assert second.payload is not None and second.payload.actions[0].index == 2  # per session


def test_a_recording_is_a_scenario_and_can_be_included(tmp_path: Path) -> None:
    recording = load_scenario(EXAMPLES / "recording.ndjson")
    assert recording.start == recording.events[0].time
    assert {e.kind for e in recording.events} == {"actions", "summary"}
    path = write(
        tmp_path,
        {"scenario": "inc", "start": 0},
        {"at": 100, "event": "include", "recording": str(EXAMPLES / "recording.ndjson")},
    )
    included = load_scenario(path).events
    assert included[0].time == 100.0
    shift = 100.0 - recording.events[0].time
    assert [e.time - shift for e in included] == pytest.approx([e.time for e in recording.events])
    assert included[0].source.endswith("recording.ndjson:1")


def test_inputs_merge_by_time_and_keep_file_order_on_ties(tmp_path: Path) -> None:
    one = write(
        tmp_path,
        {"at": 5, "session": "a", "event": "open_chat"},
        {"at": 9, "session": "a", "event": "tick"},
        name="one.ndjson",
    )
    two = write(
        tmp_path,
        {"at": 5, "session": "b", "event": "open_chat"},
        {"at": 7, "session": "b", "event": "tick"},
        name="two.ndjson",
    )
    merged = load_inputs([one, two])
    assert [(e.session_id, e.time - DEFAULT_START) for e in merged.events] == [
        ("a", 5),
        ("b", 5),
        ("b", 7),
        ("a", 9),
    ]
    assert merged.start == DEFAULT_START


def test_sessions_may_be_written_one_after_another(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {"at": 30, "session": "a", "event": "open_chat"},
        {"at": 10, "session": "b", "event": "open_chat"},
    )
    assert [e.session_id for e in load_inputs([path]).events] == ["b", "a"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            ['{"at": 1, "session": "a", "event": "open_chat"}', "{not json"],
            r"s\.ndjson:2:2: not valid JSON \(Expecting property name",
        ),
        (["[1, 2]"], r"s\.ndjson:1: expected a JSON object, got a list"),
        (
            [{"at": 1, "session": "a", "event": "dance"}],
            r"s\.ndjson:1: event: expected one of actions, open_chat, .*, got 'dance'",
        ),
        ([{"at": 1, "session": "a"}], r"s\.ndjson:1: missing 'event'"),
        ([{"session": "a", "event": "tick"}], r"s\.ndjson:1: missing 'at'"),
        (
            [{"at": 1, "event": "tick"}],
            r"s\.ndjson:1: missing 'session' \(a non-empty session id\)",
        ),
        (
            [{"at": 1, "session": "a", "event": "tick", "chip": "x"}],
            r"s\.ndjson:1: chip: unknown key",
        ),
        (
            [
                {"at": 9, "session": "a", "event": "tick"},
                {"at": 3, "session": "a", "event": "tick"},
            ],
            r"s\.ndjson:2: time goes backwards for session 'a' \(6 s before the event at line 1\)",
        ),
        (
            [{"at": 1, "session": "a", "event": "tick"}, {"scenario": "late"}],
            r"s\.ndjson:2: the scenario header must be the first line",
        ),
        (
            [{"at": 1, "session": "a", "event": "link"}],
            r"s\.ndjson:1: missing 'conversation' \(the conversation id\)",
        ),
        (
            [{"at": 1, "session": "a", "event": "link", "conversation": "c", "link": "old"}],
            r"s\.ndjson:1: link: expected one of new, reply, reply_existing, got 'old'",
        ),
        (
            [{"at": 1, "session": "a", "event": "actions", "actions": []}],
            r"s\.ndjson:1: actions: expected a non-empty list of actions, got an empty list",
        ),
        (
            [{"at": 1, "session": "a", "event": "actions", "actions": [{"url": "/x", "at": 5}]}],
            r"s\.ndjson:1: actions\[0\]: the action starts after its batch",
        ),
        (
            [{"at": 1, "session": "a", "event": "actions", "actions": [{"index": "first"}]}],
            r"s\.ndjson:1: invalid actions payload: actions\.0\.index",
        ),
        (
            [{"at": 1, "event": "include", "recording": "missing.ndjson"}],
            r"missing\.ndjson does not exist",
        ),
        (
            ['{"id": "1", "received_at": "now", "payload": {"type": "actions"}}'],
            r"s\.ndjson:1: 'received_at' must be a number",
        ),
        ([{"scenario": "x", "colour": "red"}], r"s\.ndjson:1: colour: unknown key"),
        # A float that large cannot tell t from t + 20 s: timeouts would never come due.
        (
            [{"scenario": "x", "start": 1e300}],
            r"s\.ndjson:1: 'start' 1e\+300 is outside 1970-01-01 to 9999-12-31",
        ),
        (
            [{"scenario": "x", "start": "10000-01-01T00:00:00Z"}],
            r"s\.ndjson:1: 'start' must be unix seconds",
        ),
        ([{"scenario": "x", "start": -5}], r"s\.ndjson:1: 'start' -5 is outside"),
    ],
)
def test_bad_input_is_reported_with_file_and_line(
    tmp_path: Path, lines: list[object], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        load_scenario(write(tmp_path, *lines))  # type: ignore[arg-type]


@pytest.mark.parametrize("at", [1e308, 253402300000])
def test_event_times_past_the_year_9999_are_refused(tmp_path: Path, at: float) -> None:
    path = write(tmp_path, {"at": 1, "session": "a", "event": "tick"})
    far = tmp_path / "far.ndjson"
    far.write_text(json.dumps({"at": at, "session": "b", "event": "tick"}) + "\n")
    with pytest.raises(InputError, match=r"far\.ndjson:1: the event's time .* is outside"):
        load_inputs([path, far])


def test_a_recording_going_backwards_is_an_error(tmp_path: Path) -> None:
    rec_lines = (EXAMPLES / "recording.ndjson").read_text(encoding="utf-8").splitlines()
    rec = tmp_path / "rec.ndjson"
    rec.write_text("\n".join([rec_lines[1], rec_lines[0], *rec_lines[2:]]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"rec\.ndjson:2: time goes backwards for recording"):
        load_scenario(rec)
    path = write(tmp_path, {"at": 0, "event": "include", "recording": "rec.ndjson"})
    with pytest.raises(InputError, match=r"rec\.ndjson:2: time goes backwards"):
        load_scenario(path)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_scenario(tmp_path / "nope.ndjson")
    binary = tmp_path / "b.ndjson"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="not UTF-8"):
        load_scenario(binary)


def test_different_configs_named_by_two_scenarios(tmp_path: Path) -> None:
    one = write(tmp_path, {"scenario": "1", "config": "a.toml"}, name="1.ndjson")
    two = write(tmp_path, {"scenario": "2", "config": "b.toml"}, name="2.ndjson")
    with pytest.raises(InputError, match="different trigger configs"):
        load_inputs([one, two])


def test_an_emulator_scenario_file_is_read_as_activity() -> None:
    scenario = load_scenario(EXAMPLES.parent / "scenario-checkout.toml")
    assert scenario.start == DEFAULT_START
    hesitant = [e for e in scenario.events if e.session_id == "sess_checkout_hesitant"]
    assert hesitant and all(e.kind in ("actions", "summary") for e in hesitant)
    urls = [a.canonical_url for e in hesitant if e.payload for a in e.payload.actions]
    assert urls[:3] == ["/billing/plans", "/billing/checkout", "/billing/plans"]
    assert [e.time for e in scenario.events] == sorted(e.time for e in scenario.events)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(allow_nan=False)
    | st.sampled_from(["", "0:05", "a", "open_chat", "actions", "link", "include"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "at",
                    "session",
                    "event",
                    "actions",
                    "url",
                    "chip",
                    "conversation",
                    "link",
                    "scenario",
                    "start",
                    "payload",
                    "received_at",
                    "recording",
                    "type",
                    "duration",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_json.map(json.dumps) | st.text(max_size=20), max_size=6))
def test_any_line_either_parses_or_is_an_input_error(lines: list[str]) -> None:
    try:
        parse_scenario(lines, "fuzz.ndjson")
    except InputError as exc:
        assert exc.message.startswith("fuzz.ndjson:") or "does not exist" in exc.message


def test_every_event_kind_is_documented() -> None:
    from autoplay_cli.simulate import EVENT_KINDS

    formats = (EXAMPLES.parents[1] / "docs" / "formats.md").read_text(encoding="utf-8")
    section = formats.split("## Simulate scenario files", 1)[1].split("\n## ", 1)[0]
    for kind in EVENT_KINDS:
        assert f"`{kind}`" in section or f'"event": "{kind}"' in section, kind


def test_steps_next_to_pasted_envelopes_share_the_recordings_clock(tmp_path: Path) -> None:
    envelope = (EXAMPLES / "recording.ndjson").read_text(encoding="utf-8").splitlines()[0]
    first = json.loads(envelope)["received_at"]
    path = write(tmp_path, envelope, {"at": 5, "session": "x", "event": "open_chat"})
    scenario = load_scenario(path)
    assert [e.time for e in scenario.events] == [first, first + 5]
    assert scenario.start == first


def error_for(tmp_path: Path, *lines: str | dict[str, object]) -> InputError:
    with pytest.raises(InputError) as info:
        load_scenario(write(tmp_path, *lines))
    return info.value


def test_mistakes_name_the_key_path_inside_the_line(tmp_path: Path) -> None:
    step = {"at": 1, "session": "a", "event": "actions"}
    err = error_for(tmp_path, {**step, "actions": [{"url": "/a"}, {"url": "/b", "duration": -2}]})
    assert err.message.endswith("s.ndjson:1: actions[1].duration: expected seconds ≥ 0, got -2")
    err = error_for(tmp_path, {**step, "actions": [{"url": 5}]})
    assert err.message.endswith("s.ndjson:1: actions[0].url: expected a string, got 5")
    err = error_for(tmp_path, {**step, "actions": ["click"]})
    assert err.message.endswith("s.ndjson:1: actions[0]: expected a table/object, got 'click'")
    err = error_for(tmp_path, {**step, "actions": [{"url": "/a"}], "email": 7})
    assert err.message.endswith("s.ndjson:1: email: expected a string or null, got 7")


def test_unknown_keys_list_what_the_event_allows(tmp_path: Path) -> None:
    err = error_for(tmp_path, {"at": 1, "session": "a", "event": "message", "chip": "x"})
    assert err.message.endswith("s.ndjson:1: chip: unknown key")
    assert err.hint == "allowed here: at, note, session, text"
    err = error_for(tmp_path, {"scenario": "x", "colour": "red"})
    assert err.hint == "allowed here: config, description, scenario, start"


def test_missing_keys_say_what_they_hold(tmp_path: Path) -> None:
    err = error_for(tmp_path, {"session": "a", "event": "tick"})
    assert err.message.endswith(
        """s.ndjson:1: missing 'at' (seconds from the scenario start, or "M:SS" / "H:MM:SS")"""
    )
    err = error_for(tmp_path, {"at": 1, "session": "a"})
    assert err.message.endswith("s.ndjson:1: missing 'event'")
    assert err.hint is not None and "open_chat" in err.hint and "recording envelope" in err.hint
    err = error_for(tmp_path, {"at": True, "session": "a", "event": "tick"})
    assert err.message.endswith(
        """s.ndjson:1: at: expected seconds from the scenario start, or "M:SS" / "H:MM:SS","""
        " got True"
    )


def test_lines_the_fast_reader_refuses_are_still_read(tmp_path: Path) -> None:
    # A lone surrogate and NaN are refused by msgspec but read by json as before.
    path = write(tmp_path, '{"at": 1, "session": "a", "event": "message", "text": "\\ud800"}')
    (event,) = load_scenario(path).events
    assert event.args == {"text": "\ud800"}
    err = error_for(tmp_path, '{"at": NaN, "session": "a", "event": "tick"}')
    assert err.message.endswith("s.ndjson:1: 'at' must be ≥ 0, got nan")


def test_a_recording_read_as_views_decides_as_its_models(tmp_path: Path) -> None:
    # simulate reads envelopes as the stream's views (as the relay replays them); every
    # step must be what the models give, unknown fields and null URLs included.
    from pydantic import BaseModel

    from autoplay_cli.emulator.traffic import generate_sessions, interleave
    from autoplay_cli.recording import envelope
    from autoplay_cli.simulate import simulate
    from autoplay_cli.triggers import TriggerConfig

    path = tmp_path / "recording.ndjson"
    with path.open("w", encoding="utf-8") as fh:
        for n, p in enumerate(interleave(generate_sessions(150, seed=3)), start=1):
            env = envelope(str(n), p, p.forwarded_at)
            if n % 7 == 0:
                env["payload"]["x_connector"] = {"region": None}
            if n % 10 == 0 and env["payload"].get("actions"):
                env["payload"]["actions"][0]["canonical_url"] = None  # left to the model
            fh.write(json.dumps(env) + "\n")
    models, views = load_inputs([path]), load_inputs([path], views=True)
    assert all(isinstance(e.payload, BaseModel) for e in models.events)
    assert any(not isinstance(e.payload, BaseModel) for e in views.events)
    config = TriggerConfig().with_overrides(interaction_timeout_s=5.0)
    by_models, by_views = simulate(models, config), simulate(views, config)
    assert by_views.step_count == by_models.step_count > 500
    assert [s.to_json(0.0) for s in by_views.steps] == [s.to_json(0.0) for s in by_models.steps]
    assert {s.decision for s in by_views.steps} >= {"offer", "blocked", "timeout", "-"}
