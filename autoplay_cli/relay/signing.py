"""Signing relay deliveries and verifying them on the receiving side.

``X-Autoplay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">``.
A receiver checks the HMAC in constant time and refuses timestamps outside its
tolerance window, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from autoplay_cli.errors import AuthError

SIGNATURE_HEADER = "X-Autoplay-Signature"
DELIVERY_HEADER = "X-Autoplay-Delivery"
DEFAULT_TOLERANCE_S = 300


class SignatureError(AuthError):
    """A request's signature is missing, malformed, wrong, or too old."""


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``"<timestamp>.<body>"`` with *secret*."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, timestamp: float | None = None) -> str:
    """The ``X-Autoplay-Signature`` header value for *body*, stamped now (or *timestamp*)."""
    t = int(time.time() if timestamp is None else timestamp)
    return f"t={t},v1={signature(secret, body, t)}"


def verify(
    secret: str,
    body: bytes,
    header: str | None,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """Check a signature header against *body*; the signed timestamp, or :class:`SignatureError`.

    Several ``v1=`` values are accepted (one per secret, while rotating); any one
    matching suffices. Timestamps more than *tolerance_s* seconds away from *now*
    are refused even when the HMAC matches.
    """
    if not secret:
        raise SignatureError("no secret to verify the signature with")
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise SignatureError(f"{SIGNATURE_HEADER}: bad timestamp") from None
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError(f"{SIGNATURE_HEADER} must look like t=<unix>,v1=<hex>")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise SignatureError(
            f"signature timestamp is {abs(current - timestamp):.0f} s away from now "
            f"(tolerance {tolerance_s:g} s)",
            hint="check the clocks; an old request is refused as a replay",
        )
    expected = signature(secret, body, timestamp)
    # Compare every candidate, so the time taken does not depend on which one matched.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("signature does not match the body", hint="check the shared secret")
    return timestamp


def verify_headers(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> int:
    """:func:`verify` reading the header from a (case-insensitive) header mapping."""
    header = headers.get(SIGNATURE_HEADER) or headers.get(SIGNATURE_HEADER.lower())
    return verify(secret, body, header, tolerance_s=tolerance_s, now=now)
