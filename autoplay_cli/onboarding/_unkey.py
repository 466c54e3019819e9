"""Stream keys in Unkey (docs/wire.md §4): create one for a product, verify one.

The official ``unkey.py`` SDK is imported only here, and only when called.
Creation runs with retries disabled: ``keys.createKey`` is not idempotent, and the
SDK's default (retry 5xx and connection errors for ~10 s) could mint two keys.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from autoplay_cli.errors import (
    AuthError,
    AutoplayError,
    InputError,
    NotFoundError,
    ServiceUnavailableError,
)
from autoplay_cli.onboarding import _http
from autoplay_cli.onboarding._secrets import RedactedCause

log = logging.getLogger(__name__)

DEFAULT_KEY_PREFIX = "uk_live"
DEFAULT_SERVER_URL = "https://api.unkey.com"


@dataclass(frozen=True)
class CreatedKey:
    """A freshly minted key: the plaintext (shown once) and its non-secret id."""

    key: str
    key_id: str


@dataclass(frozen=True)
class KeyVerification:
    """Unkey's verdict on a key: ``code`` is VALID, NOT_FOUND, DISABLED, EXPIRED, …"""

    valid: bool
    code: str
    key_id: str | None = None
    external_id: str | None = None


def _no_retries() -> Any:
    from unkey.py import utils

    # strategy "none" makes the SDK send exactly one request.
    return utils.RetryConfig("none", utils.BackoffStrategy(0, 0, 1.0, 0), False)


@contextlib.asynccontextmanager
async def _client(root_key: str, server_url: str | None, timeout: float) -> AsyncIterator[Any]:
    """An SDK client over HTTP clients we own and close.

    Left to itself the SDK creates the clients and closes them from a
    ``weakref.finalize`` hook that runs an event loop during garbage collection,
    which can re-enter the import machinery at any later point; owning both
    clients keeps that hook inert. Calls go through the async client, so that a
    deadline can cancel them (see :func:`_call`).
    """
    import httpx
    from unkey.py import Unkey

    async with httpx.AsyncClient(follow_redirects=True) as async_client:
        with httpx.Client(follow_redirects=True) as sync_client:  # never used
            yield Unkey(
                root_key=root_key,
                server_url=server_url or DEFAULT_SERVER_URL,
                client=sync_client,
                async_client=async_client,
                retry_config=_no_retries(),
                timeout_ms=max(1, int(timeout * 1000)),
            )


def _call(
    root_key: str, server_url: str | None, timeout: float, call: Callable[[Any], Awaitable[Any]]
) -> Any:
    """``await call(sdk)``, all of it within *timeout* seconds (a timeout is httpx's)."""
    import httpx

    async def run() -> Any:
        async with _client(root_key, server_url, timeout) as unkey:
            return await call(unkey)

    try:
        return _http.run_with_deadline(run, timeout)
    except TimeoutError as exc:
        raise httpx.ReadTimeout(f"no complete answer within {timeout:g} s") from exc


def create_stream_key(
    *,
    root_key: str,
    api_id: str,
    product_id: str,
    name: str,
    prefix: str = DEFAULT_KEY_PREFIX,
    server_url: str | None = None,
    timeout: float = 15.0,
) -> CreatedKey:
    """Create exactly one key for *product_id* (its externalId); never retried."""
    log.info(
        "creating a stream key in Unkey API %s for externalId %s (prefix %s)",
        api_id,
        product_id,
        prefix,
    )
    try:
        res = _call(
            root_key,
            server_url,
            timeout,
            lambda unkey: unkey.keys.create_key_async(
                api_id=api_id,
                external_id=product_id,
                name=name,
                prefix=prefix,
                retries=_no_retries(),
            ),
        )
    except Exception as exc:
        raise _translate(
            exc,
            action="create a stream key",
            secrets=[root_key],
            maybe_created=True,
            product_id=product_id,
        ) from RedactedCause(exc, [root_key])
    created = CreatedKey(key=res.data.key, key_id=res.data.key_id)
    log.info("Unkey created key id %s for %s", created.key_id, product_id)
    return created


def verify_key(
    *,
    root_key: str,
    key: str,
    server_url: str | None = None,
    timeout: float = 10.0,
) -> KeyVerification:
    """Ask Unkey whether *key* is valid (one request, within *timeout* seconds)."""
    try:
        res = _call(
            root_key,
            server_url,
            timeout,
            lambda unkey: unkey.keys.verify_key_async(key=key, retries=_no_retries()),
        )
    except Exception as exc:
        raise _translate(
            exc,
            action="verify the stream key",
            secrets=[root_key, key],
            maybe_created=False,
            product_id=None,
        ) from RedactedCause(exc, [root_key, key])
    data = res.data
    code = getattr(data.code, "value", data.code)
    identity = getattr(data, "identity", None)
    return KeyVerification(
        valid=bool(data.valid),
        code=str(code),
        key_id=data.key_id,
        external_id=getattr(identity, "external_id", None),
    )


def _translate(
    exc: Exception,
    *,
    action: str,
    secrets: list[str | None],
    maybe_created: bool,
    product_id: str | None,
) -> AutoplayError:
    """Map an SDK or transport failure to the error tree; never include a secret."""
    import httpx
    from unkey.py import errors

    check_first = (
        f" The key may have been created anyway: before trying again, look in the Unkey "
        f"dashboard for keys with externalId {product_id!r}."
        if maybe_created
        else ""
    )
    if isinstance(exc, errors.UnkeyError):
        status = exc.status_code
        if status in (401, 403):
            return AuthError(
                f"Unkey refused to {action} (HTTP {status}): the root key was rejected "
                "or lacks the permission",
                hint="check UNKEY_ROOT_KEY / `unkey_root_key`; it needs api.*.create_key "
                "(or api.<api_id>.create_key) and verify_key",
            )
        if status == 404:
            return NotFoundError(
                f"Unkey could not {action} (HTTP 404): the API id is unknown",
                hint="check UNKEY_API_ID / `unkey_api_id`",
            )
        if status in (400, 422):
            return InputError(
                f"Unkey rejected the request to {action} (HTTP {status})",
                hint="check `unkey_api_id`, `key_prefix` and `key_name`",
            )
        if status == 429 or status >= 500:
            return ServiceUnavailableError(
                f"Unkey could not {action} (HTTP {status}).{check_first}",
                hint="retry later"
                if not maybe_created
                else "retry later with `force_reregister` `create_key` once you have checked",
            )
        if isinstance(exc, errors.ResponseValidationError):
            return AutoplayError(
                f"Unkey answered the request to {action} with an unexpected body.{check_first}",
                hint="check `unkey_server_url` points at the Unkey API",
            )
        return AutoplayError(
            f"Unkey could not {action} (HTTP {status})",
            hint="check `unkey_server_url` and the Unkey settings",
        )
    if isinstance(exc, errors.NoResponseError | httpx.TimeoutException):
        return ServiceUnavailableError(
            f"Unkey did not answer the request to {action} in time.{check_first}",
            hint="check `unkey_server_url` and your network, then retry",
        )
    if isinstance(exc, httpx.TransportError):
        return ServiceUnavailableError(
            f"cannot reach Unkey to {action}: {type(exc).__name__}",
            hint="check `unkey_server_url` (UNKEY_SERVER_URL) and your network",
        )
    return AutoplayError(
        f"could not {action}: {type(exc).__name__}", hint="rerun with `debug` for details"
    )
