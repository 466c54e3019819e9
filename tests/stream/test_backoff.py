"""Reconnection delays: doubling, cap, jitter bounds, reset, and the server's ``retry:``."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autoplay_cli.stream.backoff import Backoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    b = Backoff(base=1.0, cap=30.0, jitter=0.0)
    assert [b.next_delay() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]


def test_reset_starts_again_from_the_base() -> None:
    b = Backoff(base=0.5, cap=30.0, jitter=0.0)
    b.next_delay()
    b.next_delay()
    b.reset()
    assert b.next_delay() == 0.5


def test_server_retry_replaces_the_base_and_may_exceed_the_cap() -> None:
    b = Backoff(base=1.0, cap=30.0, jitter=0.0)
    b.set_server_retry(250)
    assert b.next_delay() == 0.25
    b.set_server_retry(60_000)
    b.reset()
    assert b.next_delay() == 60.0


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)
    with pytest.raises(ValueError):
        Backoff(base=-1)


@given(
    seed=st.integers(0, 2**32),
    failures=st.integers(0, 60),
    base=st.floats(0.01, 5),
    jitter=st.floats(0, 0.5),
)
def test_jitter_stays_within_its_bounds(
    seed: int, failures: int, base: float, jitter: float
) -> None:
    b = Backoff(base=base, cap=30.0, jitter=jitter, rng=random.Random(seed))
    b.failures = failures
    nominal = min(base * 2 ** min(failures, 32), max(30.0, base))
    delay = b.next_delay()
    assert nominal * (1 - jitter) - 1e-9 <= delay <= nominal * (1 + jitter) + 1e-9
