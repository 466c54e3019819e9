"""Conversation linking: NEW/REPLY_EXISTING semantics, inference, memory and Redis link stores."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from autoplay_cli.errors import InputError, SnapshotError, StoreUnavailableError
from autoplay_cli.session import (
    ConversationEventType,
    ConversationLink,
    ConversationLinkStore,
    MemoryConversationLinkStore,
    RedisConversationLinkStore,
    SessionState,
    link_conversation,
    resolve_linked_conversation_id,
)

NEW, REPLY = ConversationEventType.NEW, ConversationEventType.REPLY_EXISTING


@pytest.fixture(params=["memory", "redis"])
async def links(
    request: pytest.FixtureRequest, prefix: str
) -> AsyncIterator[ConversationLinkStore]:
    if request.param == "memory":
        yield MemoryConversationLinkStore()
        return
    store = RedisConversationLinkStore(
        request.getfixturevalue("redis_url"), key_prefix=prefix + "link:"
    )
    yield store
    await store.aclose()


def test_event_type_values_are_the_sdks_and_parse_in_either_case() -> None:
    assert NEW.value == "NEW" and REPLY.value == "REPLY_EXISTING"
    for text in ("REPLY_EXISTING", "reply_existing", "Reply_Existing", " reply_existing "):
        assert ConversationEventType(text) is REPLY
    assert ConversationEventType("new") is NEW and ConversationEventType("NEW") is NEW
    for bad in ("reply", "", "NEWS", 1, None):
        with pytest.raises(ValueError):
            ConversationEventType(bad)  # type: ignore[arg-type]


def test_links_stored_by_earlier_releases_still_read() -> None:
    old = {"session_id": "s1", "conversation_id": "c1", "event": "reply_existing", "linked_at": 1}
    assert ConversationLink.from_dict(old).event is REPLY
    assert ConversationLink("s1", "c1", REPLY).to_dict()["event"] == "REPLY_EXISTING"


def test_link_dict_round_trip() -> None:
    link = ConversationLink("s1", "c1", REPLY, 1_767_225_600.5)
    assert ConversationLink.from_dict(json.loads(json.dumps(link.to_dict()))) == link


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"session_id": "", "conversation_id": "c"},
        {"session_id": "s"},
        {"session_id": "s", "conversation_id": "c", "event": "merged"},
        {"session_id": "s", "conversation_id": "c", "linked_at": "now"},
    ],
)
def test_invalid_link_data(data: Any) -> None:
    with pytest.raises(SnapshotError):
        ConversationLink.from_dict(data)


async def test_unknown_conversation_is_inferred_new(
    links: ConversationLinkStore, clock: Any
) -> None:
    s = SessionState("s1", clock=clock)
    link = await link_conversation(s, links, "c1")
    assert link == ConversationLink("s1", "c1", NEW, clock.t)
    assert s.conversation_linked and s.conversation_id == "c1"
    assert await links.get("c1") == link  # the store is written too


async def test_known_conversation_is_inferred_reply_existing(
    links: ConversationLinkStore, clock: Any
) -> None:
    first = SessionState("s1", clock=clock)
    await link_conversation(first, links, "c1")
    # The same user, a new session (page reload), replies in the same conversation.
    second = SessionState("s2", clock=clock)
    link = await link_conversation(second, links, "c1")
    assert link.event is REPLY
    assert second.conversation_id == "c1"
    assert (await links.get("c1")).session_id == "s2"  # type: ignore[union-attr]


async def test_reply_existing_does_not_move_an_existing_link(
    links: ConversationLinkStore, clock: Any
) -> None:
    s = SessionState("s1", clock=clock)
    await link_conversation(s, links, "c1", NEW)
    await link_conversation(s, links, "c2", REPLY)
    assert s.conversation_id == "c1"
    await link_conversation(s, links, "c3", "new")
    assert s.conversation_id == "c3"
    assert resolve_linked_conversation_id(s) == "c3"


async def test_session_id_is_inferred_and_checked(links: ConversationLinkStore) -> None:
    s = SessionState("s1")
    link = await link_conversation(s, links, "c1", session_id="s1")
    assert link.session_id == "s1"
    with pytest.raises(InputError, match="does not match"):
        await link_conversation(s, links, "c2", session_id="s9")
    with pytest.raises(InputError, match="session id is empty") as info:
        await link_conversation(s, links, "c2", session_id="")
    assert "get_or_create" in (info.value.hint or "")


@pytest.mark.parametrize("cid", ["", "  ", None])
async def test_conversation_id_is_required(cid: Any) -> None:
    store = MemoryConversationLinkStore()
    with pytest.raises(InputError, match="conversation_id"):
        await link_conversation(SessionState("s1"), store, cid)
    assert len(store) == 0


async def test_unknown_event_is_refused() -> None:
    with pytest.raises(InputError, match="unknown conversation event"):
        await link_conversation(SessionState("s1"), MemoryConversationLinkStore(), "c", "merge")


def test_resolve_unlinked_is_none() -> None:
    assert resolve_linked_conversation_id(SessionState("s1")) is None


async def test_memory_store_delete() -> None:
    store = MemoryConversationLinkStore()
    await store.save(ConversationLink("s", "c"))
    await store.delete("c")
    await store.delete("c")
    assert await store.get("c") is None
    assert isinstance(store, ConversationLinkStore)


async def test_redis_links_are_shared_between_workers_with_ttl(redis_url: str, prefix: str) -> None:
    a = RedisConversationLinkStore(redis_url, key_prefix=prefix + "link:", ttl_s=600)
    b = RedisConversationLinkStore(redis_url, key_prefix=prefix + "link:")
    try:
        await link_conversation(SessionState("s1"), a, "c1")
        link = await link_conversation(SessionState("s2"), b, "c1")
        assert link.event is REPLY  # worker b knows what worker a wrote
        import redis.asyncio as aioredis

        raw = aioredis.Redis.from_url(redis_url)
        try:
            ttl = await raw.ttl(prefix + "link:c1")
            stored = json.loads(await raw.get(prefix + "link:c1"))
        finally:
            await raw.aclose()
        assert 0 < ttl <= 86400  # b wrote last, with the default TTL
        assert stored["session_id"] == "s2" and stored["event"] == "REPLY_EXISTING"
        await b.delete("c1")
        assert await a.get("c1") is None
    finally:
        await a.aclose()
        await b.aclose()


def test_redis_link_store_default_key_pattern() -> None:
    store = RedisConversationLinkStore("redis://127.0.0.1:1/0")
    assert store.key("c1") == "autoplay:conversation_link:c1"
    assert store.ttl_s == 86400
    with pytest.raises(InputError):
        RedisConversationLinkStore("redis://127.0.0.1:1/0", ttl_s=0)


async def test_redis_link_store_corrupt_value(redis_url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    raw = aioredis.Redis.from_url(redis_url)
    await raw.set(prefix + "link:bad", b"{not json")
    await raw.aclose()
    store = RedisConversationLinkStore(redis_url, key_prefix=prefix + "link:")
    try:
        with pytest.raises(SnapshotError, match="does not hold JSON"):
            await store.get("bad")
    finally:
        await store.aclose()


async def test_redis_link_store_outage_is_typed(dead_redis_url: str) -> None:
    store = RedisConversationLinkStore(dead_redis_url)
    with pytest.raises(StoreUnavailableError) as info:
        await link_conversation(SessionState("s1"), store, "c1")
    assert "hunter2secret" not in str(info.value)
    assert info.value.exit_code == 6
    await store.aclose()
