"""The Redis connection shared by the Redis session and link stores.

``redis`` is imported here lazily, on first use, so ``import autoplay_cli.session``
stays light; every redis exception is translated once into the toolkit's error tree.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from autoplay_cli.errors import AuthError, ConfigError, SnapshotError, StoreUnavailableError


def safe_url(url: str) -> str:
    """*url* with its password and credential parameters masked, fit for messages and logs."""
    from autoplay_cli.redact import mask_url

    return mask_url(url)


def check_database(url: str) -> None:
    """Refuse a ``redis://host/NAME`` whose database is not a number (redis-py would use 0)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise ConfigError(f"{safe_url(url)} is not a URL") from exc
    if parts.scheme not in ("redis", "rediss"):
        return
    db = parts.path.strip("/")
    if db and not (db.isascii() and db.isdigit()):
        raise ConfigError(
            f"redis URL {safe_url(url)}: the database {db!r} is not a number",
            hint="end the URL with the database number, e.g. redis://127.0.0.1:6379/15",
        )


class RedisConnection:
    """A lazily created ``redis.asyncio.Redis`` for one URL (or a client you pass in)."""

    def __init__(
        self, url: str | None = None, *, client: Any = None, socket_timeout_s: float = 5.0
    ) -> None:
        if url is None and client is None:
            raise ValueError("pass a redis url or a client")
        if url is not None:
            check_database(url)
        self.url = url or "<client>"
        self._client = client
        self._owns_client = client is None
        self._socket_timeout_s = socket_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def where(self) -> str:
        return safe_url(self.url)

    def client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is not None and self._owns_client and self._loop is not loop:
            # redis.asyncio connections belong to the loop that opened them; a store
            # reused under a new loop (e.g. a second asyncio.run) needs a new client.
            self._client = None
        if self._client is None:
            import redis.asyncio as aioredis

            self._loop = loop

            with self.errors("connect"):
                self._client = aioredis.Redis.from_url(
                    self.url,
                    socket_connect_timeout=self._socket_timeout_s,
                    socket_timeout=self._socket_timeout_s,
                )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._owns_client:
            client, self._client = self._client, None
            with contextlib.suppress(Exception):
                await client.aclose()

    @contextlib.contextmanager
    def errors(self, doing: str, key: str | None = None) -> Iterator[None]:
        """Translate redis exceptions raised inside the block into toolkit errors."""
        try:
            yield
        except Exception as exc:
            import redis.exceptions as rexc

            if isinstance(exc, rexc.ResponseError) and "WRONGTYPE" in str(exc):
                raise SnapshotError(
                    f"redis key {key} holds a value of the wrong type",
                    hint="delete the key or use another key prefix",
                ) from exc
            # The server answered: these are the URL's fault, not an outage.
            auth_refused = isinstance(exc, rexc.AuthenticationError | rexc.AuthorizationError) or (
                isinstance(exc, rexc.ResponseError) and "AUTH" in str(exc)
            )
            if auth_refused:
                raise AuthError(
                    f"redis at {self.where} refused the credentials ({doing}: {exc})",
                    hint="check the user and password in the URL "
                    "(redis://USER:PASSWORD@host:port/db, or redis://:PASSWORD@… without a user)",
                ) from exc
            if isinstance(exc, rexc.ResponseError) and "DB index" in str(exc):
                raise ConfigError(
                    f"redis at {self.where} has no such database ({doing}: {exc})",
                    hint="use a database number the server has (0–15 by default), "
                    "e.g. redis://127.0.0.1:6379/15",
                ) from exc
            if isinstance(exc, rexc.ResponseError):
                raise StoreUnavailableError(
                    f"redis at {self.where} answered with an error ({doing}: {exc})",
                    hint="check that the URL points at a Redis server (6.2 or later) "
                    "that allows Lua scripts",
                ) from exc
            if isinstance(exc, rexc.RedisError | OSError):
                raise StoreUnavailableError(
                    f"redis at {self.where} is unavailable ({doing}: {type(exc).__name__}: {exc})",
                    hint="check that redis-server is running and the URL is right",
                ) from exc
            raise
