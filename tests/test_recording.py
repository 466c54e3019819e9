"""The envelope line: the fast ``dumps_envelope`` writes exactly what ``json.dumps`` would."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoplay_cli.errors import InputError
from autoplay_cli.recording import (
    RecordedEvent,
    RecordingError,
    RecordingWriter,
    dumps_envelope,
    envelope,
    iter_recording,
    parse_envelope_line,
)
from autoplay_cli.wire import PayloadEvent, parse_event, parse_payload

text = st.text(max_size=20)
opt_text = st.none() | text
action = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["click", "PageView", "submit"]),
        "description": text,
        "canonical_url": text,
        "timestamp_start": st.floats(0, 2e9),
        "index": st.integers(0, 99),
    },
    optional={"user_id": opt_text, "custom": st.integers() | text | st.none()},
)
payload = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("actions"),
            "product_id": text,
            "session_id": opt_text,
            "actions": st.lists(action, max_size=3),
            "forwarded_at": st.floats(0, 2e9),
        },
        optional={"email": opt_text, "extra_field": st.dictionaries(text, st.integers())},
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("summary"),
            "session_id": opt_text,
            "summary": text,
            "replaces": st.integers(0, 1000),
        }
    ),
)


@given(
    data=payload,
    event_id=opt_text,
    received_at=st.floats(0, 2e9) | st.integers(0, 2**40) | st.floats(1e-300, 1e-5),
)
def test_dumps_envelope_equals_json_dumps_and_round_trips(
    data: dict[str, object], event_id: str | None, received_at: float
) -> None:
    """A model (no frame text behind it) is re-serialised; a replay writes the same bytes."""
    p = parse_payload(data)
    line = dumps_envelope(RecordedEvent(event_id, received_at, p))
    reference = json.dumps(
        envelope(event_id, p, received_at), ensure_ascii=False, separators=(",", ":")
    )
    assert json.loads(line) == json.loads(reference)
    back = parse_envelope_line(line)
    assert back.payload == p
    assert dumps_envelope(back) == line.replace(
        f'"received_at":{json.dumps(received_at)}',
        f'"received_at":{json.dumps(float(received_at))}',
    )


@given(data=payload, event_id=opt_text, spaced=st.booleans())
def test_a_frame_is_recorded_and_replayed_byte_for_byte(
    data: dict[str, object], event_id: str | None, spaced: bool
) -> None:
    """The envelope carries the frame's own text: key order, spacing, escapes, extras."""
    text = json.dumps(data, ensure_ascii=spaced, separators=(", ", ": ") if spaced else None)
    event = parse_event(str(data["type"]), text, event_id)
    assert isinstance(event, PayloadEvent)
    line = dumps_envelope(RecordedEvent(event_id, 1767225600.5, event))
    assert line.endswith(',"payload":' + text + "}")
    back = parse_envelope_line(line)
    assert back.raw == text and dumps_envelope(back) == line
    assert back.payload == parse_payload(data)


def test_the_wire_payload_is_shown_as_sent_not_as_repaired() -> None:
    """A miscounted batch keeps its count, a null stays null, case is kept: it is the wire."""
    text = (
        '{"type":"actions","count":7,"product_id":null,"actions":[{"type":"CLICK","index":"2"}],'
        '"x-trace":{"n":[1,2]}}'
    )
    event = parse_event("actions", text, "9")
    assert isinstance(event, PayloadEvent) and event.raw == text
    assert json.loads(dumps_envelope(RecordedEvent("9", 1.5, event)))["payload"] == json.loads(text)
    # The model still repairs it for the human view and the library.
    assert event.payload.count == 1 and event.payload.product_id == ""
    assert event.payload.actions[0].type == "click" and event.payload.actions[0].index == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Several `data:` lines are joined with a newline: one line again, same JSON.
        ('{"type":"summary",\n"summary":"a\\nb"}', {"type": "summary", "summary": "a\nb"}),
        # Not strict JSON: the model's JSON (NaN becomes null there).
        ('{"type":"summary","replaces":1,"forwarded_at":NaN}', None),
    ],
)
def test_a_frame_that_cannot_stand_verbatim_is_reserialised(
    text: str, expected: dict[str, object] | None
) -> None:
    event = parse_event("summary", text, None)
    assert isinstance(event, PayloadEvent) and event.raw is None
    line = dumps_envelope(RecordedEvent(None, 1.0, event))
    assert "\n" not in line and "NaN" not in line
    payload = json.loads(line)["payload"]
    if expected is not None:
        assert {k: payload[k] for k in expected} == expected
    else:
        assert payload["forwarded_at"] is None and payload["replaces"] == 1


@pytest.mark.parametrize("stamp", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_a_received_at_that_is_not_a_finite_time_is_refused(stamp: str) -> None:
    """Else `--replay --speed 1` would wait forever (or never) on that line."""
    line = '{"id":"1","received_at":' + stamp + ',"payload":{"type":"summary","summary":"x"}}'
    # NaN and Infinity are not JSON at all; the others are numbers out of range.
    with pytest.raises(InputError, match=r"^f:1: (not JSON|'received_at' must be a number)"):
        parse_envelope_line(line, where="f:1")


def test_an_escaped_lone_surrogate_is_written_as_sent_and_read_back() -> None:
    """JSON's grammar allows "\\ud800"; the line must not crash and must round-trip."""
    text = '{"type":"summary","summary":"\\ud800 x"}'
    event = parse_event("summary", text, "1")
    assert isinstance(event, PayloadEvent) and event.raw == text
    line = dumps_envelope(RecordedEvent("1", 2.0, event))
    assert json.loads(line)["payload"]["summary"] == "\ud800 x"
    back = parse_envelope_line(line)
    assert back.payload == event.payload and json.loads(dumps_envelope(back)) == json.loads(line)
    # Split over two data lines it is re-serialised, still as valid JSON.
    split = parse_event("summary", text.replace(",", ",\n"), "2")
    assert isinstance(split, PayloadEvent) and split.raw is None
    assert json.loads(split.json)["summary"] == "\ud800 x"


def test_a_line_the_disk_refuses_is_taken_back_and_the_error_says_how_far_it_got(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rec.ndjson"
    writer = RecordingWriter(path)
    summary = parse_payload({"type": "summary", "summary": "x"})
    writer.write(RecordedEvent("1", 1.0, summary))
    writer.write(RecordedEvent("2", 2.0, summary))
    writer.flush()
    real = writer._fh

    class FullDisk:
        """Takes half of what it is given, then fails like a full disk."""

        def write(self, data: bytes) -> int:
            real.write(data[: len(data) // 2])
            real.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

        def flush(self) -> None:
            pass

        def close(self) -> None:
            real.close()

    writer._fh = FullDisk()  # type: ignore[assignment]
    writer.write(RecordedEvent("3", 3.0, summary))
    writer.write(RecordedEvent("4", 4.0, summary))
    with pytest.raises(RecordingError) as caught:
        writer.flush()
    message = caught.value.one_line()
    assert "No space left on device" in message and "the 2 events before it" in message
    assert "resume with `last_event_id` 2" in message and caught.value.setting == "record"
    # The file holds whole lines only, and the writer goes on once space is back.
    assert [e.id for e in iter_recording(path)] == ["1", "2"]
    writer.write(RecordedEvent("3", 3.0, summary))
    writer.close()
    assert [e.id for e in iter_recording(path)] == ["1", "2", "3"]


def test_a_recording_that_is_not_utf8_is_an_input_error_naming_the_file_and_line(
    tmp_path: Path,
) -> None:
    from typer.testing import CliRunner

    from autoplay_cli.cli.app import app

    good = dumps_envelope(RecordedEvent("1", 1.0, parse_payload({"type": "summary"})))
    path = tmp_path / "rec.ndjson"
    path.write_bytes((good + "\n").encode() * 3 + b'{"id": "\xff"}\n')
    with pytest.raises(InputError, match=rf"{path.name}:4 is not UTF-8"):
        list(iter_recording(path))
    result = CliRunner().invoke(app, ["tail", "--replay", str(path), "--json"])
    assert result.exit_code == 8
    assert f"{path}:4 is not UTF-8" in result.stderr and "Traceback" not in result.stderr


# -- the usual line in one pass (issue 13) -----------------------------------------------------

envelope_extra = st.dictionaries(
    st.from_regex(r"x_[a-z]{1,6}", fullmatch=True), st.none() | st.integers() | text, max_size=2
)


@st.composite
def envelope_lines(draw: st.DrawFn) -> str:
    """Envelope lines as recorders spell them: any field order, numeric or null ids, unknown
    fields, nulls in the payload's optional fields, sometimes a wrong count or a bad time."""
    data: dict[str, Any] = draw(payload)
    if data["type"] == "actions":
        for a in data["actions"]:  # type: ignore[attr-defined]
            for key in draw(st.sets(st.sampled_from(["canonical_url", "description", "index"]))):
                a[key] = None
        if draw(st.booleans()):
            data["count"] = draw(st.sampled_from([len(data["actions"]), 7, None, "2"]))  # type: ignore[arg-type]
    env: dict[str, object] = {
        "id": draw(opt_text | st.integers(-5, 10**20) | st.booleans()),
        "event": data["type"],
        "received_at": draw(
            st.floats(0, 2e9) | st.integers(0, 2**40) | st.sampled_from([True, "1", None, 1e301])
        ),
        "payload": data,
        **draw(envelope_extra),
    }
    keys = draw(st.permutations(list(env)))
    return json.dumps({k: env[k] for k in keys}, ensure_ascii=draw(st.booleans()))


@settings(max_examples=300, deadline=None)
@given(envelope_lines())
def test_the_one_pass_reader_reads_a_line_exactly_like_the_full_judgement(line: str) -> None:
    from autoplay_cli.recording import _judged_envelope, _usual_envelope

    try:
        judged = _judged_envelope(line, "f:1")
    except InputError as exc:
        assert _usual_envelope(line) is None  # every error is the full judgement's to say
        with pytest.raises(InputError) as again:
            parse_envelope_line(line, where="f:1")
        assert again.value.message == exc.message
        return
    usual = _usual_envelope(line)
    if usual is None:
        assert judged.warnings or judged._payload is not None  # the models were needed
        return
    assert usual._payload is None  # the view alone: no model built
    assert (usual.id, usual.received_at, usual.event, usual.view) == (
        judged.id,
        judged.received_at,
        judged.event,
        judged.view,
    )
    assert usual.raw == judged.raw and usual.json == judged.json
    assert usual.payload == judged.payload and usual.warnings == judged.warnings == ()
    assert dumps_envelope(usual) == dumps_envelope(judged)


def test_the_relay_benchmark_s_shaped_lines_all_take_the_one_pass_reader(tmp_path: Path) -> None:
    """Reordered envelopes, numeric ids, unknown fields, nulls, a null canonical_url."""
    import importlib.util

    from autoplay_cli.recording import _usual_envelope

    # The benchmark's own writer, loaded from its file (benchmarks/ is not a package).
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_relay.py"
    spec = importlib.util.spec_from_file_location("bench_relay_under_test", script)
    assert spec is not None and spec.loader is not None
    bench: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    path = tmp_path / "shaped.ndjson"
    events = bench.write_recording(path, 40, seed=3, shape="shaped")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(lines) == events and any('"canonical_url":null' in line for line in lines)
    assert all(_usual_envelope(line) is not None for line in lines)
    read = list(iter_recording(path))
    assert [e.line for e in read] == list(range(1, events + 1))
    assert [e.raw for e in read] == [
        json.dumps(json.loads(line)["payload"], separators=(",", ":")) for line in lines
    ]


def test_the_replay_reader_gives_iter_recording_s_fields_across_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import autoplay_cli.recording as recording
    from autoplay_cli.relay.runner import is_recording

    # Small blocks, so lines (and the incomplete last one) straddle block boundaries.
    monkeypatch.setattr(recording, "_BLOCK", 7)
    lines = [
        dumps_envelope(RecordedEvent(str(i), 1.0 + i, parse_payload({"type": "summary"})))
        for i in range(5)
    ]
    path = tmp_path / "rec.ndjson"
    path.write_text(lines[0] + "\n\n   \n" + "\n".join(lines[1:]))  # no final newline
    expected = [(e.received_at, e.view.type, e.id, e.line) for e in iter_recording(path)]
    assert [e[3] for e in expected] == [1, 4, 5, 6, 7]
    got = [(at, v.type, i, n) for at, v, i, n in recording.iter_recorded_views(path)]
    assert got == expected
    assert is_recording(path)
    path.write_text("\n".join(lines) + '\n{"payload": {}, "scenario": 1}')
    assert not is_recording(path)
    path.write_bytes(("\n".join(lines) + "\n" + lines[0]).encode() + b'\n{"id": "\xff"}\n')
    with pytest.raises(InputError, match=rf"{path.name}:7 is not UTF-8"):
        list(recording.iter_recorded_views(path))


def test_is_recording_judges_lines_longer_than_its_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from autoplay_cli.relay import runner

    monkeypatch.setattr(runner, "_SCAN_BLOCK", 5)
    line = dumps_envelope(RecordedEvent("1", 1.0, parse_payload({"type": "summary"})))
    path = tmp_path / "rec.ndjson"
    path.write_text(f"{line}\n\n{line}")
    assert runner.is_recording(path)
    path.write_text(f'{line}\n{{"payload": 1, "scenario": 2}}\n{line}\n')
    assert not runner.is_recording(path)
    path.write_text(f"{line}\n  [1]\n")
    assert not runner.is_recording(path)
