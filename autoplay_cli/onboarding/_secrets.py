"""Strong secrets for the webhook and push signatures, and keeping secrets out of error chains."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from autoplay_cli.errors import redact

# 32 random bytes (256 bits), URL-safe base64: safe in headers, env files and shells.
SECRET_BYTES = 32


def generate_secret(nbytes: int = SECRET_BYTES) -> str:
    """A fresh random secret of *nbytes* bytes of entropy (at least 16)."""
    if nbytes < 16:
        raise ValueError("a secret needs at least 16 bytes of entropy")
    return secrets.token_urlsafe(nbytes)


class RedactedCause(Exception):
    """Stands in for a foreign exception whose text may carry a secret.

    Chained as ``__cause__`` so ``--debug`` tracebacks still name the original
    error type and message, with every known secret masked.
    """

    def __init__(self, exc: BaseException, hidden: Iterable[str | None]) -> None:
        super().__init__(f"{type(exc).__module__}.{type(exc).__name__}: {redact(str(exc), hidden)}")
        # The frames say where it happened; a traceback shows no values.
        self.__traceback__ = exc.__traceback__
