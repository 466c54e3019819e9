"""The trigger catalog (data) and the registry that builds triggers from parameters.

Each entry names a stable trigger id, what it detects, and its parameters with
types and defaults; the README table and the tests are driven by this table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from autoplay_cli.errors import InputError
from autoplay_cli.triggers.base import Trigger
from autoplay_cli.triggers.builtin import (
    DWELL_ID,
    PING_PONG_ID,
    CanonicalUrlPingPong,
    UserPageDwell,
)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One trigger parameter: its type, default, lower bound and meaning."""

    name: str
    type: type[int] | type[float]
    default: int | float
    minimum: int | float
    description: str

    def coerce(self, value: Any, *, where: str) -> int | float:
        """Validate *value* (a number, or a string from ``--set``) for this parameter."""
        if isinstance(value, str):
            try:
                value = self.type(value)
            except ValueError:
                raise InputError(
                    f"{where}: {value!r} is not a valid {self.type.__name__}",
                    hint=f"{self.name}: {self.description}",
                ) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError(f"{where}: expected a {self.type.__name__}, got {value!r}")
        if not math.isfinite(value):
            # NaN compares false with every bound, so it would pass the check below.
            raise InputError(f"{where}: must be a finite number, got {value!r}")
        if self.type is int and not float(value).is_integer():
            raise InputError(f"{where}: expected a whole number, got {value!r}")
        if value < self.minimum:
            raise InputError(f"{where}: must be ≥ {self.minimum:g}, got {value!r}")
        return self.type(value)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A catalog entry: id, description, parameters, and the factory that builds it."""

    id: str
    description: str
    params: tuple[ParamSpec, ...]
    factory: Callable[..., Trigger]

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, int | float]:
        return {p.name: p.default for p in self.params}

    def build(self, params: Mapping[str, Any]) -> Trigger:
        return self.factory(**{**self.defaults(), **params})


BUILTIN_TRIGGERS: tuple[TriggerSpec, ...] = (
    TriggerSpec(
        PING_PONG_ID,
        "the user goes back and forth between two pages (A → B → A) in the recent actions",
        (ParamSpec("min_cycles", int, 1, 1, "how many A → B → A positions are needed to fire"),),
        CanonicalUrlPingPong,
    ),
    TriggerSpec(
        DWELL_ID,
        "the user stays on one page for a long time while doing little there",
        (
            ParamSpec(
                "dwell_threshold_seconds",
                float,
                60.0,
                0.0,
                "minimum duration of the trailing run on one page",
            ),
            ParamSpec(
                "user_page_dwell_max_actions", int, 5, 1, "maximum number of actions in that run"
            ),
        ),
        UserPageDwell,
    ),
)


class TriggerRegistry:
    """Trigger specs by id; integrators may register their own."""

    def __init__(self, specs: tuple[TriggerSpec, ...] | list[TriggerSpec] = ()) -> None:
        self._specs: dict[str, TriggerSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: TriggerSpec) -> None:
        if spec.id in self._specs:
            raise ValueError(f"trigger id {spec.id!r} is already registered")
        self._specs[spec.id] = spec

    def get(self, trigger_id: str) -> TriggerSpec | None:
        return self._specs.get(trigger_id)

    def __contains__(self, trigger_id: object) -> bool:
        return trigger_id in self._specs

    def __iter__(self) -> Iterator[TriggerSpec]:
        return iter(self._specs.values())

    def ids(self) -> list[str]:
        return list(self._specs)


def default_registry() -> TriggerRegistry:
    """A registry holding the built-in triggers."""
    return TriggerRegistry(BUILTIN_TRIGGERS)
