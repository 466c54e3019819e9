"""A local emulator of the Autoplay connector: SSE stream, ``/products``, a fake Unkey.

The face is the names in ``__all__``: ``EmulatorOptions``, ``serve`` (foreground, for
``autoplay emulate``), ``run_in_thread`` (a ``with`` block, for tests) and the
``EmulatorHandle`` they give, plus ``generate_sessions`` / ``interleave`` (the synthetic
traffic, pure). Every name loads on first use, so ``import autoplay_cli.emulator`` stays
light; Starlette and uvicorn come with ``serve`` and ``run_in_thread``. The other modules
(``app``, ``fake_unkey``, ``stream``, ``scenario``, …) are internals.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autoplay_cli.emulator.options import EmulatorOptions
    from autoplay_cli.emulator.server import EmulatorHandle, run_in_thread, serve
    from autoplay_cli.emulator.traffic import SyntheticSession, generate_sessions, interleave

__all__ = [
    "EmulatorHandle",
    "EmulatorOptions",
    "SyntheticSession",
    "generate_sessions",
    "interleave",
    "run_in_thread",
    "serve",
]

# Which module defines each public name; imported on first access (PEP 562).
_LAZY = {
    "EmulatorOptions": "autoplay_cli.emulator.options",
    "EmulatorHandle": "autoplay_cli.emulator.server",
    "run_in_thread": "autoplay_cli.emulator.server",
    "serve": "autoplay_cli.emulator.server",
    "SyntheticSession": "autoplay_cli.emulator.traffic",
    "generate_sessions": "autoplay_cli.emulator.traffic",
    "interleave": "autoplay_cli.emulator.traffic",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
