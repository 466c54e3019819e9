"""The emulator's ingest webhook: PostHog-style events in, ``actions`` batches out.

The shapes accepted here are the emulator's own choice (the real connector's are
not public); see docs/emulator.md. The shapes are normalised first, then each event is
converted into one declared msgspec type. Pure: no web framework here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from autoplay_cli.documents import Document, KeyPath, describe
from autoplay_cli.emulator.traffic import canonicalize
from autoplay_cli.errors import IngestError

__all__ = ["Ingest", "IngestError"]

# What an autocapture's `$event_type` or an event name becomes as an action type.
_VERBS = {"pageview": "Opened", "click": "Clicked", "submit": "Submitted", "change": "Changed"}
_SHAPES = "the body must be an event object, a non-empty list, or {'batch': [...]}"

# Identities may be sent as numbers (PostHog's distinct_id often is); they become strings.
Ident = str | int | None
Timestamp = Annotated[int | float | str, Meta(description="an ISO 8601 date-time or unix seconds")]


class _Set(msgspec.Struct):
    email: str | None = None


class _Properties(msgspec.Struct):
    """The event properties the emulator reads; PostHog's many others are ignored."""

    session_id: Ident = msgspec.field(default=None, name="$session_id")
    current_url: str | None = msgspec.field(default=None, name="$current_url")
    event_type: str | None = msgspec.field(default=None, name="$event_type")
    el_text: str | None = msgspec.field(default=None, name="$el_text")
    set: _Set | None = msgspec.field(default=None, name="$set")
    title: str | None = None
    distinct_id: Ident = None
    email: str | None = None


class _Person(msgspec.Struct):
    properties: _Set | None = None


class _Event(msgspec.Struct):
    event: Annotated[str, Meta(min_length=1, description="a non-empty event name")]
    properties: _Properties | None = None
    timestamp: Timestamp | None = None
    distinct_id: Ident = None
    session_id: Ident = None
    url: str | None = None


_NO_PROPERTIES = _Properties()
# A union as a value: msgspec takes it, type checkers want no type[T] of it.
_OptPerson: Any = _Person | None


def _events(body: Any, now: float) -> list[tuple[_Event, _Person, float]]:
    """(event, person, time) of every accepted body shape, in the order sent.

    The shapes are brought to one list of (key path, event, person) first; each
    event is then converted into the one declared type, so a mistake names its key
    path in the body as sent (``batch[1].event.properties``).
    """
    doc = Document(body, source="body", error_class=IngestError)
    items, base = (
        (body["batch"], ("batch",)) if isinstance(body, dict) and "batch" in body else (body, ())
    )
    listed: list[tuple[KeyPath, Any]]
    if isinstance(items, dict):
        listed = [(base, items)]
    elif isinstance(items, list) and items:
        listed = [((*base, n), item) for n, item in enumerate(items)]
    else:
        raise IngestError(_SHAPES)
    pairs = []
    for path, item in listed:
        if not isinstance(item, dict):
            raise doc.error(path, f"expected an event object, got {describe(item)}")
        # A PostHog destination's body is {event: {...}, person: {...}}.
        wrapped = isinstance(item.get("event"), dict)
        at = (*path, "event") if wrapped else path
        event = doc.convert(item["event"] if wrapped else item, _Event, at)
        person = doc.convert(item.get("person"), _OptPerson, (*path, "person"))
        pairs.append((event, person or _Person(), _timestamp(doc, at, event.timestamp, now)))
    return pairs


def _timestamp(doc: Document, path: KeyPath, value: int | float | str | None, now: float) -> float:
    if value is None:
        return now
    if isinstance(value, int | float):
        return float(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise doc.error(
            (*path, "timestamp"),
            f"expected an ISO 8601 date-time or unix seconds, got {describe(value)}",
        ) from None
    # No offset means UTC, as in PostHog's examples; never this machine's zone.
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _text(value: str | int | None) -> str | None:
    return None if value is None or value == "" else str(value)


def _action(event: _Event, person: _Person, at: float) -> dict[str, Any]:
    props = event.properties or _NO_PROPERTIES
    name = event.event
    if name == "$autocapture":
        kind = (props.event_type or "click").lower()
    else:
        kind = name.removeprefix("$").lower()
    raw_url = props.current_url or event.url or ""
    title = props.el_text or props.title or ""
    verb = _VERBS.get(kind)
    target = title or (raw_url if kind == "pageview" else "")
    description = f"{verb} {target}".strip() if verb else (title or name)
    person_email = person.properties.email if person.properties else None
    set_email = props.set.email if props.set else None
    return {
        "type": kind,
        "title": title,
        "description": description,
        "timestamp_start": at,
        "timestamp_end": at,
        "raw_url": raw_url,
        # The path alone, as in generated traffic: `?utm_…` must not split one page into
        # many, and `tail --url '/projects*'` must match whatever sent the event.
        "canonical_url": canonicalize(raw_url),
        "session_id": _text(props.session_id or event.session_id),
        "user_id": _text(event.distinct_id or props.distinct_id),
        "email": person_email or set_email or props.email or None,
    }


class Ingest:
    """Turns webhook bodies into batches; remembers each session's next action index."""

    def __init__(self) -> None:
        self._next_index: dict[tuple[str, str], int] = {}

    def batches(self, product_id: str, body: Any, now: float) -> list[dict[str, Any]]:
        """One ``actions`` payload per (session, user) of *body*, in first-seen order.

        Raises :class:`IngestError` before changing any state when *body* is not
        accepted, so a rejected request never shifts a session's indices.
        """
        actions = [_action(e, p, at) for e, p, at in _events(body, now)]
        groups: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
        for action in actions:
            groups.setdefault((action["session_id"], action["user_id"]), []).append(action)
        out = []
        for (session_id, user_id), group in groups.items():
            # An anonymous session (no session id) is tracked by its user id.
            key = (product_id, session_id or f"user:{user_id}")
            first = self._next_index.get(key, 0)
            group = [{"index": first + n, **action} for n, action in enumerate(group)]
            self._next_index[key] = first + len(group)
            email = next((a["email"] for a in group if a["email"]), None)
            out.append(
                {
                    "type": "actions",
                    "product_id": product_id,
                    "session_id": session_id,
                    "user_id": user_id,
                    "email": email,
                    "actions": group,
                    "count": len(group),
                    "forwarded_at": now,
                    "conversation_id": None,
                }
            )
        return out
