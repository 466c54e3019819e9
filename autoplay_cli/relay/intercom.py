"""``--to intercom``: notes as admin notes on the linked conversation, offers as
admin-initiated in-app messages, through Intercom's REST API.

Request shapes follow the bundled ``chatbot-intercom`` skill: ``POST
/conversations/{id}/reply`` with ``message_type: "note"``, ``type: "admin"``, an
``admin_id`` and an HTML body; ``POST /messages`` from the admin to the user for an
offer. The API version is pinned with the ``Intercom-Version`` header. A webhook
notification without the contact's ``autoplay_session_id`` is completed with ``GET
/contacts/{id}`` (:class:`IntercomContacts`).
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from autoplay_cli.errors import ConfigError, redact
from autoplay_cli.relay.delivery import NOTE, Delivery
from autoplay_cli.relay.destinations import Outcome, retry_after_seconds

INTERCOM_URL = "https://api.intercom.io"
INTERCOM_VERSION = "2.11"
TOKEN_ENV = "INTERCOM_ACCESS_TOKEN"
SESSION_ATTRIBUTE = "autoplay_session_id"
# Intercom wants a webhook answered within seconds: a contact lookup (retries included)
# stays within this budget, then the notification is answered either way.
LOOKUP_BUDGET_S = 4.0
LOOKUP_TIMEOUT_S = 2.0
LOOKUP_ATTEMPTS = 3


def api_client(token: str, base_url: str, timeout_s: float, transport: Any = None) -> Any:
    """An ``httpx.AsyncClient`` for Intercom's REST API: bearer token, version pinned."""
    import httpx

    return httpx.AsyncClient(
        base_url=base_url,
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Intercom-Version": INTERCOM_VERSION,
        },
        timeout=timeout_s,
        transport=transport,
    )


def html_body(text: str) -> str:
    """Plain text as Intercom's HTML: one escaped paragraph per non-empty line."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())


def offer_body(delivery: Delivery) -> str:
    """An offer's body with its chips listed (an in-app message has no quick replies)."""
    text = html_body(delivery.body)
    labels = [str(c.get("label", "")) for c in delivery.chips if c.get("label")]
    if labels:
        text += "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in labels) + "</ul>"
    return text


class IntercomDestination:
    """Sends deliveries to Intercom as the admin ``admin_id``."""

    name = "intercom"

    def __init__(
        self,
        admin_id: str | None,
        token: str | None = None,
        *,
        base_url: str = INTERCOM_URL,
        timeout_s: float = 10.0,
        transport: Any = None,
    ) -> None:
        token = token if token is not None else os.environ.get(TOKEN_ENV, "")
        if not token:
            raise ConfigError(
                f"`to` intercom needs an access token in {TOKEN_ENV}",
                hint="create one in the Intercom Developer Hub and export it",
            )
        if not admin_id:
            raise ConfigError(
                "`to` intercom needs the admin who writes the notes and messages",
                setting="intercom_admin_id",
                hint="pass `intercom_admin_id` (an admin id of your workspace)",
            )
        self.admin_id = admin_id
        self._token = token
        self._client = api_client(token, base_url, timeout_s, transport)

    def request(self, delivery: Delivery) -> tuple[str, dict[str, Any]] | None:
        """The (path, JSON body) for *delivery*; ``None`` when it cannot be addressed."""
        if delivery.type == NOTE:
            if not delivery.conversation_id:
                return None
            return (
                f"/conversations/{delivery.conversation_id}/reply",
                {
                    "message_type": "note",
                    "type": "admin",
                    "admin_id": self.admin_id,
                    "body": html_body(delivery.body),
                },
            )
        if delivery.user_id:
            to: dict[str, Any] = {"type": "user", "user_id": delivery.user_id}
        elif delivery.email:
            to = {"type": "user", "email": delivery.email}
        else:
            return None
        return (
            "/messages",
            {
                "message_type": "inapp",
                "body": offer_body(delivery),
                "from": {"type": "admin", "id": self.admin_id},
                "to": to,
            },
        )

    async def send(self, delivery: Delivery) -> Outcome:
        import httpx

        request = self.request(delivery)
        if request is None:
            return Outcome(
                False,
                error="no Intercom recipient (an offer needs a user_id or email, a note a "
                "linked conversation)",
            )
        path, body = request
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as exc:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return Outcome(False, retry=True, error=redact(text, [self._token]))
        status = response.status_code
        if 200 <= status < 300:
            return Outcome(True, status=status)
        retry = status in (408, 429) or status >= 500
        detail = _error_text(response)
        return Outcome(
            False,
            retry=retry,
            status=status,
            retry_after=retry_after_seconds(response.headers.get("retry-after")),
            error=redact(
                f"Intercom HTTP {status}" + (f": {detail}" if detail else ""), [self._token]
            ),
        )

    def flush(self) -> None:
        """Nothing buffered."""

    async def aclose(self) -> None:
        await self._client.aclose()


def _error_text(response: Any) -> str:
    """Intercom's ``errors[0].message`` when the body has one (kept short)."""
    try:
        errors = response.json().get("errors") or []
        return str(errors[0].get("message", ""))[:200] if errors else ""
    except (ValueError, AttributeError, IndexError):
        return ""


@dataclass(frozen=True, slots=True)
class ContactLookup:
    """What ``GET /contacts/{id}`` said: the session id, or why there is none.

    ``retry_after`` is set when the failure is passing (429, 5xx, a timeout): the
    notification should be answered with 503 so Intercom sends it again later.
    """

    session_id: str | None
    problem: str = ""
    retry_after: float | None = None


class IntercomContacts:
    """Reads a contact's ``autoplay_session_id`` custom attribute through the REST API.

    Within :data:`LOOKUP_BUDGET_S`: a 429 waits its ``Retry-After`` when that fits, a
    5xx, 408, timeout or connection error is tried again after a short pause. 404
    (no such contact), 401/403 (the token) and other 4xx are final. The token never
    appears in a problem text.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = INTERCOM_URL,
        timeout_s: float = LOOKUP_TIMEOUT_S,
        budget_s: float = LOOKUP_BUDGET_S,
        attempts: int = LOOKUP_ATTEMPTS,
        transport: Any = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._token = token
        self._client = api_client(token, base_url, timeout_s, transport)
        self.budget_s = budget_s
        self.attempts = attempts
        self._sleep = sleep
        self._clock = clock

    async def session_id(self, contact_id: str) -> ContactLookup:
        """The contact's session id (or why not), retrying passing failures in the budget."""
        deadline = self._clock() + self.budget_s
        attempt = 0
        while True:
            attempt += 1
            result, wait = await self._attempt(contact_id)
            if result.retry_after is None:
                return result
            wait = max(wait, 0.25 * attempt)
            if attempt >= self.attempts or self._clock() + wait > deadline:
                return ContactLookup(None, result.problem, retry_after=max(wait, 1.0))
            await self._sleep(wait)

    async def _attempt(self, contact_id: str) -> tuple[ContactLookup, float]:
        import httpx

        where = f"Intercom contact {contact_id}"
        try:
            response = await self._client.get(f"/contacts/{quote(contact_id, safe='')}")
        except httpx.TimeoutException:
            return ContactLookup(None, f"{where}: the lookup timed out", retry_after=0.0), 0.0
        except httpx.HTTPError as exc:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            problem = redact(f"{where}: {text}", [self._token])
            return ContactLookup(None, problem, retry_after=0.0), 0.0
        status = response.status_code
        if status == 200:
            return _session_of(response, where), 0.0
        detail = _error_text(response)
        said = redact(f"HTTP {status}" + (f": {detail}" if detail else ""), [self._token])
        if status == 404:
            return ContactLookup(None, f"{where} does not exist ({said})"), 0.0
        if status in (401, 403):
            return ContactLookup(
                None,
                f"{where}: Intercom refused the lookup ({said}); check that {TOKEN_ENV} is "
                "valid and may read contacts",
            ), 0.0
        if status in (408, 429) or status >= 500:
            wait = retry_after_seconds(response.headers.get("retry-after")) or 0.0
            return ContactLookup(None, f"{where}: {said}", retry_after=wait), wait
        return ContactLookup(None, f"{where}: {said}"), 0.0

    async def aclose(self) -> None:
        await self._client.aclose()


def _session_of(response: Any, where: str) -> ContactLookup:
    """The ``autoplay_session_id`` custom attribute of a Contact object."""
    try:
        contact = response.json()
    except ValueError:
        return ContactLookup(None, f"{where}: the answer is not JSON")
    attrs = contact.get("custom_attributes") if isinstance(contact, dict) else None
    sid = attrs.get(SESSION_ATTRIBUTE) if isinstance(attrs, dict) else None
    if isinstance(sid, str) and sid.strip():
        return ContactLookup(sid)
    return ContactLookup(None, f"{where} has no {SESSION_ATTRIBUTE} custom attribute")
