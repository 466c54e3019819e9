"""The relay's inbound HTTP: chatbot webhook, live activity (REST and MCP), gate, health, metrics.

Every request that changes state is signed like a delivery (``X-Autoplay-Signature``
with the relay secret); reads take ``Authorization: Bearer <api key>``. Bodies over
1 MiB get 413, invalid JSON 400, a wrong or missing signature or key 401: none of
them changes any state or echoes a secret. Comparisons are constant-time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from autoplay_cli.errors import AutoplayError
from autoplay_cli.relay.activity import MAX_ACTIONS, LiveActivity
from autoplay_cli.relay.intercom import SESSION_ATTRIBUTE
from autoplay_cli.relay.signing import SignatureError, verify_headers

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from autoplay_cli.relay.intercom import IntercomContacts
    from autoplay_cli.relay.metrics import RelayMetrics
    from autoplay_cli.relay.pipeline import Relay

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
DEFAULT_LISTEN = "127.0.0.1:8788"
LINK_EVENTS = {"NEW": "new", "REPLY_EXISTING": "reply_existing"}
LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Health:
    """What ``/healthz`` reports; the runner keeps it current."""

    live: bool = False  # a stream is expected (not a replay)
    stream_connected: bool = False
    last_event_id: str | None = None
    last_forwarded_at: float | None = None
    outbox_depth: int = 0
    store_reachable: bool = True
    errors: list[str] = field(default_factory=list)

    def lag_s(self, now: float) -> float | None:
        if self.last_forwarded_at is None:
            return None
        return max(0.0, now - self.last_forwarded_at)


class _TooLarge(Exception):
    pass


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) -> (host, port); a usage error otherwise."""
    from autoplay_cli.errors import UsageError

    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UsageError(
            f"`listen` {text!r}: expected HOST:PORT",
            setting="listen",
            hint=f"e.g. `listen` {DEFAULT_LISTEN}",
        )
    return host, int(port)


class Inbound:
    """Builds the Starlette app over a running relay (it shares the relay's lock)."""

    def __init__(
        self,
        relay: Relay,
        lock: asyncio.Lock,
        *,
        secret: str | None,
        api_key: str | None,
        health: Health,
        metrics: RelayMetrics,
        ping: Callable[[], Awaitable[None]],
        activity_loader: Callable[[str], Awaitable[list[tuple[float, Any]]]] | None = None,
        intercom_secret: str | None = None,
        intercom_contacts: IntercomContacts | None = None,
        host: str = "127.0.0.1",
        clock: Callable[[], float] = time.time,
        mcp: bool = True,
        enqueue_link: Callable[[str, str, str | None, dict[str, Any]], Awaitable[None]]
        | None = None,
        shared: bool = False,
    ) -> None:
        self.relay = relay
        self.lock = lock
        self.product_id = relay.product_id
        self._secret = secret or ""
        self._api_key = api_key or ""
        self._intercom_secret = intercom_secret or ""
        self._contacts = intercom_contacts
        self.health = health
        self.metrics = metrics
        self._ping = ping
        self._activity_loader = activity_loader
        self.host = host
        self.clock = clock
        self.mcp = mcp
        # A relay-group member: a link is queued for the session's partition owner,
        # and reads go to Redis each time (the owners, not this process, apply events).
        self._enqueue_link = enqueue_link
        self.shared = shared

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _error(status: int, message: str) -> Response:
        from starlette.responses import JSONResponse

        return JSONResponse({"error": message}, status_code=status)

    async def _body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
            raise _TooLarge
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _authorized(self, header: str | None) -> bool:
        """A Bearer key equal to the relay's api key (compared in constant time)."""
        if not self._api_key or not header:
            return False
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self._api_key.encode())

    # -- endpoints -------------------------------------------------------------------------

    async def chatbot_webhook(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        try:
            body = await self._body(request)
        except _TooLarge:
            return self._error(413, f"body larger than {MAX_BODY} bytes")
        intercom = "x-hub-signature" in request.headers
        if intercom:
            # Intercom's own notification: signed with the app's client secret (sha1).
            if not self._intercom_secret or not intercom_signature_ok(
                self._intercom_secret, body, request.headers.get("x-hub-signature")
            ):
                return self._error(401, "missing or wrong X-Hub-Signature")
        else:
            if not self._secret:
                return self._error(401, "the relay has no secret to verify requests with")
            try:
                verify_headers(self._secret, body, request.headers)
            except SignatureError as exc:
                return self._error(401, exc.message)
        product = request.path_params["product_id"]
        if not hmac.compare_digest(product.encode(), self.product_id.encode()):
            return self._error(404, "this relay serves another product")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return self._error(400, "body is not valid JSON")
        if intercom:
            problem, parsed = _intercom_link(data)
            missing = _intercom_contact(data) if parsed is None else None
            if missing is not None and self._contacts is not None:
                # The notification left the attribute out: ask Intercom for the contact.
                contact_id, conversation, link_event = missing
                lookup = await self._contacts.session_id(contact_id)
                if lookup.session_id is not None:
                    parsed = (lookup.session_id, conversation, link_event, {})
                elif lookup.retry_after is not None:
                    # Passing (429, 5xx, timeout): 503 lets Intercom send it again. Never
                    # 429: Intercom would hold back every notification for a while.
                    log.warning("intercom webhook: %s; answered 503", lookup.problem)
                    return JSONResponse(
                        {"error": lookup.problem},
                        status_code=503,
                        headers={"Retry-After": str(math.ceil(lookup.retry_after))},
                    )
                else:
                    log.warning("intercom webhook: %s; not linked", lookup.problem)
                    problem = lookup.problem
            if parsed is None:
                # Not a conversation start or reply, or no session to link: acknowledged
                # (a retry by Intercom would not change the answer).
                return JSONResponse({"ignored": problem}, status_code=202)
        else:
            problem, parsed = _link_request(data)
        if parsed is None:
            return self._error(400, problem)
        session_id, conversation_id, event, metadata = parsed
        if self._enqueue_link is not None:
            try:
                await self._enqueue_link(session_id, conversation_id, event, metadata)
            except AutoplayError as exc:  # Redis down: the chatbot retries later
                log.warning("chatbot link not queued: %s", exc.message)
                return self._error(503, "the relay's store is unavailable; retry later")
            return JSONResponse(
                {"session_id": session_id, "conversation_id": conversation_id, "queued": True},
                status_code=202,
            )
        async with self.lock:
            state = await self.relay.link(session_id, conversation_id, event, metadata=metadata)
        return JSONResponse(
            {
                "session_id": session_id,
                "conversation_id": state.conversation_id,
                "linked": state.conversation_linked,
            }
        )

    async def live_activity(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        if not self._authorized(request.headers.get("authorization")):
            return self._error(401, "missing or wrong API key (Authorization: Bearer …)")
        product = request.path_params["product_id"]
        if product != self.product_id:
            return self._error(403, "the API key does not cover this product")
        raw = request.query_params.get("limit", str(MAX_ACTIONS))
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ACTIONS:
            return self._error(400, f"limit must be a whole number from 1 to {MAX_ACTIONS}")
        try:
            envelope = await self.activity(request.path_params["user_id"], int(raw))
        except AutoplayError as exc:  # the store did not answer
            log.warning("live activity: %s", exc.message)
            return self._error(503, "the relay's store is unavailable; retry later")
        return JSONResponse(envelope)

    async def activity(self, user_id: str, limit: int) -> dict[str, Any]:
        """The live-activity envelope (REST and MCP)."""
        live = self.relay.activity
        if self.shared and self._activity_loader is not None:
            # Fresh each time and not kept: the owners keep the store current.
            live = LiveActivity(self.product_id, max_actions=live.max_actions)
            live.load(user_id, await self._activity_loader(user_id))
        elif self._activity_loader is not None and not live.actions(user_id, self.clock(), 1):
            # Not in this process yet (a restart): read what the store kept.
            records = await self._activity_loader(user_id)
            if records:
                live.load(user_id, records)
        return live.envelope(user_id, self.clock(), limit)

    async def proactive(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        if not self._authorized(request.headers.get("authorization")):
            return self._error(401, "missing or wrong API key (Authorization: Bearer …)")
        session_id = request.path_params["session_id"]
        async with self.lock:
            if self.shared:
                # Another member owns the session: read its state afresh.
                self.relay.store.sessions.forget(session_id)
            allowed, reason = await self.relay.gate(session_id, self.clock())
        return JSONResponse({"session_id": session_id, "allowed": allowed, "reason": reason})

    async def healthz(self, request: Request) -> Response:
        from starlette.responses import JSONResponse

        try:
            async with asyncio.timeout(2.0):
                await self._ping()
            self.health.store_reachable = True
        except AutoplayError as exc:  # an expected failure (Redis down): one line, no trace
            log.warning("health check: %s", exc.message)
            self.health.store_reachable = False
        except Exception:  # any failure means "not reachable"; the reason is logged
            log.warning("health check: the store did not answer", exc_info=True)
            self.health.store_reachable = False
        h = self.health
        healthy = h.store_reachable and (h.stream_connected or not h.live)
        lag = h.lag_s(self.clock())
        return JSONResponse(
            {
                "healthy": healthy,
                "stream_connected": h.stream_connected if h.live else None,
                "last_event_id": h.last_event_id,
                "lag_s": None if lag is None else round(lag, 3),
                "store_reachable": h.store_reachable,
            },
            status_code=200 if healthy else 503,
        )

    async def metrics_endpoint(self, request: Request) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST
        from starlette.responses import Response

        return Response(self.metrics.render(), media_type=CONTENT_TYPE_LATEST)

    # -- the app ---------------------------------------------------------------------------

    def app(self) -> Starlette:
        from starlette.applications import Starlette
        from starlette.routing import Mount, Route

        routes: list[Any] = [
            Route("/chatbot-webhook/{product_id}", self.chatbot_webhook, methods=["POST"]),
            Route("/users/{product_id}/{user_id}/live-activity", self.live_activity),
            Route("/sessions/{session_id}/proactive", self.proactive),
            Route("/healthz", self.healthz),
            Route("/metrics", self.metrics_endpoint),
        ]
        lifespan = None
        if self.mcp:
            server, mcp_app = self._mcp_app()
            routes.append(Mount("/", app=self._guard(mcp_app)))

            @contextlib.asynccontextmanager
            async def lifespan(app: Any) -> AsyncIterator[None]:
                async with server.session_manager.run():
                    yield

        return Starlette(routes=routes, lifespan=lifespan)

    def _mcp_app(self) -> tuple[Any, Any]:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ToolError

        server: Any = MCPServer(
            name="autoplay-relay",
            instructions="Live user activity from the Autoplay relay.",
            log_level="WARNING",
        )

        @server.tool()
        async def get_live_user_activity(
            product_id: str, user_id: str, limit: int = 20
        ) -> dict[str, Any]:
            """A user's recent actions in the product (newest last, at most 50, last 24 h)."""
            if product_id != self.product_id:
                raise ToolError("this relay serves another product")
            if not 1 <= limit <= MAX_ACTIONS:
                raise ToolError(f"limit must be from 1 to {MAX_ACTIONS}")
            return await self.activity(user_id, limit)

        app = server.streamable_http_app(
            streamable_http_path="/mcp", stateless_http=True, json_response=True, host=self.host
        )
        return server, app

    def _guard(self, inner: Any) -> Any:
        """The MCP endpoint behind the same Bearer key as the REST reads."""

        async def guarded(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                if not self._authorized(headers.get("authorization")):
                    response = self._error(401, "missing or wrong API key (Bearer)")
                    await response(scope, receive, send)
                    return
            await inner(scope, receive, send)

        return guarded


INTERCOM_TOPICS = {
    "conversation.user.created": "new",
    "conversation.user.replied": "reply_existing",
}
CONTACT_AUTHORS = ("user", "lead", "contact")


def intercom_signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>``, compared in constant time."""
    import hashlib

    expected = "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return header is not None and hmac.compare_digest(expected.encode(), header.encode())


def _intercom_link(data: Any) -> tuple[str, tuple[str, str, str | None, dict[str, Any]] | None]:
    """An Intercom notification as a link: the conversation, and the session id from the
    contact's ``autoplay_session_id`` custom attribute (wherever the API version puts it)."""
    if not isinstance(data, dict):
        return "not a notification object", None
    event = INTERCOM_TOPICS.get(str(data.get("topic", "")))
    if event is None:
        return f"topic {data.get('topic')!r} does not link a conversation", None
    item = (data.get("data") or {}).get("item") if isinstance(data.get("data"), dict) else None
    if not isinstance(item, dict) or not item.get("id"):
        return "no conversation in the notification", None
    places: list[Any] = [item.get("custom_attributes"), (item.get("source") or {}).get("author")]
    contacts = item.get("contacts")
    if isinstance(contacts, dict):
        contacts = contacts.get("contacts")
    if isinstance(contacts, list):
        places += [c.get("custom_attributes") for c in contacts if isinstance(c, dict)]
    for place in places:
        if isinstance(place, dict):
            attrs = place.get("custom_attributes", place)
            sid = attrs.get(SESSION_ATTRIBUTE) if isinstance(attrs, dict) else None
            if isinstance(sid, str) and sid.strip():
                return "", (sid, str(item["id"]), event, {})
    return f"no {SESSION_ATTRIBUTE} custom attribute on the contact", None


def _intercom_contact(data: Any) -> tuple[str, str, str] | None:
    """``(contact id, conversation id, event)`` of a linking notification (for a lookup);
    ``None`` when the notification does not link or names no contact."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), dict):
        return None
    event = INTERCOM_TOPICS.get(str(data.get("topic", "")))
    item = data["data"].get("item")
    if event is None or not isinstance(item, dict) or not item.get("id"):
        return None
    # The conversation's contacts (API 2.x), else the author of its first message.
    contacts = item.get("contacts")
    if isinstance(contacts, dict):
        contacts = contacts.get("contacts")
    refs = [c for c in contacts if isinstance(c, dict)] if isinstance(contacts, list) else []
    source = item.get("source")
    author = source.get("author") if isinstance(source, dict) else None
    if isinstance(author, dict) and author.get("type") in CONTACT_AUTHORS:
        refs.append(author)
    for ref in refs:
        cid = ref.get("id")
        if isinstance(cid, str | int) and not isinstance(cid, bool) and str(cid).strip():
            return str(cid).strip(), str(item["id"]), event
    return None


def _link_request(data: Any) -> tuple[str, tuple[str, str, str | None, dict[str, Any]] | None]:
    """Validate a chatbot-webhook body; ``(problem, None)`` or ``("", parsed)``."""
    if not isinstance(data, dict):
        return "expected a JSON object", None
    sid, cid = data.get("session_id"), data.get("conversation_id")
    if not isinstance(sid, str) or not sid.strip():
        return "'session_id' must be a non-empty string", None
    if not isinstance(cid, str) or not cid.strip():
        return "'conversation_id' must be a non-empty string", None
    event = data.get("event")
    if event is not None:
        if not isinstance(event, str) or event.upper() not in LINK_EVENTS:
            return "'event' must be NEW or REPLY_EXISTING", None
        event = LINK_EVENTS[event.upper()]
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, dict):
        return "'metadata' must be an object", None
    return "", (sid, cid, event, metadata)


def serve_task(app: Any, host: str, port: int) -> tuple[Any, asyncio.Task[None]]:
    """Start uvicorn for *app* in the running loop; (server, task). Stop with should_exit."""
    import uvicorn

    class _Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:
            # The relay handles SIGINT/SIGTERM itself (drain, then stop the listener).
            yield

    server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on"))
    return server, asyncio.create_task(server.serve())
