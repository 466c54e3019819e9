"""Tour definitions and the registry that resolves them by id or provider flow id.

A running tour may override the session's interaction timeout and cooldown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from autoplay_cli.errors import InputError

# The SDK's tour defaults: a tour that names no timings of its own runs with these
# (not with the session's values), so a long tour is not cut off by a short chat timeout.
DEFAULT_TOUR_INTERACTION_TIMEOUT_S = 20.0
DEFAULT_TOUR_COOLDOWN_PERIOD_S = 120.0


def _optional_period(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise InputError(f"{where} must be a finite number >= 0 or null, got {value!r}")
    return float(value)


def _non_empty(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class TourDefinition:
    """One product tour.

    ``provider_flow_id`` is the id the tour provider (the chat widget) reports.
    While the tour runs, its ``interaction_timeout_s`` and ``cooldown_period_s``
    replace the session's. A tour that gives none (or ``None``) has the SDK's
    tour defaults: 20 s and 120 s.
    """

    tour_id: str
    provider_flow_id: str
    # Typed as optional so callers may pass None ("the tour default"); after
    # construction both always hold a number.
    interaction_timeout_s: float | None = DEFAULT_TOUR_INTERACTION_TIMEOUT_S
    cooldown_period_s: float | None = DEFAULT_TOUR_COOLDOWN_PERIOD_S

    def __post_init__(self) -> None:
        _non_empty(self.tour_id, "tour_id")
        _non_empty(self.provider_flow_id, "provider_flow_id")
        timeout = _optional_period(self.interaction_timeout_s, "interaction_timeout_s")
        if timeout == 0:
            raise InputError("interaction_timeout_s must be > 0")
        cooldown = _optional_period(self.cooldown_period_s, "cooldown_period_s")
        # frozen: normalise through object.__setattr__ (None means "the tour default").
        object.__setattr__(
            self,
            "interaction_timeout_s",
            DEFAULT_TOUR_INTERACTION_TIMEOUT_S if timeout is None else timeout,
        )
        object.__setattr__(
            self,
            "cooldown_period_s",
            DEFAULT_TOUR_COOLDOWN_PERIOD_S if cooldown is None else cooldown,
        )

    def timings(self) -> tuple[float, float]:
        """``(interaction_timeout_s, cooldown_period_s)`` while this tour runs."""
        timeout, cooldown = self.interaction_timeout_s, self.cooldown_period_s
        return (
            DEFAULT_TOUR_INTERACTION_TIMEOUT_S if timeout is None else timeout,
            DEFAULT_TOUR_COOLDOWN_PERIOD_S if cooldown is None else cooldown,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tour_id": self.tour_id,
            "provider_flow_id": self.provider_flow_id,
            "interaction_timeout_s": self.interaction_timeout_s,
            "cooldown_period_s": self.cooldown_period_s,
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "tour") -> TourDefinition:
        """Parse one tour; errors name *where* (e.g. ``tours[2]``)."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where} must be an object, got {type(data).__name__}")
        try:
            return cls(
                tour_id=data.get("tour_id"),  # type: ignore[arg-type]
                provider_flow_id=data.get("provider_flow_id"),  # type: ignore[arg-type]
                interaction_timeout_s=data.get("interaction_timeout_s"),
                cooldown_period_s=data.get("cooldown_period_s"),
            )
        except InputError as exc:
            raise InputError(
                f"{where}: {exc.message}", hint="each tour needs tour_id and provider_flow_id"
            ) from exc


class TourRegistry:
    """Tours by registry id and by provider flow id; both must be unique."""

    def __init__(self, tours: Iterable[TourDefinition] = ()) -> None:
        self._by_id: dict[str, TourDefinition] = {}
        self._by_flow: dict[str, TourDefinition] = {}
        for tour in tours:
            self.add(tour)

    def add(self, tour: TourDefinition) -> None:
        if tour.tour_id in self._by_id:
            raise InputError(f"duplicate tour_id {tour.tour_id!r} in the tour registry")
        if tour.provider_flow_id in self._by_flow:
            raise InputError(
                f"duplicate provider_flow_id {tour.provider_flow_id!r} in the tour registry"
            )
        self._by_id[tour.tour_id] = tour
        self._by_flow[tour.provider_flow_id] = tour

    def get(self, tour_id: str) -> TourDefinition | None:
        return self._by_id.get(tour_id)

    def get_by_provider_flow_id(self, flow_id: str) -> TourDefinition | None:
        return self._by_flow.get(flow_id)

    def resolve(self, tour_or_flow_id: str) -> TourDefinition | None:
        """The tour a session's ``active_tour_id`` names: provider flow id first, then tour id.

        The SDK stores the provider flow id there and looks it up by that alone;
        the tour-id lookup is an addition for callers that pass the registry id.
        """
        return self._by_flow.get(tour_or_flow_id) or self._by_id.get(tour_or_flow_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[TourDefinition]:
        return iter(self._by_id.values())

    def __contains__(self, tour_id: object) -> bool:
        return tour_id in self._by_id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TourRegistry):
            return NotImplemented
        return self._by_id == other._by_id

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        return {"tours": [t.to_dict() for t in self]}

    @classmethod
    def from_dict(cls, data: Any) -> TourRegistry:
        """Parse ``{"tours": [...]}`` (a bare list of tours is accepted too)."""
        tours = data.get("tours", []) if isinstance(data, Mapping) else data
        if not isinstance(tours, list):
            raise InputError(f"tours must be a list, got {type(tours).__name__}")
        registry = cls()
        for i, item in enumerate(tours):
            tour = TourDefinition.from_dict(item, where=f"tours[{i}]")
            try:
                registry.add(tour)
            except InputError as exc:
                raise InputError(f"tours[{i}]: {exc.message}") from exc
        return registry
