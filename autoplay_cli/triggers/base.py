"""The trigger interface: a stable id, evaluated on a session's recent actions and the clock.

A trigger answers "should the copilot offer help now?" with a :class:`Firing`
(and why) or ``None``. The offer's wording (:class:`Offer`) comes from the
trigger configuration, not from the trigger itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

DEFAULT_OFFER_BODY = "Need my expert help?"
DEFAULT_TOUR_OFFER_BODY = "Would you like me to show you?"


class ActionLike(Protocol):
    """What a trigger reads from an action (``wire.SlimAction`` fits)."""

    @property
    def canonical_url(self) -> str: ...

    @property
    def timestamp_start(self) -> float: ...

    @property
    def timestamp_end(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Firing:
    """A trigger's verdict that it fired, with a one-line explanation."""

    trigger_id: str
    detail: str


@runtime_checkable
class Trigger(Protocol):
    """A proactive trigger: ``evaluate`` returns a :class:`Firing` or ``None``."""

    @property
    def id(self) -> str: ...

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None: ...


@dataclass(frozen=True, slots=True)
class Chip:
    """A quick-reply option of an offer; a chip may offer a product tour."""

    id: str
    label: str
    user_tour_exists: bool = False
    user_tour_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "user_tour_exists": self.user_tour_exists,
            "user_tour_id": self.user_tour_id,
        }


@dataclass(frozen=True, slots=True)
class Offer:
    """What the copilot says when a trigger fires: the body and the quick-reply chips."""

    trigger_id: str
    body: str
    chips: tuple[Chip, ...] = field(default_factory=tuple)
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger_id": self.trigger_id,
            "body": self.body,
            "chips": [c.to_dict() for c in self.chips],
            "detail": self.detail,
        }
