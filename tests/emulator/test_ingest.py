"""Ingest webhook bodies -> actions batches: accepted shapes, mapping, indices, rejections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from autoplay_cli.emulator.ingest import Ingest, IngestError
from autoplay_cli.wire import ActionsPayload, parse_payload

NOW = 1_800_000_000.0
JAN_15 = datetime(2027, 1, 15, 8, 0, tzinfo=UTC).timestamp()


def event(name: str = "$pageview", session: str | None = "s1", **props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"$current_url": "https://app.example/projects/4821/board"}
    if session is not None:
        properties["$session_id"] = session
    return {
        "event": name,
        "distinct_id": "u1",
        "timestamp": "2027-01-15T08:00:00Z",
        "properties": {**properties, **props},
    }


def test_a_posthog_destination_body_becomes_one_wire_batch() -> None:
    body = {"event": event(), "person": {"properties": {"email": "ann@acme.example"}}}
    [batch] = Ingest().batches("acme", body, NOW)
    payload = parse_payload(batch)
    assert isinstance(payload, ActionsPayload)
    assert (payload.product_id, payload.session_id, payload.user_id) == ("acme", "s1", "u1")
    assert payload.email == "ann@acme.example" and payload.forwarded_at == NOW
    [action] = payload.actions
    assert action.index == 0 and action.type == "pageview"
    assert action.raw_url == "https://app.example/projects/4821/board"
    assert action.canonical_url == "/projects/:id/board"
    assert action.timestamp_start == action.timestamp_end == JAN_15


def test_timestamps_iso_and_unix_and_missing() -> None:
    ingest = Ingest()
    iso = ingest.batches("p", event(), NOW)[0]["actions"][0]
    unix = ingest.batches("p", {**event(), "timestamp": 1_700_000_000.5}, NOW)[0]["actions"][0]
    missing = {k: v for k, v in event().items() if k != "timestamp"}
    none = ingest.batches("p", missing, NOW)[0]["actions"][0]
    assert iso["timestamp_start"] == JAN_15
    naive = {**event(), "timestamp": "2027-01-15T08:00:00"}
    assert ingest.batches("p", naive, NOW)[0]["actions"][0]["timestamp_start"] == JAN_15
    assert unix["timestamp_start"] == 1_700_000_000.5
    assert none["timestamp_start"] == NOW


def test_action_types_and_descriptions() -> None:
    body = [
        event("$pageview", title="Project board"),
        event("$autocapture", **{"$event_type": "submit", "$el_text": "Save settings"}),
        event("$autocapture", **{"$el_text": "Add task"}),
        event("$rageclick", **{"$el_text": "Move card"}),
        event("signed_up"),
    ]
    actions = Ingest().batches("p", body, NOW)[0]["actions"]
    assert [(a["type"], a["description"]) for a in actions] == [
        ("pageview", "Opened Project board"),
        ("submit", "Submitted Save settings"),
        ("click", "Clicked Add task"),
        ("rageclick", "Move card"),
        ("signed_up", "signed_up"),
    ]
    assert [a["index"] for a in actions] == [0, 1, 2, 3, 4]


def test_one_batch_per_session_and_indices_continue_across_requests() -> None:
    ingest = Ingest()
    first = ingest.batches("p", {"batch": [event(), event(session="s2"), event()]}, NOW)
    assert [(b["session_id"], b["count"]) for b in first] == [("s1", 2), ("s2", 1)]
    again = ingest.batches("p", [event(), event(session="s2")], NOW)
    assert [a["index"] for b in again for a in b["actions"]] == [2, 1]
    # Indices are per product: the same session id elsewhere starts at 0.
    assert ingest.batches("other", event(), NOW)[0]["actions"][0]["index"] == 0


def test_a_session_without_session_id_is_anonymous_and_tracked_by_user() -> None:
    ingest = Ingest()
    [batch] = ingest.batches("p", [event(session=None), event(session=None)], NOW)
    assert batch["session_id"] is None and batch["user_id"] == "u1"
    assert ingest.batches("p", event(session=None), NOW)[0]["actions"][0]["index"] == 2


def test_canonical_url_drops_ids_query_and_fragment() -> None:
    url = "https://app.example/tasks/88213?utm_source=mail#comments"
    [action] = Ingest().batches("p", event(**{"$current_url": url}), NOW)[0]["actions"]
    assert action["raw_url"] == url
    assert action["canonical_url"] == "/tasks/:id"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("https://app.example/projects/12/board", "/projects/:id/board"),
        ("http://localhost:3000/projects/12?tab=1#x", "/projects/:id"),
        ("//cdn.example/reports/" + "a" * 16, "/reports/:id"),
        ("/projects/12/board", "/projects/:id/board"),
        ("https://app.example", "/"),
        ("https://app.example?x=1", "/"),
        ("", ""),
    ],
)
def test_canonical_url_is_the_path_whatever_the_source(raw: str, canonical: str) -> None:
    [action] = Ingest().batches("p", event(**{"$current_url": raw}), NOW)[0]["actions"]
    assert action["canonical_url"] == canonical


def test_email_from_set_properties() -> None:
    [batch] = Ingest().batches("p", event(**{"$set": {"email": "bo@acme.example"}}), NOW)  # type: ignore[arg-type]
    assert batch["email"] == "bo@acme.example"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "non-empty list"),
        ("text", "non-empty list"),
        ({"batch": 3}, "non-empty list"),
        ([event(), 7], r"body: \[1\]: expected an event object, got 7"),
        ({"distinct_id": "u1"}, r"body: missing 'event' \(a non-empty event name\)"),
        (
            {**event(), "properties": [1]},
            "body: properties: expected a table/object or null, got a list",
        ),
        (
            {**event(), "timestamp": "yesterday"},
            "body: timestamp: expected an ISO 8601 date-time or unix seconds, got 'yesterday'",
        ),
    ],
)
def test_rejected_bodies_name_the_problem(body: Any, message: str) -> None:
    with pytest.raises(IngestError, match=message):
        Ingest().batches("p", body, NOW)


def test_a_rejected_request_changes_no_index() -> None:
    ingest = Ingest()
    with pytest.raises(IngestError, match=r"body: \[1\]\.timestamp: expected"):
        ingest.batches("p", [event(), {**event(), "timestamp": "yesterday"}], NOW)
    assert ingest.batches("p", event(), NOW)[0]["actions"][0]["index"] == 0


def test_mistakes_name_their_key_path_in_the_body_as_sent() -> None:
    wrapped = {"event": {**event(), "properties": {"$current_url": 5}}, "person": {}}
    with pytest.raises(IngestError) as info:
        Ingest().batches("p", {"batch": [event(), wrapped]}, NOW)
    assert info.value.message == (
        "body: batch[1].event.properties.$current_url: expected a string or null, got 5"
    )
    with pytest.raises(IngestError) as info:
        Ingest().batches("p", [{"event": event(), "person": {"properties": {"email": 1}}}], NOW)
    assert info.value.message == (
        "body: [0].person.properties.email: expected a string or null, got 1"
    )


def test_numeric_ids_become_strings_and_unknown_properties_are_ignored() -> None:
    body = {**event(session=None), "distinct_id": 42, "properties": {"$session_id": 7, "x": [1]}}
    [batch] = Ingest().batches("p", body, NOW)
    assert (batch["session_id"], batch["user_id"]) == ("7", "42")


def test_a_body_that_is_not_json_names_the_place() -> None:
    from functools import partial

    from autoplay_cli.documents import decode_body

    read_body = partial(decode_body, error_class=IngestError)
    assert read_body(b'{"event": "x"}') == {"event": "x"}
    with pytest.raises(IngestError, match=r"^body:1:2: not valid JSON \(Expecting property"):
        read_body(b"{not json")
    with pytest.raises(IngestError, match="nested too deeply"):
        read_body(b"[" * 100_000)
    with pytest.raises(IngestError, match="not UTF-8"):
        read_body(b"\xff")
