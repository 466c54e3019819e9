"""The virtual clock moves forward only."""

from __future__ import annotations

import pytest

from autoplay_cli.simulate import VirtualClock


def test_virtual_clock() -> None:
    clock = VirtualClock(10)
    assert clock() == 10.0
    clock.advance_to(12.5)
    assert clock() == 12.5
    with pytest.raises(ValueError, match="cannot go back"):
        clock.advance_to(12)
