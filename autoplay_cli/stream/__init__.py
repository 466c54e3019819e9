"""Client library for the live activity stream (SSE), shared by ``tail`` and ``doctor``.

``StreamClient(StreamConfig(...)).events()`` is an async iterator of parsed
events (``iter_events()`` blocks instead); ``.stats`` counts what happened.
"""

from autoplay_cli.stream.backoff import Backoff
from autoplay_cli.stream.client import (
    DEFAULT_IDLE_TIMEOUT,
    Notice,
    StreamClient,
    StreamConfig,
    StreamStalled,
    StreamStats,
)
from autoplay_cli.stream.forward import SIGNATURE_HEADER, Forwarder, ForwardResult, sign

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "SIGNATURE_HEADER",
    "Backoff",
    "ForwardResult",
    "Forwarder",
    "Notice",
    "StreamClient",
    "StreamConfig",
    "StreamStalled",
    "StreamStats",
    "sign",
]
