"""``--to intercom``: notes as admin notes on the linked conversation, offers as
admin-initiated in-app messages, through Intercom's REST API.

Request shapes follow the bundled ``chatbot-intercom`` skill: ``POST
/conversations/{id}/reply`` with ``message_type: "note"``, ``type: "admin"``, an
``admin_id`` and an HTML body; ``POST /messages`` from the admin to the user for an
offer. The API version is pinned with the ``Intercom-Version`` header.
"""

from __future__ import annotations

import html
import os
from typing import Any

from autoplay_cli.errors import ConfigError, redact
from autoplay_cli.relay.delivery import NOTE, Delivery
from autoplay_cli.relay.destinations import Outcome, retry_after_seconds

INTERCOM_URL = "https://api.intercom.io"
INTERCOM_VERSION = "2.11"
TOKEN_ENV = "INTERCOM_ACCESS_TOKEN"


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
        import httpx

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
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "Intercom-Version": INTERCOM_VERSION,
            },
            timeout=timeout_s,
            transport=transport,
        )

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
