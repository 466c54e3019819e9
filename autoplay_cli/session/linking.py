"""Conversation linking: which chat conversation a session's copilot talks in.

A link store remembers conversation id -> link; :func:`link_conversation` writes
the store first, then the session state (NEW overwrites, REPLY_EXISTING only links).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from autoplay_cli.errors import InputError, SnapshotError

if TYPE_CHECKING:
    from autoplay_cli.session._redis import RedisConnection
    from autoplay_cli.session.state import SessionState

LINK_KEY_PREFIX = "autoplay:conversation_link:"
DEFAULT_LINK_TTL_S = 86400


class ConversationEventType(StrEnum):
    """What the chat side reported: a new conversation, or a reply in an existing one.

    The values are the SDK's (``"NEW"``, ``"REPLY_EXISTING"``); parsing from a
    string accepts either case, so links stored by earlier releases
    (``"new"``, ``"reply_existing"``) still read.
    """

    NEW = "NEW"
    REPLY_EXISTING = "REPLY_EXISTING"

    @classmethod
    def _missing_(cls, value: object) -> ConversationEventType | None:
        if isinstance(value, str):
            wanted = value.strip().upper()
            for member in cls:
                if member.value == wanted:
                    return member
        return None


@dataclass(frozen=True, slots=True)
class ConversationLink:
    """A session linked to a conversation, by *event*, at *linked_at* (epoch seconds)."""

    session_id: str
    conversation_id: str
    event: ConversationEventType = ConversationEventType.NEW
    linked_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "conversation_id": self.conversation_id,
            "event": self.event.value,
            "linked_at": self.linked_at,
        }

    @classmethod
    def from_dict(cls, data: Any) -> ConversationLink:
        """Parse :meth:`to_dict` output; :class:`SnapshotError` when invalid."""
        if not isinstance(data, Mapping):
            raise SnapshotError(f"conversation link must be an object, got {type(data).__name__}")
        sid, cid = data.get("session_id"), data.get("conversation_id")
        linked_at = data.get("linked_at", 0.0)
        if not isinstance(sid, str) or not sid or not isinstance(cid, str) or not cid:
            raise SnapshotError("conversation link needs non-empty session_id and conversation_id")
        if (
            isinstance(linked_at, bool)
            or not isinstance(linked_at, int | float)
            or not math.isfinite(linked_at)
        ):
            raise SnapshotError(f"conversation link {cid!r}: linked_at must be a number")
        try:
            event = ConversationEventType(data.get("event", ConversationEventType.NEW.value))
        except ValueError:
            raise SnapshotError(
                f"conversation link {cid!r}: unknown event {data.get('event')!r}"
            ) from None
        return cls(sid, cid, event, float(linked_at))


@runtime_checkable
class ConversationLinkStore(Protocol):
    """Where links live; keyed by conversation id."""

    async def get(self, conversation_id: str) -> ConversationLink | None: ...

    async def save(self, link: ConversationLink) -> None: ...

    async def delete(self, conversation_id: str) -> None: ...


class MemoryConversationLinkStore:
    """Links in this process only (tests, single-worker apps, simulation)."""

    def __init__(self) -> None:
        self._links: dict[str, ConversationLink] = {}
        self._lock = threading.Lock()

    async def get(self, conversation_id: str) -> ConversationLink | None:
        with self._lock:
            return self._links.get(conversation_id)

    async def save(self, link: ConversationLink) -> None:
        with self._lock:
            self._links[link.conversation_id] = link

    async def delete(self, conversation_id: str) -> None:
        with self._lock:
            self._links.pop(conversation_id, None)

    def __len__(self) -> int:
        return len(self._links)


class RedisConversationLinkStore:
    """Links in Redis, so every worker sees them: ``autoplay:conversation_link:{id}``.

    Each key holds the link's JSON and expires after ``ttl_s`` (default 24 h).
    Pass a URL, or share a session store's connection via
    :meth:`RedisSessionStore.link_store`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        ttl_s: int = DEFAULT_LINK_TTL_S,
        key_prefix: str = LINK_KEY_PREFIX,
        connection: RedisConnection | None = None,
        client: Any = None,
    ) -> None:
        from autoplay_cli.session._redis import RedisConnection

        if ttl_s <= 0:
            raise InputError(f"ttl_s must be > 0, got {ttl_s!r}")
        self._conn = connection or RedisConnection(url, client=client)
        self.ttl_s = int(ttl_s)
        self.key_prefix = key_prefix

    def key(self, conversation_id: str) -> str:
        return f"{self.key_prefix}{conversation_id}"

    async def get(self, conversation_id: str) -> ConversationLink | None:
        key = self.key(conversation_id)
        with self._conn.errors("read link", key):
            raw = await self._conn.client().get(key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise SnapshotError(f"redis key {key} does not hold JSON") from exc
        return ConversationLink.from_dict(data)

    async def save(self, link: ConversationLink) -> None:
        key = self.key(link.conversation_id)
        with self._conn.errors("write link", key):
            await self._conn.client().set(key, json.dumps(link.to_dict()), ex=self.ttl_s)

    async def delete(self, conversation_id: str) -> None:
        key = self.key(conversation_id)
        with self._conn.errors("delete link", key):
            await self._conn.client().delete(key)

    async def aclose(self) -> None:
        await self._conn.aclose()


def _resolve_ids(
    state: SessionState, conversation_id: str, session_id: str | None
) -> tuple[str, str]:
    sid = session_id if session_id is not None else state.session_id
    if not isinstance(sid, str) or not sid.strip():
        raise InputError(
            "cannot link a conversation: the session id is empty",
            hint="create the state with a session store's get_or_create(session_id)",
        )
    if sid != state.session_id:
        raise InputError(
            f"session_id {sid!r} does not match the state's session {state.session_id!r}"
        )
    if not isinstance(conversation_id, str) or not conversation_id.strip():
        raise InputError(f"conversation_id must be a non-empty string, got {conversation_id!r}")
    return sid, conversation_id


async def prepare_link(
    store: ConversationLinkStore,
    session_id: str,
    conversation_id: str,
    event: ConversationEventType | str | None = None,
    *,
    linked_at: float | None = None,
) -> ConversationLink:
    """Infer the event when not given, and write the link to *store*.

    Inference: REPLY_EXISTING when *store* already knows *conversation_id*, NEW otherwise.
    """
    if event is None:
        known = await store.get(conversation_id)
        kind = ConversationEventType.NEW if known is None else ConversationEventType.REPLY_EXISTING
    else:
        try:
            kind = ConversationEventType(event)
        except ValueError:
            raise InputError(
                f"unknown conversation event {event!r}",
                hint="use 'NEW' or 'REPLY_EXISTING' (either case)",
            ) from None
    link = ConversationLink(
        session_id, conversation_id, kind, time.time() if linked_at is None else linked_at
    )
    await store.save(link)
    return link


async def link_conversation(
    state: SessionState,
    store: ConversationLinkStore,
    conversation_id: str,
    event: ConversationEventType | str | None = None,
    session_id: str | None = None,
) -> ConversationLink:
    """Link *state*'s session to *conversation_id*: the store first, then the state.

    *session_id* defaults to ``state.session_id``; *event* is inferred when not
    given (see :func:`prepare_link`). Returns the link written. The caller
    persists *state* (or use ``DeliveryManager.on_chatbot_event``, which does).
    """
    sid, cid = _resolve_ids(state, conversation_id, session_id)
    link = await prepare_link(store, sid, cid, event, linked_at=state.now())
    state.on_conversation_linked(link)
    return link


def resolve_linked_conversation_id(state: SessionState) -> str | None:
    """The conversation to talk in, from the session's own state; ``None`` when unlinked."""
    return state.conversation_id if state.conversation_linked else None
