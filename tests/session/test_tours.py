"""Tour definitions and the tour registry: validation, lookups, dict round trips."""

from __future__ import annotations

from typing import Any

import pytest

from autoplay_cli.errors import InputError
from autoplay_cli.session import TourDefinition, TourRegistry

TOURS = [
    TourDefinition("onboarding", "flow-1", interaction_timeout_s=90, cooldown_period_s=5),
    TourDefinition("billing", "flow-2"),
]


def test_tour_without_its_own_timings_has_the_sdk_tour_defaults() -> None:
    t = TourDefinition("t", "f")
    assert (t.tour_id, t.provider_flow_id) == ("t", "f")
    assert (t.interaction_timeout_s, t.cooldown_period_s) == (20.0, 120.0)
    assert TourDefinition("t", "f", None, None) == t  # None means "the tour default"
    assert TourDefinition("t", "f", 30, 0).cooldown_period_s == 0
    parsed = TourDefinition.from_dict({"tour_id": "t", "provider_flow_id": "f"})
    assert (parsed.interaction_timeout_s, parsed.cooldown_period_s) == (20.0, 120.0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "f"), "tour_id"),
        (("t", " "), "provider_flow_id"),
        (("t", "f", 0), "interaction_timeout_s must be > 0"),
        (("t", "f", -1), "interaction_timeout_s"),
        (("t", "f", None, -5), "cooldown_period_s"),
        (("t", "f", "20"), "interaction_timeout_s"),
        (("t", "f", None, True), "cooldown_period_s"),
    ],
)
def test_definition_validation(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        TourDefinition(*args)


def test_lookups_by_id_and_by_provider_flow_id() -> None:
    reg = TourRegistry(TOURS)
    assert len(reg) == 2 and "onboarding" in reg and "flow-1" not in reg
    assert reg.get("onboarding") is TOURS[0]
    assert reg.get("flow-1") is None
    assert reg.get_by_provider_flow_id("flow-2") is TOURS[1]
    assert reg.get_by_provider_flow_id("billing") is None
    assert reg.resolve("flow-1") is TOURS[0]
    assert reg.resolve("billing") is TOURS[1]
    assert reg.resolve("nothing") is None
    assert list(reg) == TOURS


def test_provider_flow_id_wins_when_ids_overlap() -> None:
    a = TourDefinition("x", "flow-a")
    b = TourDefinition("y", "x")
    assert TourRegistry([a, b]).resolve("x") is b


@pytest.mark.parametrize(
    "dup", [TourDefinition("onboarding", "flow-9"), TourDefinition("other", "flow-1")]
)
def test_duplicates_are_refused(dup: TourDefinition) -> None:
    reg = TourRegistry(TOURS)
    with pytest.raises(InputError, match="duplicate"):
        reg.add(dup)


def test_dict_round_trip() -> None:
    reg = TourRegistry(TOURS)
    data = reg.to_dict()
    assert data["tours"][0] == {
        "tour_id": "onboarding",
        "provider_flow_id": "flow-1",
        "interaction_timeout_s": 90,
        "cooldown_period_s": 5,
    }
    assert TourRegistry.from_dict(data) == reg
    assert TourRegistry.from_dict(data["tours"]) == reg
    assert TourRegistry.from_dict({}) == TourRegistry()
    assert reg != TourRegistry(TOURS[:1])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tours": {"a": 1}}, "tours must be a list"),
        ({"tours": ["flow"]}, r"tours\[0\] must be an object"),
        ({"tours": [{"tour_id": "a"}]}, r"tours\[0\]: provider_flow_id"),
        (
            {
                "tours": [
                    {"tour_id": "a", "provider_flow_id": "f"},
                    {"tour_id": "a", "provider_flow_id": "g"},
                ]
            },
            r"tours\[1\]: duplicate tour_id",
        ),
        (
            {"tours": [{"tour_id": "a", "provider_flow_id": "f", "cooldown_period_s": "1m"}]},
            r"tours\[0\]: cooldown_period_s",
        ),
    ],
)
def test_invalid_registry_names_the_location(data: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        TourRegistry.from_dict(data)
