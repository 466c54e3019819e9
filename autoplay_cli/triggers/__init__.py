"""Built-in proactive triggers, their configuration (TOML/JSON), and the trigger registry.

No CLI imports; ``autoplay simulate`` and integrators' workers share this code.
The face is ``__all__``; the modules behind it are internals.
"""

from autoplay_cli.triggers.base import (
    DEFAULT_OFFER_BODY,
    DEFAULT_TOUR_OFFER_BODY,
    ActionLike,
    Chip,
    Firing,
    Offer,
    Trigger,
)
from autoplay_cli.triggers.builtin import (
    DWELL_ID,
    PING_PONG_ID,
    CanonicalUrlPingPong,
    Dwell,
    UserPageDwell,
    ping_pong_cycles,
    trailing_dwell,
)
from autoplay_cli.triggers.config import (
    ConfiguredTrigger,
    Criterion,
    TourSpec,
    TriggerConfig,
    TriggerEntry,
    config_from_dict,
    load_trigger_config,
    parse_set,
    parse_toggle,
)
from autoplay_cli.triggers.registry import (
    BUILTIN_TRIGGERS,
    ParamSpec,
    TriggerRegistry,
    TriggerSpec,
    default_registry,
)
from autoplay_cli.triggers.window import ActionWindow

__all__ = [
    "BUILTIN_TRIGGERS",
    "DEFAULT_OFFER_BODY",
    "DEFAULT_TOUR_OFFER_BODY",
    "DWELL_ID",
    "PING_PONG_ID",
    "ActionLike",
    "ActionWindow",
    "CanonicalUrlPingPong",
    "Chip",
    "ConfiguredTrigger",
    "Criterion",
    "Dwell",
    "Firing",
    "Offer",
    "ParamSpec",
    "TourSpec",
    "Trigger",
    "TriggerConfig",
    "TriggerEntry",
    "TriggerRegistry",
    "TriggerSpec",
    "UserPageDwell",
    "config_from_dict",
    "default_registry",
    "load_trigger_config",
    "parse_set",
    "parse_toggle",
    "ping_pong_cycles",
    "trailing_dwell",
]
