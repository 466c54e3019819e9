"""Deliveries: deterministic ids, the wire form, and parsing it back."""

from __future__ import annotations

import json

import pytest

from autoplay_cli.errors import InputError
from autoplay_cli.relay.delivery import FIELDS, NOTE, PROACTIVE_OFFER, Delivery, delivery_id


def _offer(**kw: object) -> Delivery:
    args: dict[str, object] = {
        "product_id": "p",
        "session_id": "s",
        "body": "Need help?",
        "created_at": 10.5,
        "event_ids": ["7"],
        "trigger_id": "t",
        "chips": ({"id": "c", "label": "Yes"},),
    }
    args.update(kw)
    return Delivery.make(PROACTIVE_OFFER, **args)  # type: ignore[arg-type]


def test_the_id_depends_on_product_session_type_and_first_event_only() -> None:
    base = _offer()
    assert base.id == _offer(body="other", created_at=99, event_ids=["7", "8"]).id
    assert base.id.startswith("dlv_") and len(base.id) == 36
    others = {
        _offer(product_id="q").id,
        _offer(session_id="t").id,
        _offer(event_ids=["8"]).id,
        Delivery.make(
            NOTE, product_id="p", session_id="s", body="b", created_at=1, event_ids=["7"]
        ).id,
    }
    assert base.id not in others and len(others) == 4
    assert delivery_id("p", "s", PROACTIVE_OFFER, "7") == base.id
    # The separator keeps parts from running into each other.
    assert delivery_id("ab", "c", NOTE, "1") != delivery_id("a", "bc", NOTE, "1")


def test_wire_form_has_every_field_in_order_and_parses_back() -> None:
    d = _offer(user_id="u", email="e@x", conversation_id="c1")
    data = json.loads(d.to_json())
    assert tuple(data) == FIELDS
    assert data["chips"] == [{"id": "c", "label": "Yes"}] and data["event_ids"] == ["7"]
    assert Delivery.from_json(d.to_json()) == d


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "offer"}, "unknown delivery type"),
        ({"event_ids": []}, "event_ids"),
        ({"created_at": "now"}, "created_at"),
        ({"session_id": ""}, "session_id"),
        ({"chips": [1]}, "chips"),
    ],
)
def test_bad_delivery_documents_are_input_errors(change: dict[str, object], message: str) -> None:
    data = {**_offer().to_dict(), **change}
    with pytest.raises(InputError, match=message):
        Delivery.from_dict(data, where="x:1")
    with pytest.raises(InputError, match="missing 'id'"):
        Delivery.from_dict({k: v for k, v in data.items() if k != "id"})
