"""``autoplay relay``: the live pipeline from the activity stream to a chatbot.

Stream events go through the decision engine ``simulate`` uses; offers and activity
notes become deliveries, recorded in the store's outbox with the state change that
caused them and sent to stdout, a signed webhook, or Intercom. No CLI imports.
"""

from autoplay_cli.relay.activity import LiveActivity
from autoplay_cli.relay.delivery import NOTE, PROACTIVE_OFFER, Delivery, delivery_id
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.relay.pipeline import Relay
from autoplay_cli.relay.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    sign,
    verify,
    verify_headers,
)

__all__ = [
    "DELIVERY_HEADER",
    "NOTE",
    "PROACTIVE_OFFER",
    "SIGNATURE_HEADER",
    "Delivery",
    "LiveActivity",
    "NotePolicy",
    "Relay",
    "SignatureError",
    "delivery_id",
    "sign",
    "verify",
    "verify_headers",
]
