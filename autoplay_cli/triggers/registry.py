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
    DWELL_MAX_ACTIONS_MINIMUM,
    DWELL_THRESHOLD_MINIMUM,
    MIN_CYCLES_MINIMUM,
    PING_PONG_ID,
    CanonicalUrlPingPong,
    UserPageDwell,
)


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One trigger parameter: its type, default, lower bound and meaning."""

    name: str
    type: type[int] | type[float] | type[bool]
    default: int | float | bool
    minimum: int | float
    description: str

    def coerce(self, value: Any, *, where: str) -> int | float | bool:
        """Validate *value* (a number or bool, or a string from ``--set``) for this parameter."""
        if self.type is bool:
            return _boolean(value, where=where, hint=f"{self.name}: {self.description}")
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


_TRUE = frozenset({"true", "on", "yes", "1"})
_FALSE = frozenset({"false", "off", "no", "0"})


def _boolean(value: Any, *, where: str, hint: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InputError(f"{where}: expected true or false, got {value!r}", hint=hint)


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    """A catalog entry: id, description, parameters, and the factory that builds it."""

    id: str
    description: str
    params: tuple[ParamSpec, ...]
    factory: Callable[..., Trigger]

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)

    def defaults(self) -> dict[str, int | float | bool]:
        return {p.name: p.default for p in self.params}

    def build(self, params: Mapping[str, Any]) -> Trigger:
        return self.factory(**{**self.defaults(), **params})


BUILTIN_TRIGGERS: tuple[TriggerSpec, ...] = (
    TriggerSpec(
        PING_PONG_ID,
        "the user goes back and forth between two pages (A → B → A) in the recent actions",
        (
            ParamSpec(
                "min_cycles",
                int,
                1,
                MIN_CYCLES_MINIMUM,
                "how many A → B → A positions are needed to fire",
            ),
            ParamSpec(
                "hesitation",
                bool,
                False,
                0,
                "also fire on at least 3 distinct pages with a return to one of them "
                "(SDK 0.10+; off by default)",
            ),
        ),
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
                DWELL_THRESHOLD_MINIMUM,
                "minimum time on the page, from the run's first action to the evaluation time",
            ),
            ParamSpec(
                "user_page_dwell_max_actions",
                int,
                5,
                DWELL_MAX_ACTIONS_MINIMUM,
                "maximum number of actions in that run",
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
