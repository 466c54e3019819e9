"""Synthetic traffic: deterministic per seed, consistent sessions, personas that trip triggers."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autoplay_cli.emulator import traffic
from autoplay_cli.errors import InputError
from autoplay_cli.wire import ActionsPayload, SlimAction


def actions_of(session: traffic.SyntheticSession) -> list[SlimAction]:
    return [a for b in session.batches for a in b.actions]


def ping_pong_cycles(urls: list[str]) -> int:
    urls = [u for u in urls if u]
    return sum(1 for i in range(len(urls) - 2) if urls[i] == urls[i + 2] != urls[i + 1])


def trailing_run(actions: list[SlimAction]) -> list[SlimAction]:
    run = [actions[-1]]
    for a in reversed(actions[:-1]):
        if a.canonical_url != run[0].canonical_url:
            break
        run.insert(0, a)
    return run


def test_same_seed_same_sessions_and_other_seed_differs() -> None:
    a = traffic.generate_sessions(12, seed=7)
    b = traffic.generate_sessions(12, seed=7)
    c = traffic.generate_sessions(12, seed=8)
    dump = [[p.to_wire() for p in s.batches] for s in a]
    assert dump == [[p.to_wire() for p in s.batches] for s in b]
    assert dump != [[p.to_wire() for p in s.batches] for s in c]


def test_every_persona_appears_in_four_sessions() -> None:
    sessions = traffic.generate_sessions(4, seed=3)
    assert sorted(s.persona for s in sessions) == sorted(traffic.PERSONAS)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), count=st.integers(1, 10))
@example(seed=2**32, count=1)  # once forwarded a batch before the previous one
def test_sessions_are_internally_consistent(seed: int, count: int) -> None:
    start = 1_800_000_000.0
    sessions = traffic.generate_sessions(count, seed=seed, start=start, product_id="acme")
    assert len(sessions) == count
    assert len({s.session_id for s in sessions}) == count
    for s in sessions:
        acts = actions_of(s)
        assert [a.index for a in acts] == list(range(len(acts)))
        stamps = [a.timestamp_start for a in acts]
        assert stamps == sorted(stamps) and stamps[0] >= start
        assert all(a.timestamp_end >= a.timestamp_start for a in acts)
        forwarded = [b.forwarded_at for b in s.batches]
        assert forwarded == sorted(forwarded)
        for b in s.batches:
            assert isinstance(b, ActionsPayload)
            assert b.product_id == "acme" and b.count == len(b.actions) > 0
            assert b.forwarded_at >= b.actions[-1].timestamp_end
            assert all(a.session_id == b.session_id and a.user_id == b.user_id for a in b.actions)
            assert b.session_id in (None, s.session_id)
        for a in acts:
            assert traffic.canonicalize(a.raw_url) == a.canonical_url
        assert s.batches[-1].session_id == s.session_id  # identified by the end
        if s.summary is not None:
            assert s.summary.session_id == s.session_id
            assert s.summary.replaces == len(acts)
            assert s.summary.forwarded_at > s.batches[-1].forwarded_at


def test_hesitant_sessions_ping_pong() -> None:
    for s in traffic.generate_sessions(6, seed=11, personas=["hesitant"]):
        assert ping_pong_cycles([a.canonical_url for a in actions_of(s)]) >= 2


def test_stuck_sessions_dwell_a_minute_with_few_actions() -> None:
    for s in traffic.generate_sessions(6, seed=12, personas=["stuck"]):
        run = trailing_run(actions_of(s))
        assert len(run) <= 5
        assert run[-1].timestamp_end - run[0].timestamp_start >= 60


def test_confident_sessions_neither_ping_pong_nor_dwell() -> None:
    for s in traffic.generate_sessions(6, seed=13, personas=["confident"]):
        acts = actions_of(s)
        run = trailing_run(acts)
        assert run[-1].timestamp_end - run[0].timestamp_start < 60
        assert len({a.canonical_url for a in acts}) >= 3


def test_anonymous_sessions_are_identified_mid_session() -> None:
    for s in traffic.generate_sessions(6, seed=14, personas=["anonymous"]):
        ids = [b.session_id for b in s.batches]
        assert ids[0] is None and s.batches[0].user_id is None
        assert ids[-1] == s.session_id and s.batches[-1].user_id == s.user_id
        first_known = ids.index(s.session_id)
        assert all(i is None for i in ids[:first_known])
        assert all(i == s.session_id for i in ids[first_known:])


def test_raw_urls_carry_real_ids() -> None:
    acts = [a for s in traffic.generate_sessions(20, seed=5) for a in actions_of(s)]
    with_ids = [a for a in acts if ":id" in a.canonical_url]
    assert with_ids
    assert all(":id" not in a.raw_url for a in acts)


def test_unknown_persona_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown persona 'grumpy'"):
        traffic.generate_sessions(1, seed=0, personas=["grumpy"])


def test_interleave_orders_by_forwarding_time() -> None:
    items = traffic.interleave(traffic.generate_sessions(8, seed=2))
    assert [p.forwarded_at for p in items] == sorted(p.forwarded_at for p in items)


def test_iter_payloads_finite_and_endless() -> None:
    finite = list(traffic.iter_payloads(seed=1, sessions=3))
    sessions = traffic.generate_sessions(3, seed=1)
    assert len(finite) == sum(len(s.batches) + (s.summary is not None) for s in sessions)
    endless = traffic.iter_payloads(seed=1)
    many = [next(endless) for _ in range(500)]
    ids = {p["session_id"] for p in many if p["session_id"]}
    assert len(ids) > 8  # more than one round of sessions


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/projects/4821/board", "/projects/:id/board"),
        ("/reports/0c7a9e2b-1f3d-4a5b-8c6d-7e8f9a0b1c2d", "/reports/:id"),
        ("/billing/plans?tab=pro", "/billing/plans"),  # one page, whatever the query
        ("/dashboard", "/dashboard"),
    ],
)
def test_canonicalize(raw: str, canonical: str) -> None:
    assert traffic.canonicalize(raw) == canonical
