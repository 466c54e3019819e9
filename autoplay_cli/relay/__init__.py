"""``autoplay relay``: the live pipeline from the activity stream to a chatbot.

Stream events go through the decision engine ``simulate`` uses; offers and activity
notes become deliveries, recorded in the store's outbox with the state change that
caused them and sent to stdout, a signed webhook, or Intercom. No CLI imports.

The face is ``__all__``: the run (``RelayOptions``, ``run_relay``, ``RelaySummary``),
the core (``Relay``), deliveries, destinations and signing for receivers. The modules
behind it are internals. Importing it loads neither Starlette, redis, MCP nor Prometheus.
"""

from autoplay_cli.relay.activity import LiveActivity
from autoplay_cli.relay.delivery import NOTE, PROACTIVE_OFFER, Delivery, delivery_id
from autoplay_cli.relay.destinations import (
    Destination,
    Outcome,
    StdoutDestination,
    WebhookDestination,
)
from autoplay_cli.relay.inbound import DEFAULT_LISTEN
from autoplay_cli.relay.intercom import IntercomDestination
from autoplay_cli.relay.notes import NotePolicy
from autoplay_cli.relay.pipeline import Relay
from autoplay_cli.relay.runner import RelayOptions, RelaySummary, run_relay, validate
from autoplay_cli.relay.sender import RetryPolicy, resend
from autoplay_cli.relay.signing import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    sign,
    verify,
    verify_headers,
)
from autoplay_cli.relay.store import check_store_url

__all__ = [
    "DEFAULT_LISTEN",
    "DELIVERY_HEADER",
    "NOTE",
    "PROACTIVE_OFFER",
    "SIGNATURE_HEADER",
    "Delivery",
    "Destination",
    "IntercomDestination",
    "LiveActivity",
    "NotePolicy",
    "Outcome",
    "Relay",
    "RelayOptions",
    "RelaySummary",
    "RetryPolicy",
    "SignatureError",
    "StdoutDestination",
    "WebhookDestination",
    "check_store_url",
    "delivery_id",
    "resend",
    "run_relay",
    "sign",
    "validate",
    "verify",
    "verify_headers",
]
