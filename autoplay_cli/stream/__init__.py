"""Client library for the live activity stream (SSE), shared by ``tail`` and ``doctor``.

``StreamClient(StreamConfig(...)).events()`` is an async iterator of parsed
events (``iter_events()`` blocks instead); ``.stats`` counts what happened.
``run_tail`` is ``autoplay tail`` minus the rendering. The face is ``__all__``;
the modules behind it are internals.
"""

from autoplay_cli.stream.backoff import Backoff
from autoplay_cli.stream.client import (
    DEFAULT_IDLE_TIMEOUT,
    Notice,
    StreamClient,
    StreamConfig,
    StreamStalled,
    StreamStats,
    header_safe,
)
from autoplay_cli.stream.forward import (
    SIGNATURE_HEADER,
    Forwarder,
    ForwardResult,
    check_forward_url,
    sign,
)
from autoplay_cli.stream.sse import SSEDecoder
from autoplay_cli.stream.tail import PayloadFilter, TailRequest, TailSummary
from autoplay_cli.stream.tail import tail as run_tail

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "SIGNATURE_HEADER",
    "Backoff",
    "ForwardResult",
    "Forwarder",
    "Notice",
    "PayloadFilter",
    "SSEDecoder",
    "StreamClient",
    "StreamConfig",
    "StreamStalled",
    "StreamStats",
    "TailRequest",
    "TailSummary",
    "check_forward_url",
    "header_safe",
    "run_tail",
    "sign",
]
