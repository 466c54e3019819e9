"""Wire models: tolerance, lossless round-trips, merge, text form, event classification."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from autoplay_cli.errors import InputError
from autoplay_cli.wire import (
    ActionsPayload,
    GapEvent,
    HeartbeatEvent,
    MalformedEvent,
    PayloadEvent,
    SlimAction,
    SummaryPayload,
    UnknownEvent,
    event_text,
    parse_event,
    parse_payload,
    payload_text,
)


def action(i: int, url: str = "/projects/:id", **extra: object) -> dict[str, object]:
    return {
        "index": i,
        "type": "click",
        "title": f"t{i}",
        "description": f"clicked {i}",
        "timestamp_start": 100.0 + i,
        "timestamp_end": 100.5 + i,
        "raw_url": url.replace(":id", "42"),
        "canonical_url": url,
        **extra,
    }


def actions_payload(n: int = 2, **extra: object) -> dict[str, object]:
    return {
        "type": "actions",
        "product_id": "acme",
        "session_id": "s1",
        "user_id": "u1",
        "email": "a@example.com",
        "actions": [action(i) for i in range(n)],
        "count": n,
        "forwarded_at": 200.0,
        "conversation_id": None,
        **extra,
    }


def test_unknown_fields_survive_a_round_trip_at_both_levels() -> None:
    raw = actions_payload(1, future_field={"nested": [1, 2]})
    raw["actions"][0]["x_extra"] = "kept"  # type: ignore[index]
    payload = ActionsPayload.model_validate(raw)
    again = payload.to_wire()
    assert again["future_field"] == {"nested": [1, 2]}
    assert again["actions"][0]["x_extra"] == "kept"
    assert ActionsPayload.model_validate(again).to_wire() == again


def test_round_trip_equals_the_input_when_every_field_is_present() -> None:
    raw = actions_payload(3)
    for a in raw["actions"]:  # type: ignore[attr-defined]
        a.update(session_id=None, user_id=None, email=None, conversation_id=None)
    assert ActionsPayload.model_validate(raw).to_wire() == raw


def test_missing_and_null_fields_fall_back_to_defaults() -> None:
    payload = ActionsPayload.model_validate(
        {
            "type": "actions",
            "product_id": None,
            "actions": [{"index": None, "type": None}],
            "forwarded_at": None,
        }
    )
    assert payload.product_id == ""
    assert payload.forwarded_at == 0.0
    a = payload.actions[0]
    assert (a.index, a.type, a.description, a.canonical_url, a.timestamp_start) == (
        0,
        "",
        "",
        "",
        0.0,
    )
    assert payload.session_id is None


def test_actions_list_null_becomes_empty() -> None:
    payload = ActionsPayload.model_validate({"type": "actions", "actions": None, "count": 0})
    assert payload.actions == [] and payload.count == 0


def test_action_type_is_lowercased() -> None:
    assert SlimAction.model_validate({"type": "PageView"}).type == "pageview"


def test_count_is_reconciled_to_the_number_of_actions_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="autoplay_cli.wire"):
        payload = ActionsPayload.model_validate(actions_payload(2) | {"count": 7})
    assert payload.count == 2
    assert any("count=7" in r.getMessage() for r in caplog.records)


def test_matching_count_does_not_warn(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="autoplay_cli.wire"):
        ActionsPayload.model_validate(actions_payload(2))
    assert caplog.records == []


def test_to_text_format() -> None:
    payload = ActionsPayload.model_validate(actions_payload(2))
    assert payload.to_text() == (
        "Session s1 — 2 actions\n"
        "[0] click: clicked 0 — /projects/:id\n"
        "[1] click: clicked 1 — /projects/:id"
    )


def test_to_text_for_an_anonymous_session() -> None:
    payload = ActionsPayload.model_validate(actions_payload(0) | {"session_id": None})
    assert payload.to_text() == "Session unknown — 0 actions"


def test_summary_payload_parses_and_renders() -> None:
    payload = SummaryPayload.model_validate(
        {
            "type": "summary",
            "product_id": "acme",
            "session_id": "s1",
            "summary": "Browsed.",
            "replaces": 12,
            "forwarded_at": 5.0,
            "extra": True,
        }
    )
    assert payload.replaces == 12
    assert payload.to_wire()["extra"] is True


def test_a_summary_to_text_is_the_summary_alone_and_payload_text_adds_the_header() -> None:
    payload = SummaryPayload(session_id="s1", summary="Browsed.", replaces=12)
    assert payload.to_text() == "Browsed."
    assert payload_text(payload) == "Session s1 — summary of 12 actions\nBrowsed."
    batch = ActionsPayload.model_validate(actions_payload(1))
    assert payload_text(batch) == batch.to_text()


def test_merge_concatenates_reindexes_and_takes_first_identity_and_latest_time() -> None:
    first = ActionsPayload.model_validate(
        actions_payload(2) | {"session_id": None, "user_id": None, "forwarded_at": 10.0}
    )
    second = ActionsPayload.model_validate(
        actions_payload(3) | {"session_id": "s2", "user_id": "u2", "forwarded_at": 30.0}
    )
    third = ActionsPayload.model_validate(
        actions_payload(1) | {"session_id": "s3", "forwarded_at": 20.0, "conversation_id": "c9"}
    )
    merged = ActionsPayload.merge([first, second, third])
    assert [a.index for a in merged.actions] == list(range(6))
    assert [a.description for a in merged.actions] == [
        "clicked 0",
        "clicked 1",
        "clicked 0",
        "clicked 1",
        "clicked 2",
        "clicked 0",
    ]
    assert merged.count == 6
    assert (merged.session_id, merged.user_id, merged.email) == ("s2", "u2", "a@example.com")
    assert merged.conversation_id == "c9"
    assert merged.forwarded_at == 30.0
    # the inputs are untouched
    assert [a.index for a in second.actions] == [0, 1, 2]


def test_merge_of_nothing_is_an_error() -> None:
    with pytest.raises(InputError, match="empty"):
        ActionsPayload.merge([])


@pytest.mark.parametrize(
    ("event", "data", "kind"),
    [
        ("heartbeat", "", HeartbeatEvent),
        ("heartbeat", "whatever", HeartbeatEvent),
        ("actions", json.dumps(actions_payload(1)), PayloadEvent),
        (None, json.dumps(actions_payload(1)), PayloadEvent),
        ("message", json.dumps({"type": "summary", "summary": "x"}), PayloadEvent),
        ("actions", json.dumps({"type": "clickstream"}), UnknownEvent),
        ("actions", json.dumps({"no": "type"}), UnknownEvent),
        ("actions", "{not json", MalformedEvent),
        ("actions", "[1, 2]", MalformedEvent),
        ("actions", "", MalformedEvent),
        ("actions", json.dumps({"type": "actions", "actions": "nope"}), MalformedEvent),
        (
            "gap",
            json.dumps({"type": "gap", "requested_id": "3", "oldest_id": "90", "missed": 86}),
            GapEvent,
        ),
    ],
)
def test_parse_event_classifies_without_raising(event: str | None, data: str, kind: type) -> None:
    assert isinstance(parse_event(event, data, "7"), kind)


def test_parse_event_keeps_the_id_and_reports_count_fix() -> None:
    parsed = parse_event("actions", json.dumps(actions_payload(2) | {"count": 5}), "41")
    assert isinstance(parsed, PayloadEvent)
    assert parsed.id == "41" and parsed.type == "actions"
    assert parsed.warnings and "count=5" in parsed.warnings[0]


def test_gap_event_fields() -> None:
    parsed = parse_event("gap", '{"type":"gap","requested_id":"3","oldest_id":"90","missed":86}')
    assert parsed == GapEvent(requested_id="3", oldest_id="90", missed=86)


def test_parse_event_accepts_bytes_and_rejects_invalid_utf8() -> None:
    assert isinstance(parse_event("actions", json.dumps(actions_payload(1)).encode()), PayloadEvent)
    assert isinstance(parse_event("actions", b"\xff\xfe"), MalformedEvent)


def test_parse_payload_raises_input_errors() -> None:
    with pytest.raises(InputError, match="unknown payload type"):
        parse_payload({"type": "nope"})
    with pytest.raises(InputError, match="JSON object"):
        parse_payload([1])


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(st.text(max_size=200), st.sampled_from(["actions", "summary", "message", None, "x"]))
def test_parse_event_never_raises_on_arbitrary_text(data: str, event: str | None) -> None:
    parse_event(event, data)


@given(json_values, st.sampled_from(["actions", "summary", "message"]))
def test_parse_event_never_raises_on_arbitrary_json(value: object, event: str) -> None:
    parse_event(event, json.dumps(value))
    if isinstance(value, dict):
        parse_event(event, json.dumps(value | {"type": "actions"}))
        parse_event(event, json.dumps(value | {"type": "summary"}))


@given(st.dictionaries(st.from_regex(r"x_[a-z]{1,8}", fullmatch=True), json_values, max_size=4))
def test_extra_fields_round_trip(extra: dict[str, object]) -> None:
    payload = ActionsPayload.model_validate(actions_payload(1) | extra)
    wire = payload.to_wire()
    for key, value in extra.items():
        assert wire[key] == value
    assert ActionsPayload.model_validate(wire).to_wire() == wire


# -- the one-call path of parse_event equals the tolerant path --------------------------------

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["3", "1.5", "Click", "PageView", "\ud800", "ΣΑΣ", "İ"]),
)
ACTION_KEYS = [
    "index",
    "type",
    "title",
    "description",
    "timestamp_start",
    "canonical_url",
    "session_id",
    "user_id",
    "x_extra",
]
PAYLOAD_KEYS = [
    "product_id",
    "session_id",
    "user_id",
    "email",
    "count",
    "forwarded_at",
    "conversation_id",
    "summary",
    "replaces",
    "future",
]


@st.composite
def frame_data(draw: st.DrawFn) -> str:
    obj: dict[str, object] = draw(st.dictionaries(st.sampled_from(PAYLOAD_KEYS), SCALAR))
    kind = draw(st.sampled_from(["actions", "summary", "gap", "other", None, "ACTIONS"]))
    if kind is not None:
        obj["type"] = kind
    if draw(st.booleans()):
        action = st.dictionaries(st.sampled_from(ACTION_KEYS), SCALAR)
        obj["actions"] = draw(st.one_of(st.none(), st.lists(action, max_size=3), SCALAR))
    if draw(st.booleans()) and isinstance(obj.get("actions"), list):
        obj["count"] = len(obj["actions"])  # type: ignore[arg-type]
    text = json.dumps(obj, ensure_ascii=draw(st.booleans()), allow_nan=False)
    return draw(st.sampled_from([text, text + " ", text[:-1], "[" + text + "]"]))


def _utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(frame_data(), st.sampled_from([None, "actions", "summary", "gap", "message"]))
def test_the_one_call_path_classifies_exactly_like_the_tolerant_path(
    data: str, event: str | None
) -> None:
    from autoplay_cli.wire import _classify

    fast = parse_event(event, data, "9")
    slow = _classify(event or "message", data, "9")
    assert type(fast) is type(slow)
    if isinstance(fast, PayloadEvent):
        assert isinstance(slow, PayloadEvent)
        assert type(fast.payload) is type(slow.payload)
        assert fast.payload.to_wire() == slow.payload.to_wire()
        assert (fast.id, fast.event, fast.warnings) == (slow.id, slow.event, slow.warnings)
        assert event_text(fast) == payload_text(slow.payload)
        # What filters read off the cheap view is what the model says.
        view, model = fast.view, fast.payload
        assert (view.type, view.session_id) == (model.type, model.session_id)
        if isinstance(model, ActionsPayload):
            assert [(a.user_id, a.email, a.canonical_url) for a in view.actions] == [  # type: ignore[attr-defined]
                (a.user_id, a.email, a.canonical_url) for a in model.actions
            ]
            assert (view.user_id, view.email) == (model.user_id, model.email)  # type: ignore[attr-defined]
        # Strict JSON on one line (all these frames): the frame's text stands for it,
        # unless it cannot be written as UTF-8 (a lone surrogate, never off the network).
        assert fast.raw == (data if data.isascii() or _utf8(data) else None)
    else:
        assert fast == slow


def test_the_one_call_path_leaves_nulls_and_miscounts_to_the_tolerant_path() -> None:
    parsed = parse_event("actions", json.dumps(actions_payload(1) | {"product_id": None}))
    assert isinstance(parsed, PayloadEvent) and parsed.payload.product_id == ""
    parsed = parse_event("actions", json.dumps(actions_payload(1) | {"count": 4}))
    assert isinstance(parsed, PayloadEvent)
    assert parsed.payload.count == 1 and parsed.warnings


# Only characters this Python's Unicode database knows: pydantic-core (Rust) may carry a
# newer Unicode version, whose case mappings for later-assigned characters Python lacks.
KNOWN_CHARACTERS = st.characters(blacklist_categories=("Cn", "Cs"))


@given(st.text(KNOWN_CHARACTERS, max_size=8))
def test_action_type_lowercasing_matches_python_lower(value: str) -> None:
    assert SlimAction.model_validate({"type": value}).type == value.lower()


def test_model_validate_json_is_as_tolerant_as_model_validate() -> None:
    raw = json.dumps({"type": "actions", "actions": [{"type": None, "title": None}], "count": None})
    payload = ActionsPayload.model_validate_json(raw)
    assert payload.actions[0].type == "" and payload.count == 1
    with pytest.raises(ValidationError):
        ActionsPayload.model_validate_json("{not json")


def test_construction_with_nulls_falls_back_to_defaults_too() -> None:
    payload = ActionsPayload(count=None, product_id=None, actions=[{"type": None, "index": None}])  # type: ignore[arg-type,list-item]
    assert (payload.count, payload.product_id, payload.actions[0].type) == (1, "", "")
    assert SlimAction(type="Click", title=None).title == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", [50, 5000])
def test_deep_nesting_is_a_payload_or_malformed_never_a_crash(depth: int) -> None:
    data = '{"type":"summary","summary":"s","x":' + "[" * depth + "]" * depth + "}"
    event = parse_event("summary", data, "1")
    # Python 3.13's json reads far deeper than 3.11's and 3.12's: the payload is
    # malformed exactly when this Python's own parser cannot read it.
    try:
        json.loads(data)
    except RecursionError:
        assert isinstance(event, MalformedEvent) and "nested too deeply" in event.reason
    else:
        assert isinstance(event, PayloadEvent) and event.payload.summary == "s"
        assert event.json == data


def test_the_model_of_a_fast_frame_falls_back_to_its_view(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the models ever refuse what the fast schema took, the known fields still make one."""
    import autoplay_cli.wire as wire

    event = parse_event("actions", json.dumps(actions_payload(2) | {"odd": 1}), "7")
    assert isinstance(event, PayloadEvent) and event.raw is not None

    def refuse(*args: object, **kwargs: object) -> object:
        raise RecursionError

    wire.warm_up()
    monkeypatch.setattr(wire, "_fast_validate_json", refuse)
    monkeypatch.setattr(
        wire, "_parse_with_models", lambda name, data, event_id: MalformedEvent("refused")
    )
    model = event.payload
    assert isinstance(model, ActionsPayload) and len(model.actions) == 2
    assert model.session_id == event.view.session_id and "odd" not in (model.model_extra or {})


@pytest.mark.parametrize(
    ("fast_name", "model"),
    [
        ("_FastAction", SlimAction),
        ("_FastActions", ActionsPayload),
        ("_FastSummary", SummaryPayload),
    ],
)
def test_the_fast_schema_has_the_models_fields_and_defaults(fast_name: str, model: Any) -> None:
    """The msgspec twin must change with the models: a field missing there would go unchecked."""
    import msgspec

    import autoplay_cli.wire as wire

    fast = getattr(wire, fast_name)
    info = msgspec.inspect.type_info(fast)
    assert isinstance(info, msgspec.inspect.StructType)
    fast_fields = {
        f.encode_name: (f.default if f.default is not msgspec.NODEFAULT else f.default_factory())
        for f in info.fields
    }
    if info.tag_field is not None:
        fast_fields[info.tag_field] = info.tag
    model_fields = {
        name: f.get_default(call_default_factory=True) for name, f in model.model_fields.items()
    }
    assert fast_fields == model_fields


# -- advisory count, falsy actions (issue 15) ------------------------------------------------


@pytest.mark.parametrize(
    ("count", "said"),
    [
        ("2", 'count="2"'),
        ("two", 'count="two"'),
        (2.0, "count=2.0"),
        (1.5, "count=1.5"),
        (True, "count=true"),
        (7, "count=7"),
        (None, "count is null"),
        ("missing", "count missing"),
    ],
)
def test_a_wrong_advisory_count_is_corrected_with_a_warning_and_the_batch_kept(
    count: object, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    obj = actions_payload(2)
    if count == "missing":
        del obj["count"]
    else:
        obj["count"] = count
    data = json.dumps(obj)
    event = parse_event("actions", data, "5")
    assert isinstance(event, PayloadEvent)
    assert isinstance(event.payload, ActionsPayload) and event.payload.count == 2
    assert len(event.payload.actions) == 2
    assert len(event.warnings) == 1 and said in event.warnings[0]
    assert event.raw == data  # --json still shows what the connector said
    with caplog.at_level(logging.WARNING, logger="autoplay_cli.wire"):
        payload = parse_payload(obj)
    assert isinstance(payload, ActionsPayload) and payload.count == 2
    assert any(said in r.getMessage() for r in caplog.records)


def test_a_missing_or_null_count_on_an_empty_batch_needs_no_correction() -> None:
    for obj in ({"type": "actions"}, {"type": "actions", "count": None, "actions": []}):  # type: ignore[var-annotated]
        event = parse_event("actions", json.dumps(obj))
        assert isinstance(event, PayloadEvent) and event.warnings == ()
        assert event.payload.count == 0


@pytest.mark.parametrize("actions", [None, 0, "", False, 0.0])
def test_a_falsy_actions_field_is_an_empty_batch_not_a_malformed_one(actions: object) -> None:
    obj = {"type": "actions", "session_id": "s", "actions": actions, "count": 0}
    event = parse_event("actions", json.dumps(obj))
    assert isinstance(event, PayloadEvent)
    assert isinstance(event.payload, ActionsPayload) and event.payload.actions == []
    assert event.warnings == ()
    assert parse_payload(obj).actions == []  # type: ignore[union-attr]


@pytest.mark.parametrize("actions", ["nope", 3, {"a": 1}, [1, 2], True])
def test_only_actions_that_cannot_be_read_make_a_malformed_payload(actions: object) -> None:
    event = parse_event("actions", json.dumps({"type": "actions", "actions": actions}))
    assert isinstance(event, MalformedEvent) and "actions" in event.reason
    with pytest.raises(InputError, match="actions"):
        parse_payload({"type": "actions", "actions": actions})


# -- nulls and unknown fields stay on the fast path (issue 16) --------------------------------

NULLABLE_ACTION_KEYS = [
    "index",
    "type",
    "title",
    "description",
    "timestamp_start",
    "timestamp_end",
    "raw_url",
    "canonical_url",
    "session_id",
    "user_id",
    "email",
    "conversation_id",
]
NULLABLE_PAYLOAD_KEYS = [
    "product_id",
    "session_id",
    "user_id",
    "email",
    "forwarded_at",
    "conversation_id",
]


@st.composite
def payload_with_nulls_and_extras(draw: st.DrawFn) -> dict[str, object]:
    """A well-formed actions or summary payload, optional fields null, unknown fields added."""
    extras = st.dictionaries(
        st.from_regex(r"x_[a-z]{1,6}", fullmatch=True), json_values, max_size=3
    )
    if draw(st.booleans()):
        obj: dict[str, Any] = {
            "type": "summary",
            "session_id": "s",
            "summary": "prose",
            "replaces": 3,
            "forwarded_at": 1.5,
            "product_id": "p",
        }
        for key in draw(
            st.sets(
                st.sampled_from(["product_id", "session_id", "summary", "replaces", "forwarded_at"])
            )
        ):
            obj[key] = None
    else:
        obj = actions_payload(draw(st.integers(0, 3)))
        for key in draw(st.sets(st.sampled_from(NULLABLE_PAYLOAD_KEYS))):
            obj[key] = None
        for a in obj["actions"]:  # type: ignore[attr-defined]
            for key in draw(st.sets(st.sampled_from(NULLABLE_ACTION_KEYS))):
                a[key] = None
            a.update(draw(extras))
    obj.update(draw(extras))
    keys = draw(st.permutations(list(obj)))  # any field order
    return {k: obj[k] for k in keys}


@settings(max_examples=300, deadline=None)
@given(payload_with_nulls_and_extras())
def test_nulls_and_unknown_fields_take_the_fast_path_and_agree_with_the_models(
    obj: dict[str, object],
) -> None:
    from autoplay_cli.wire import _classify

    data = json.dumps(obj, separators=(",", ":"))
    fast = parse_event(None, data, "3")
    assert isinstance(fast, PayloadEvent)
    assert fast._payload is None  # no model built: the fast path took it
    text = event_text(fast)  # read off the view
    assert fast._payload is None
    slow = _classify("message", data, "3")
    assert isinstance(slow, PayloadEvent)
    assert fast.payload.to_wire() == slow.payload.to_wire()
    assert fast.warnings == slow.warnings == ()
    assert fast.raw == data
    view, model = fast.view, fast.payload
    assert text == payload_text(model) == event_text(fast)
    assert (view.type, view.session_id) == (model.type, model.session_id)
    if isinstance(model, ActionsPayload):
        assert [(a.user_id, a.email, a.canonical_url) for a in view.actions] == [  # type: ignore[attr-defined]
            (a.user_id, a.email, a.canonical_url) for a in model.actions
        ]


def test_a_null_canonical_url_stays_on_the_fast_path_and_reads_as_the_models_default() -> None:
    import msgspec

    obj = actions_payload(2)
    obj["actions"][0]["canonical_url"] = None  # type: ignore[index]
    data = json.dumps(obj)
    event = parse_event("actions", data, "4")
    assert isinstance(event, PayloadEvent) and event._payload is None and event.raw == data
    view_urls = [a.canonical_url for a in event.view.actions]  # type: ignore[attr-defined]
    assert view_urls == ["", obj["actions"][1]["canonical_url"]]  # type: ignore[index]
    assert view_urls == [a.canonical_url for a in event.payload.actions]  # type: ignore[union-attr]
    # The view's own fields, as the relay's notes turn them back into a model: the null is
    # spelled under the wire's name, and the model takes it for its default.
    assert parse_payload(msgspec.to_builtins(event.view)) == event.payload


def test_nulls_are_defaults_in_one_validation_call_of_the_model() -> None:
    raw = json.dumps(actions_payload(2, x_new={"a": None}) | {"product_id": None})
    raw = raw.replace('"title": "t0"', '"title": null')
    payload = ActionsPayload.model_validate_json(raw)
    assert (payload.product_id, payload.actions[0].title) == ("", "")
    assert payload.model_extra == {"x_new": {"a": None}}


@pytest.mark.parametrize("missed", [-1, -(2**40), 2**53, 10**30, 1.5, "12", True, [3]])
def test_a_gap_with_a_negative_or_absurd_missed_count_is_malformed_not_summed(
    missed: object,
) -> None:
    data = json.dumps({"type": "gap", "requested_id": "3", "oldest_id": "9", "missed": missed})
    for name in ("gap", "message"):
        event = parse_event(name, data, "9")
        assert isinstance(event, MalformedEvent), (name, event)
        assert "missed count" in event.reason


@pytest.mark.parametrize("missed", [0, 5, 2**53 - 1, None])
def test_a_gap_with_a_plausible_or_unknown_missed_count_is_a_gap(missed: object) -> None:
    obj = {"type": "gap", "requested_id": "3", "oldest_id": "9"}
    if missed is not None:
        obj["missed"] = missed  # type: ignore[assignment]
    assert parse_event("gap", json.dumps(obj)) == GapEvent("3", "9", missed)  # type: ignore[arg-type]


def test_a_refused_field_is_named_by_its_path_alone() -> None:
    data = {"type": "actions", "actions": [{"index": "first", "title": None}]}
    with pytest.raises(InputError) as caught:
        parse_payload(data)
    assert caught.value.one_line().startswith(
        "invalid actions payload: actions.0.index: Input should be a valid integer"
    )
    event = parse_event("actions", json.dumps(data))
    assert isinstance(event, MalformedEvent)
    assert event.reason.startswith("invalid actions payload: actions.0.index: Input should")
