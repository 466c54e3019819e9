"""The emulator's ingest webhook: PostHog-style events in, ``actions`` batches out.

The shapes accepted here are the emulator's own choice (the real connector's are
not public); see the README's ``emulate`` section. Pure: no web framework here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from autoplay_cli.emulator.traffic import canonicalize

# What an autocapture's `$event_type` or an event name becomes as an action type.
_VERBS = {"pageview": "Opened", "click": "Clicked", "submit": "Submitted", "change": "Changed"}


class IngestError(ValueError):
    """A webhook body the emulator does not accept; the message says which part and why."""


def _events(body: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(event, person) pairs of every accepted body shape, in the order sent."""
    items = body.get("batch") if isinstance(body, dict) and "batch" in body else body
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise IngestError("the body must be an event object, a non-empty list, or {'batch': [...]}")
    pairs = []
    for n, item in enumerate(items):
        if not isinstance(item, dict):
            raise IngestError(f"item {n} is not a JSON object")
        if isinstance(item.get("event"), dict):  # a PostHog destination's {event, person} body
            event, person = item["event"], item.get("person")
        else:
            event, person = item, item.get("person")
        if not isinstance(event.get("event"), str) or not event["event"]:
            raise IngestError(f"item {n} has no event name ('event' must be a non-empty string)")
        if event.get("properties") is not None and not isinstance(event["properties"], dict):
            raise IngestError(f"item {n}: 'properties' must be an object")
        pairs.append((event, person if isinstance(person, dict) else {}))
    return pairs


def _timestamp(value: Any, now: float, n: int) -> float:
    if value is None:
        return now
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:  # no offset means UTC, as in PostHog's examples; never this machine's zone
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
    raise IngestError(f"item {n}: 'timestamp' must be ISO 8601 or unix seconds, got {value!r}")


def _opt_str(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _action(event: dict[str, Any], person: dict[str, Any], now: float, n: int) -> dict[str, Any]:
    props = event.get("properties") or {}
    name = event["event"]
    if name == "$autocapture":
        kind = str(props.get("$event_type") or "click").lower()
    else:
        kind = name.removeprefix("$").lower()
    raw_url = str(props.get("$current_url") or event.get("url") or "")
    title = str(props.get("$el_text") or props.get("title") or "")
    verb = _VERBS.get(kind)
    target = title or (raw_url if kind == "pageview" else "")
    description = f"{verb} {target}".strip() if verb else (title or name)
    at = _timestamp(event.get("timestamp"), now, n)
    set_props = props["$set"] if isinstance(props.get("$set"), dict) else {}
    person_props = person["properties"] if isinstance(person.get("properties"), dict) else {}
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
        "session_id": _opt_str(props.get("$session_id") or event.get("session_id")),
        "user_id": _opt_str(event.get("distinct_id") or props.get("distinct_id")),
        "email": _opt_str(
            person_props.get("email") or set_props.get("email") or props.get("email")
        ),
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
        actions = [_action(e, p, now, n) for n, (e, p) in enumerate(_events(body))]
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
