"""The note policy: one note at link time, coalescing after it, the pre-link window."""

from __future__ import annotations

from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.wire import ActionsPayload, SlimAction, SummaryPayload


def _p(sid: str, *urls: str) -> ActionsPayload:
    actions = [
        SlimAction(type="pageview", description=f"Opened {u}", canonical_url=u) for u in urls
    ]
    return ActionsPayload(session_id=sid, actions=actions)


def test_pre_link_payloads_go_out_as_one_note_at_link_time() -> None:
    notes = NotePolicy(prelink_window_s=300)
    assert notes.add("s", None, 0, "1", _p("s", "/a")) is None
    assert (
        notes.add("s", None, 10, "2", SummaryPayload(session_id="s", summary="did things")) is None
    )
    assert notes.add("s", None, 20, "3", _p("s", "/b", "/c")) is None
    note = notes.link("s", "conv", 30)
    assert note is not None and note.event_ids == ("1", "2", "3")
    assert note.conversation_id == "conv"
    # Summaries first, then the actions merged and re-indexed from 0.
    assert note.body.splitlines() == [
        "Session s — summary of 0 actions",
        "did things",
        "",
        "Session s — 3 actions",
        "[0] pageview: Opened /a — /a",
        "[1] pageview: Opened /b — /b",
        "[2] pageview: Opened /c — /c",
    ]
    assert notes.pending("s") == 0


def test_pre_link_buffer_keeps_only_the_window() -> None:
    notes = NotePolicy(prelink_window_s=60)
    notes.add("s", None, 0, "1", _p("s", "/old"))
    notes.add("s", None, 50, "2", _p("s", "/mid"))
    note = notes.link("s", "c", 100)
    assert note is not None and note.event_ids == ("2",)
    assert notes.dropped_stale == 1


def test_linked_payloads_are_coalesced_within_the_debounce() -> None:
    notes = NotePolicy(post_link_debounce_s=0.5)
    assert notes.link("s", "c", 0) is None  # nothing buffered: no empty note
    assert notes.add("s", "c", 1.0, "1", _p("s", "/a")) is None
    assert notes.add("s", "c", 1.2, "2", _p("s", "/b")) is None
    assert notes.due(1.4) == []
    assert notes.next_due == 1.5
    (note,) = notes.due(1.5)
    assert note.event_ids == ("1", "2")
    assert notes.add("s", "c", 3.0, "3", _p("s", "/c")) is None
    (last,) = notes.drain()
    assert last.event_ids == ("3",)


def test_zero_debounce_posts_each_payload_at_once() -> None:
    notes = NotePolicy(post_link_debounce_s=0)
    note = notes.add("s", "c", 1.0, "1", _p("s", "/a"))
    assert note is not None and note.event_ids == ("1",)


def test_a_buffer_survives_dump_and_restore() -> None:
    notes = NotePolicy(post_link_debounce_s=0.5)
    notes.add("s", "c", 1.0, "1", _p("s", "/a"))
    data = notes.dump("s")
    again = NotePolicy(post_link_debounce_s=0.5)
    again.restore("s", data)
    (note,) = again.due(2.0)
    assert note.event_ids == ("1",) and "/a" in note.body


def test_sweep_forgets_unlinked_sessions_gone_quiet() -> None:
    notes = NotePolicy(prelink_window_s=60)
    notes.add("quiet", None, 0, "1", _p("quiet", "/a"))
    notes.add("busy", None, 100, "2", _p("busy", "/a"))
    notes.link("linked", "c", 0)
    assert notes.sweep(120) == 1
    assert notes.pending("quiet") == 0 and notes.pending("busy") == 1
    assert notes.linked("linked") == "c"


def test_note_bodies_from_the_stream_views_equal_the_delivery_managers() -> None:
    """The relay renders notes from the stream's fast views (no models); the text must be
    the delivery manager's ``render_note`` of the models, nulls and odd spellings included."""
    import json

    from autoplay_cli.emulator.traffic import generate_sessions, interleave
    from autoplay_cli.relay.notes import note_body
    from autoplay_cli.session.manager import render_note
    from autoplay_cli.wire import PayloadEvent, parse_event

    frames = [p.to_wire() for p in interleave(generate_sessions(12, seed=3))]
    for n, frame in enumerate(frames):
        if n % 3 == 0 and frame["type"] == "actions":  # nulls the views keep as None
            frame["session_id"] = None if n % 2 else frame["session_id"]
            for action in frame["actions"]:
                action.update(type=str(action["type"]).upper(), description=None, title=None)
        if n % 5 == 0 and frame["type"] == "summary":
            frame.update(summary=None, replaces=None)
    events = [parse_event("message", json.dumps(f)) for f in frames]
    assert all(isinstance(e, PayloadEvent) for e in events)
    views = [e.view for e in events if isinstance(e, PayloadEvent)]
    models = [e.payload for e in events if isinstance(e, PayloadEvent)]
    assert any(type(v) is not type(m) for v, m in zip(views, models, strict=True))
    for size in (1, 2, 3, 5):
        for i in range(0, len(views) - size, size):
            assert note_body(views[i : i + size]) == render_note(models[i : i + size])


def test_dump_is_each_payloads_own_json_across_prunes_and_restores() -> None:
    """The JSON of a buffered payload is made once and kept by the buffer; what is dumped
    must stay each item's own payload, after the window dropped some and after a restore."""
    from autoplay_cli.relay.notes import buffered_json

    notes = NotePolicy(prelink_window_s=60)
    payloads = [_p("s", f"/{i}") for i in range(6)]
    for i, p in enumerate(payloads[:3]):
        notes.add("s", None, i * 10, str(i), p)
    first = notes.dump("s")
    assert first is not None and [json for _, _, json in first[2]] == [
        buffered_json(p) for p in payloads[:3]
    ]
    for i, p in enumerate(payloads[3:], start=3):
        notes.add("s", None, i * 30, str(i), p)  # at 90 and later: the first ones drop
    second = notes.dump("s")
    assert second is not None
    kept = [int(e) for _, e, _ in second[2]]
    assert kept == [3, 4, 5]
    assert [json for _, _, json in second[2]] == [buffered_json(payloads[i]) for i in kept]
    again = NotePolicy(prelink_window_s=60)
    again.restore("s", json_round_trip(second))
    assert again.dump("s") == second
    note = again.link("s", "conv", 150)
    assert note is not None and note.event_ids == ("3", "4", "5") and "/5" in note.body


def json_round_trip(data: object) -> object:
    import json

    return json.loads(json.dumps(data))


def test_dump_never_gives_a_dropped_payloads_json_to_a_new_one() -> None:
    """Dropped payloads are freed and their memory (their id) reused by new ones: the
    kept JSON of a dropped payload must go with it."""
    from autoplay_cli.relay.notes import buffered_json

    notes = NotePolicy(prelink_window_s=5)
    for i in range(200):
        notes.add("s", None, i * 10, str(i), _p("s", f"/{i}"))  # each drops the one before
        data = notes.dump("s")
        assert data is not None
        buffered = notes.buffers["s"].items
        assert [e for _, e, _ in data[2]] == [str(i)]
        assert [j for _, _, j in data[2]] == [buffered_json(p) for _, _, p in buffered]
