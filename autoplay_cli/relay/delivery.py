"""What the relay sends: one delivery (a proactive offer or an activity note), as JSON.

A delivery's ``id`` is derived from its product, session, type and first source
event id, so the same delivery re-sent after a crash carries the same id.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from autoplay_cli.errors import InputError

PROACTIVE_OFFER = "proactive_offer"
NOTE = "note"
DELIVERY_TYPES = (PROACTIVE_OFFER, NOTE)
FIELDS = (
    "id",
    "type",
    "product_id",
    "session_id",
    "user_id",
    "email",
    "conversation_id",
    "trigger_id",
    "body",
    "chips",
    "created_at",
    "event_ids",
)
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def delivery_id(product_id: str, session_id: str, kind: str, first_event_id: str) -> str:
    """The deterministic id: ``dlv_`` and 32 hex digits of a SHA-256 over the four parts."""
    text = "\x1f".join((product_id, session_id, kind, first_event_id))
    return "dlv_" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Delivery(msgspec.Struct, frozen=True):
    """One proactive offer or note, ready to send; ``to_json`` is its wire form.

    A frozen msgspec Struct: built in C (a frozen dataclass sets each of its twelve
    fields through ``object.__setattr__``, several microseconds per delivery).
    """

    id: str
    type: str
    product_id: str
    session_id: str
    body: str
    created_at: float
    event_ids: tuple[str, ...]
    user_id: str | None = None
    email: str | None = None
    conversation_id: str | None = None
    trigger_id: str | None = None
    chips: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def make(
        cls,
        kind: str,
        *,
        product_id: str,
        session_id: str,
        body: str,
        created_at: float,
        event_ids: Sequence[str],
        **rest: Any,
    ) -> Delivery:
        """A delivery with its id derived from the first of *event_ids*."""
        if not event_ids:
            raise ValueError("a delivery needs at least one source event id")
        return cls(
            delivery_id(product_id, session_id, kind, event_ids[0]),
            kind,
            product_id,
            session_id,
            body,
            created_at,
            tuple(event_ids),
            **rest,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "product_id": self.product_id,
            "session_id": self.session_id,
            "user_id": self.user_id,
            "email": self.email,
            "conversation_id": self.conversation_id,
            "trigger_id": self.trigger_id,
            "body": self.body,
            "chips": [dict(c) for c in self.chips],
            "created_at": self.created_at,
            "event_ids": list(self.event_ids),
        }

    def to_json(self) -> str:
        """One line of compact JSON (the body a webhook receives, byte for byte).

        msgspec spells it as ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)``
        does (exponents aside: ``1e16`` for ``1e+16``, outside any unix time).
        """
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """:meth:`to_json` encoded as UTF-8 (what stdout and a webhook are given)."""
        data = self.to_dict()
        try:
            return _encode(data)
        except UnicodeEncodeError:  # a lone surrogate from an escape: JSON can spell it
            return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "delivery") -> Delivery:
        """Parse :meth:`to_dict` output (an outbox entry, a dead-letter line)."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
        missing = [k for k in FIELDS if k not in data]
        if missing:
            raise InputError(f"{where}: missing {missing[0]!r}", hint="is it a relay delivery?")
        kind = data["type"]
        if kind not in DELIVERY_TYPES:
            raise InputError(f"{where}: unknown delivery type {kind!r}")
        for key in ("id", "product_id", "session_id", "body"):
            if not isinstance(data[key], str) or not data[key]:
                raise InputError(f"{where}: {key!r} must be a non-empty string")
        for key in ("user_id", "email", "conversation_id", "trigger_id"):
            if data[key] is not None and not isinstance(data[key], str):
                raise InputError(f"{where}: {key!r} must be a string or null")
        created = data["created_at"]
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise InputError(f"{where}: 'created_at' must be unix seconds")
        if not math.isfinite(created):
            raise InputError(f"{where}: 'created_at' must be finite")
        ids, chips = data["event_ids"], data["chips"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise InputError(f"{where}: 'event_ids' must be a non-empty list of strings")
        if not isinstance(chips, list) or not all(isinstance(c, Mapping) for c in chips):
            raise InputError(f"{where}: 'chips' must be a list of objects")
        return cls(
            data["id"],
            kind,
            data["product_id"],
            data["session_id"],
            data["body"],
            float(created),
            tuple(ids),
            data["user_id"],
            data["email"],
            data["conversation_id"],
            data["trigger_id"],
            tuple(dict(c) for c in chips),
        )

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "delivery") -> Delivery:
        try:
            data = _decode(text)
        except msgspec.DecodeError:
            # What msgspec refuses and JSON allows (an escaped lone surrogate), or not JSON.
            try:
                data = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise InputError(f"{where}: not JSON ({exc})") from None
        return cls.from_dict(data, where=where)
