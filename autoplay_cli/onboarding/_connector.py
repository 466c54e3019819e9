"""The connector's registration endpoint, ``POST {connector_url}/products`` (docs/wire.md §3).

One request, never retried: registration is not idempotent. Every outcome other
than a 2xx with a JSON object becomes one :class:`AutoplayError` whose text has
every secret of the request redacted.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

from autoplay_cli import __version__
from autoplay_cli.documents import decode_body, problem, render_path
from autoplay_cli.errors import (
    AuthError,
    AutoplayError,
    ConflictError,
    InputError,
    NotFoundError,
    ServiceUnavailableError,
    mask,
    redact,
)
from autoplay_cli.onboarding import _http
from autoplay_cli.onboarding._secrets import RedactedCause

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

ADMIN_KEY_HEADER = "X-Admin-Key"
# The header the activity provider (e.g. a PostHog destination) sends with each webhook.
INGEST_SECRET_HEADER = "X-PostHog-Secret"
_MAX_MESSAGE = 300


def products_url(connector_url: str) -> str:
    return f"{connector_url.rstrip('/')}/products"


def stream_url(connector_url: str, product_id: str) -> str:
    return f"{connector_url.rstrip('/')}/stream/{product_id}"


def webhook_url(connector_url: str, product_id: str) -> str:
    return f"{connector_url.rstrip('/')}/webhook/{product_id}"


@dataclass(frozen=True)
class RegistrationRequest:
    """The body of ``POST /products``, validated by the caller."""

    product_id: str
    contact_email: str
    webhook_secret: str
    integration_type: str = "event_stream"
    forward_url: str | None = None
    forward_secret: str | None = None
    force_reregister: bool = False

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "product_id": self.product_id,
            "contact_email": self.contact_email,
            "webhook_secret": self.webhook_secret,
            "integration_type": self.integration_type,
        }
        if self.forward_url is not None:
            body["forward_url"] = self.forward_url
        if self.forward_secret is not None:
            body["forward_secret"] = self.forward_secret
        if self.force_reregister:
            body["force_reregister"] = True
        return body

    def masked_body(self) -> dict[str, Any]:
        """The body as ``--dry-run`` shows it: secrets masked."""
        body = self.body()
        for key in ("webhook_secret", "forward_secret"):
            if body.get(key):
                body[key] = mask(body[key])
        return body

    def secrets(self) -> list[str]:
        return [s for s in (self.webhook_secret, self.forward_secret) if s]


# Values that may be credentials: a message names their kind, never them.
_Secret = Annotated[str, Meta(extra={"secret": True})] | None


class _Reply(msgspec.Struct):
    """The fields of a successful registration reply that onboarding reads (others ignored)."""

    unkey_key: _Secret = None
    unkey_key_id: _Secret = None
    webhook_secret: _Secret = None
    # Any value of the reply may hold a credential sent in the wrong place: kinds only.
    dual_write: Annotated[bool, Meta(extra={"secret": True})] | None = None


@dataclass(frozen=True)
class Registration:
    """What the connector answered on success."""

    status_code: int
    stream_key: str | None
    stream_key_id: str | None
    webhook_secret: str | None
    dual_write: bool | None


def request_headers(admin_key: str | None) -> dict[str, str]:
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "User-Agent": f"autoplay-cli/{__version__}",
    }
    if admin_key:
        headers[ADMIN_KEY_HEADER] = admin_key
    return headers


def register_product(
    connector_url: str,
    request: RegistrationRequest,
    *,
    admin_key: str | None = None,
    timeout: float = 15.0,
    transport: Any = None,
) -> Registration:
    """Send one registration request and interpret the answer, all within *timeout* seconds."""
    import httpx

    url = products_url(connector_url)
    secrets = [*request.secrets(), admin_key]
    log.info(
        "POST %s for product %s (integration %s, force_reregister=%s)",
        url,
        request.product_id,
        request.integration_type,
        request.force_reregister,
    )
    try:
        response = _http.request(
            "POST",
            url,
            timeout=timeout,
            transport=transport,
            json=request.body(),
            headers=request_headers(admin_key),
        )
    except httpx.ConnectTimeout as exc:
        raise ServiceUnavailableError(
            f"cannot reach the connector at {connector_url}: no connection within {timeout:g} s",
            hint="check `connector_url` and that the connector is running; nothing was sent",
        ) from RedactedCause(exc, secrets)
    except httpx.TimeoutException as exc:
        # The request may have arrived: the product may now be registered.
        raise ServiceUnavailableError(
            f"the connector at {connector_url} did not answer within {timeout:g} s; "
            f"product {request.product_id!r} may or may not be registered",
            hint="re-run the same command (a 409 then means it was registered: add "
            "`force_reregister`), or raise `timeout`",
        ) from RedactedCause(exc, secrets)
    except httpx.TransportError as exc:
        reason = redact(str(exc) or type(exc).__name__, secrets)
        raise ServiceUnavailableError(
            f"cannot reach the connector at {connector_url}: {reason}",
            hint="check `connector_url` and that the connector is running",
        ) from RedactedCause(exc, secrets)
    log.info("POST %s -> HTTP %d", url, response.status_code)
    if response.is_success:
        return _parse_success(response, request, secrets)
    raise _error_for(response, request, connector_url, secrets)


def _parse_success(
    response: httpx.Response, request: RegistrationRequest, secrets: list[str | None]
) -> Registration:
    where = f"the connector answered HTTP {response.status_code}"
    maybe = (
        f"product {request.product_id!r} is probably registered now, but its credentials "
        "could not be read"
    )
    hint = (
        "check the connector's version and logs; re-running answers 409, "
        "so recover with `force_reregister`"
    )
    try:
        data = decode_body(response.content, source="reply") if response.content.strip() else {}
    except InputError:
        raise AutoplayError(f"{where} with a body that is not JSON; {maybe}", hint=hint) from None
    if not isinstance(data, dict):
        raise AutoplayError(f"{where} with JSON that is not an object; {maybe}", hint=hint)
    why = problem(data, _Reply)
    if why is not None:
        # The reply's fields are declared secret: the message names a kind, never a value.
        path, message, _ = why
        raise AutoplayError(
            f"{where} with a malformed field {render_path(path)!r} ({message}); {maybe}",
            hint=hint,
        )
    reply = msgspec.convert(data, _Reply, strict=True)
    dual_write = reply.dual_write
    registration = Registration(
        status_code=response.status_code,
        stream_key=reply.unkey_key or None,
        stream_key_id=reply.unkey_key_id or None,
        webhook_secret=reply.webhook_secret or None,
        dual_write=dual_write,
    )
    log.info(
        "registration of %s: stream key %s by the connector, dual_write=%s",
        request.product_id,
        "created" if registration.stream_key else "not created",
        dual_write,
    )
    return registration


def connector_message(response: httpx.Response, secrets: list[str | None]) -> str:
    """The connector's own explanation of a failure, short, on one line, secrets redacted."""
    text = ""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if isinstance(data, dict):
        # "error" last: many servers put a machine code there and the prose in "message".
        for field in ("message", "detail", "title", "error"):
            value = data.get(field)
            if isinstance(value, dict):
                value = value.get("message") or value.get("detail")
            if isinstance(value, list):
                # FastAPI-style validation errors: a list of {loc, msg}.
                value = "; ".join(
                    str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value
                )
            if value:
                text = str(value)
                break
    if not text:
        try:
            text = response.text
        except UnicodeDecodeError:
            text = ""
    text = " ".join(redact(text, secrets).split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE] + "…"
    return text


def _error_for(
    response: httpx.Response,
    request: RegistrationRequest,
    connector_url: str,
    secrets: list[str | None],
) -> AutoplayError:
    status = response.status_code
    said = connector_message(response, secrets)
    detail = f" (the connector says: {said})" if said else ""
    product = request.product_id
    if status == 409:
        return ConflictError(
            f"product {product!r} is already registered with the connector (HTTP 409){detail}; "
            "no key was created",
            hint="its existing stream key keeps working; to register it again pass "
            "`force_reregister` (add `create_key` only if you need a new stream key)",
        )
    if status in (401, 403):
        return AuthError(
            f"the connector refused the registration (HTTP {status}){detail}",
            hint="pass the operator key with `admin_key` or AUTOPLAY_ADMIN_KEY",
        )
    if status in (404, 405):
        # 405: something answers there, but it does not take a registration: the
        # URL is not a connector's base URL.
        return NotFoundError(
            f"the connector has no registration endpoint at {products_url(connector_url)} "
            f"(HTTP {status}){detail}",
            hint="check `connector_url`: it is the connector's base URL, without /products",
        )
    if status in (400, 422):
        return InputError(
            f"the connector rejected the registration of {product!r} (HTTP {status}){detail}",
            hint="fix the value it names and re-run",
        )
    if status >= 500:
        return ServiceUnavailableError(
            f"the connector failed to register {product!r} (HTTP {status}){detail}",
            hint="retry later; if it persists, check the connector's logs "
            "(a later 409 means the product was registered after all)",
        )
    return AutoplayError(
        f"the connector answered HTTP {status} to the registration of {product!r}{detail}",
        hint="check `connector_url` and the connector's logs",
    )
