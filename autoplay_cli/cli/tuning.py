"""The garbage collector tuned for a command's hot loop, and restored when it ends.

Process-wide state, so it lives in the commands and never in the library.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

#: Allocations between two collections of the youngest generation while a command that
#: handles events one by one runs (CPython's default is 700): an event's short-lived
#: objects are then mostly freed by reference counting before any collection looks at
#: them, and the objects that do survive are walked far less often.
HOT_LOOP_YOUNG = 20_000


@contextlib.contextmanager
def quiet_collector(young: int | None = None) -> Iterator[None]:
    """Freeze what is alive now out of the collector's generations and, with *young*,
    collect the youngest generation every *young* allocations; both undone at exit.

    What is alive when a run starts (modules, loaded inputs, validators) stays alive to
    its end, yet every full collection would walk it again.
    """
    import gc

    threshold = gc.get_threshold()
    # Objects frozen by the caller before us stay frozen: unfreezing is all or nothing.
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    if young is not None:
        gc.set_threshold(young, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not frozen_before:
            gc.unfreeze()
