"""Live activity: the last 50 actions of the last 24 h per user, newest last."""

from __future__ import annotations

from autoplay_cli.relay.activity import LiveActivity, activity_key
from autoplay_cli.wire import SlimAction


def _a(i: int, t: float) -> SlimAction:
    return SlimAction(
        index=i, type="click", canonical_url=f"/p/{i}", timestamp_start=t, timestamp_end=t
    )


def test_keeps_the_last_fifty_newest_last_and_honours_limit() -> None:
    live = LiveActivity("prod")
    live.add("u", [_a(i, 1000 + i) for i in range(60)], 2000)
    env = live.envelope("u", now=2000)
    assert env["count"] == 50 and env["product_id"] == "prod" and env["user_id"] == "u"
    assert [a["index"] for a in env["actions"]] == list(range(10, 60))
    assert set(env["actions"][0]) == {
        "type", "title", "description", "timestamp_start", "timestamp_end",
        "raw_url", "canonical_url", "index",
    }  # fmt: skip
    assert [a["index"] for a in live.actions("u", 2000, limit=3)] == [57, 58, 59]
    assert live.actions("u", 2000, limit=500)[0]["index"] == 10
    assert live.envelope("nobody", now=1)["count"] == 0


def test_drops_actions_older_than_a_day_and_sweeps_idle_users() -> None:
    live = LiveActivity("prod")
    live.add("u", [_a(0, 10), _a(1, 50_000)], 50_000)
    live.add("gone", [_a(0, 10)], 10)
    assert [a["index"] for a in live.actions("u", 86_500)] == [1]
    assert live.sweep(86_500) == 1 and len(live) == 1


def test_actions_without_timestamps_count_from_when_they_were_received() -> None:
    live = LiveActivity("prod")
    live.add("u", [SlimAction(index=0)], 100_000)
    assert live.actions("u", 150_000) and not live.actions("u", 200_000)


def test_anonymous_sessions_are_keyed_by_session() -> None:
    assert activity_key(None, "sess") == "sess" and activity_key("u", "sess") == "u"


def test_a_record_is_the_same_from_a_stream_view_and_from_a_model() -> None:
    """The relay keeps fast views where it can and models where it must; a null or an
    upper-case type read off a view must not reach the live-activity envelope as such."""
    import json

    from autoplay_cli.relay.activity import action_record
    from autoplay_cli.wire import PayloadEvent, parse_event

    action = {
        "index": None, "type": "CLICK", "title": None, "description": None,
        "timestamp_start": 5, "timestamp_end": None, "raw_url": None,
        "canonical_url": "/x", "extra": {"unknown": True},
    }  # fmt: skip
    frame = {"type": "actions", "session_id": "s", "product_id": "p", "count": 1}
    event = parse_event("message", json.dumps({**frame, "actions": [action]}))
    assert isinstance(event, PayloadEvent)
    view, model = event.view.actions[0], event.payload.actions[0]  # type: ignore[attr-defined,union-attr]
    assert view is not model and view.description is None  # the view keeps the null
    assert action_record(view) == action_record(model)
    assert action_record(view)["type"] == "click" and action_record(view)["description"] == ""
    assert json.dumps(action_record(view)) == json.dumps(action_record(model))
