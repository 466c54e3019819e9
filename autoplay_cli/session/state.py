"""The per-session conversation state machine: THINKING, PROACTIVE, REACTIVE.

Rules (docs/wire.md §5): a proactive offer needs THINKING and no cooldown; opening the
chat is never blocked; leaving PROACTIVE/REACTIVE happens only by interaction timeout.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

from autoplay_cli.documents import FINITE, Document
from autoplay_cli.errors import AutoplayError, InputError, SnapshotError
from autoplay_cli.session.linking import ConversationEventType

if TYPE_CHECKING:
    from autoplay_cli.session.linking import ConversationLink
    from autoplay_cli.session.tours import TourDefinition, TourRegistry

log = logging.getLogger(__name__)

Clock = Callable[[], float]

DEFAULT_INTERACTION_TIMEOUT_S = 20.0
DEFAULT_COOLDOWN_PERIOD_S = 60.0
SNAPSHOT_VERSION = 1
# The ``_v`` of the snapshots autoplay-sdk 0.7.x writes (its only version).
SDK_SNAPSHOT_VERSION = 1

_MAX = sys.float_info.max

REASON_OK = "ok"
REASON_COOLDOWN = "v2_cooldown_active"
REASON_STATE_PREFIX = "v2_state_"


class AgentState(StrEnum):
    """Who may speak: the copilot waits (THINKING), offered help, or the user is chatting."""

    THINKING = "thinking"
    PROACTIVE = "proactive_assistance"
    REACTIVE = "reactive_assistance"


class InvalidTransitionError(AutoplayError, ValueError, RuntimeError):
    """A transition the state machine never allows (e.g. PROACTIVE -> REACTIVE).

    Subclasses :class:`ValueError`, as the SDK's error does, so ``except
    ValueError`` in ported code still catches it; and :class:`RuntimeError`,
    as earlier releases of this toolkit did.
    """

    def __init__(
        self,
        message: str,
        *,
        current: AgentState | None = None,
        target: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.current = current
        self.target = target


def _require_session_id(session_id: object) -> str:
    if not isinstance(session_id, str) or not session_id.strip():
        raise InputError(
            f"session_id must be a non-empty string, got {session_id!r}",
            hint="pass the session id from the actions payload, "
            "or use a session store's get_or_create(session_id)",
        )
    return session_id


def _require_period(name: str, value: object, *, allow_zero: bool = False) -> float:
    if type(value) is float and (0.0 < value <= _MAX or (allow_zero and value == 0.0)):
        return value  # the usual case, without the general checks below
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


_Finite = Annotated[float, FINITE]


class Snapshot(msgspec.Struct):
    """A session snapshot as :meth:`SessionState.to_dict` writes it (``version`` 1).

    Keys this toolkit does not know are ignored, so a newer writer's additions
    do not make a snapshot unreadable.
    """

    version: int
    session_id: Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]
    metadata: Annotated[dict[str, Any], Meta(description="an object")]
    current_state: AgentState
    state_entered_at: _Finite
    last_interaction_at: _Finite
    interaction_timeout_s: Annotated[
        float, Meta(gt=0, le=_MAX, description="a finite number of seconds > 0")
    ]
    cooldown_period_s: Annotated[
        float, Meta(ge=0, le=_MAX, description="a finite number of seconds ≥ 0")
    ]
    cooldown_until: _Finite | None
    active_cooldown_period_s: _Finite | None
    visual_guidance_active: bool
    active_tour_id: str | None
    conversation_linked: bool
    conversation_id: str | None
    last_trigger_id: str | None


_SNAPSHOT_DECODER = msgspec.json.Decoder(Snapshot)


class SessionState:
    """The conversation state of one user session, with an injected clock.

    Every timestamp kept (and persisted) is epoch seconds read from ``clock``,
    so a snapshot written by one process keeps correct timeouts and cooldowns
    when read by another, or after a restart.

    As in the SDK, only THINKING accepts a transition: ``transition_to_proactive``
    and ``transition_to_reactive`` raise :class:`InvalidTransitionError` in
    PROACTIVE or REACTIVE; ``transition_to_proactive`` returns ``False`` (and
    changes nothing) only when a cooldown blocks it.
    """

    __slots__ = (
        "_clock",
        "_store_revision",
        "active_cooldown_period_s",
        "active_tour_id",
        "conversation_id",
        "conversation_linked",
        "cooldown_period_s",
        "cooldown_until",
        "current_state",
        "interaction_timeout_s",
        "last_interaction_at",
        "last_trigger_id",
        "metadata",
        "session_id",
        "state_entered_at",
        "visual_guidance_active",
    )

    def __init__(
        self,
        session_id: str,
        metadata: Mapping[str, Any] | None = None,
        *,
        interaction_timeout_s: float = DEFAULT_INTERACTION_TIMEOUT_S,
        cooldown_period_s: float = DEFAULT_COOLDOWN_PERIOD_S,
        clock: Clock | None = None,
    ) -> None:
        self.session_id: str = (
            session_id
            if type(session_id) is str and session_id and not session_id[0].isspace()
            else _require_session_id(session_id)
        )
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InputError(f"metadata must be a mapping, got {type(metadata).__name__}")
        self.metadata: dict[str, Any] = {} if metadata is None else dict(metadata)
        self.interaction_timeout_s: float = _require_period(
            "interaction_timeout_s", interaction_timeout_s
        )
        self.cooldown_period_s: float = _require_period(
            "cooldown_period_s", cooldown_period_s, allow_zero=True
        )
        self._clock: Clock = clock or time.time
        # The store revision this object was read at (set by session stores; not persisted).
        self._store_revision: int | str | None = None
        now = self._clock()
        self.current_state: AgentState = AgentState.THINKING
        self.state_entered_at: float = now
        # Epoch seconds of the last interaction (or of entering PROACTIVE/REACTIVE).
        self.last_interaction_at: float = now
        # Absolute end of the cooldown: meaningful in any process, unlike a duration.
        self.cooldown_until: float | None = None
        self.active_cooldown_period_s: float | None = None
        self.visual_guidance_active: bool = False
        self.active_tour_id: str | None = None
        self.conversation_linked: bool = False
        self.conversation_id: str | None = None
        self.last_trigger_id: str | None = None

    # -- clock ---------------------------------------------------------------

    @property
    def clock(self) -> Clock:
        """The zero-argument callable returning epoch seconds (not persisted)."""
        return self._clock

    @clock.setter
    def clock(self, clock: Clock | None) -> None:
        self._clock = clock or time.time

    def now(self) -> float:
        t = self._clock()
        return t if type(t) is float else float(t)

    # -- derived -------------------------------------------------------------

    @property
    def cooldown_active(self) -> bool:
        return self.cooldown_until is not None and self.now() < self.cooldown_until

    @property
    def cooldown_remaining_s(self) -> float:
        """Seconds until the cooldown ends (0.0 when none is active)."""
        if self.cooldown_until is None:
            return 0.0
        return max(0.0, self.cooldown_until - self.now())

    def effective_timeouts(self, tour_registry: TourRegistry | None = None) -> tuple[float, float]:
        """``(interaction_timeout_s, cooldown_period_s)``: the running tour's, else the session's.

        The running tour is the registry's entry for ``active_tour_id`` (looked
        up as a provider flow id first, as the SDK does, then as a tour id);
        a tour without timings of its own has the SDK's tour defaults (20 s, 120 s).
        """
        tour = self._active_tour(tour_registry)
        if tour is not None:
            return tour.timings()
        return self.interaction_timeout_s, self.cooldown_period_s

    def _active_tour(self, tour_registry: TourRegistry | None) -> TourDefinition | None:
        if tour_registry is None or self.active_tour_id is None:
            return None
        return tour_registry.resolve(self.active_tour_id)

    # -- interactions --------------------------------------------------------

    def _touch(self) -> None:
        self.last_interaction_at = self.now()

    def record_user_interaction(self) -> None:
        """The user sent a chat message: resets the interaction timer."""
        self._touch()

    def record_option_click(self) -> None:
        """The user clicked a quick-reply option: resets the interaction timer."""
        self._touch()

    def record_reaction(self) -> None:
        """The user reacted to a message: resets the interaction timer."""
        self._touch()

    def record_tour_step(self) -> None:
        """The user advanced a tour: resets the interaction timer."""
        self._touch()

    # -- transitions ---------------------------------------------------------

    def _enter(self, target: AgentState, why: str) -> None:
        previous = self.current_state
        now = self.now()
        self.current_state = target
        self.state_entered_at = now
        self.last_interaction_at = now
        # The members themselves: a StrEnum formats as its value, without a lookup per call.
        log.info("session %s: %s -> %s (%s)", self.session_id, previous, target, why)

    def transition_to_proactive(self, trigger_id: str) -> bool:
        """THINKING -> PROACTIVE when a trigger fires; ``False`` (no change) during a cooldown.

        From PROACTIVE or REACTIVE it raises :class:`InvalidTransitionError`, as
        the SDK does: an offer is already running, or the user is chatting, and
        both leave only by interaction timeout (docs/wire.md §5). On success
        ``last_trigger_id`` records *trigger_id*.
        """
        if self.current_state is not AgentState.THINKING:
            raise self._not_from_here(
                AgentState.PROACTIVE,
                hint="check can_deliver_proactive() first; the session "
                "returns to thinking by interaction timeout",
            )
        if self.cooldown_active:
            return False
        self.last_trigger_id = str(trigger_id)
        self._enter(AgentState.PROACTIVE, f"trigger {trigger_id}")
        return True

    def transition_to_reactive(self) -> None:
        """The user opened the chat: THINKING -> REACTIVE, never blocked by cooldown.

        Clears any cooldown. From PROACTIVE or REACTIVE it raises
        :class:`InvalidTransitionError`, as the SDK does: record the user's
        messages with :meth:`record_user_interaction` instead.
        """
        if self.current_state is not AgentState.THINKING:
            raise self._not_from_here(
                AgentState.REACTIVE,
                hint="record the user's message with record_user_interaction(); "
                "the session returns to thinking by interaction timeout",
            )
        self.cooldown_until = None
        self.active_cooldown_period_s = None
        self._enter(AgentState.REACTIVE, "chat opened")

    def _not_from_here(self, target: AgentState, *, hint: str) -> InvalidTransitionError:
        """The error for a transition out of PROACTIVE/REACTIVE (only a timeout leaves them)."""
        how = "directly" if target is not self.current_state else "again (it is already there)"
        return InvalidTransitionError(
            f"session {self.session_id}: cannot go from {self.current_state.value} to "
            f"{target.value} {how}",
            current=self.current_state,
            target=target.value,
            hint=hint,
        )

    def tick(self, tour_registry: TourRegistry | None = None) -> bool:
        """Apply the interaction timeout; ``True`` when the session returned to THINKING.

        The timeout (and the cooldown started on return) come from the active
        tour in *tour_registry* when it defines them, else the session's own.
        Returning clears visual guidance and the active tour. The timeout fires
        when the time since the last interaction is strictly greater than the
        timeout (as in the SDK): exactly at the timeout the session stays.
        """
        if self.current_state is AgentState.THINKING:
            return False
        timeout, cooldown = self.effective_timeouts(tour_registry)
        if not self.now() - self.last_interaction_at > timeout:
            return False
        self.visual_guidance_active = False
        self.active_tour_id = None
        self._enter(AgentState.THINKING, f"no interaction for {timeout:g} s")
        self.start_cooldown(cooldown)
        return True

    def set_visual_guidance(self, active: bool, tour_id: str | None = None) -> None:
        """Start (``active=True``, optionally naming the tour) or stop a tour overlay.

        Only in PROACTIVE or REACTIVE: in THINKING, starting or stopping raises
        :class:`InvalidTransitionError`, as in the SDK. Starting a tour resets the
        interaction timer. *tour_id* is the tour's provider flow id (or its
        registry id).
        """
        if self.current_state is AgentState.THINKING:
            raise InvalidTransitionError(
                f"session {self.session_id}: visual guidance can only change in "
                "proactive_assistance or reactive_assistance, not in thinking",
                current=self.current_state,
                target="visual_guidance",
                hint="offer help (transition_to_proactive) or open the chat first",
            )
        self.visual_guidance_active = bool(active)
        if active:
            self.active_tour_id = tour_id
            self._touch()
        else:
            self.active_tour_id = None

    def start_cooldown(self, period_s: float | None = None) -> None:
        """Block proactive offers for *period_s* seconds (default: the session's period)."""
        period = (
            self.cooldown_period_s
            if period_s is None
            else _require_period("period_s", period_s, allow_zero=True)
        )
        self.cooldown_until = self.now() + period
        self.active_cooldown_period_s = period

    def can_deliver_proactive(self) -> tuple[bool, str]:
        """``(True, "ok")`` only in THINKING without a cooldown; call :meth:`tick` first.

        Otherwise ``(False, "v2_state_<state>")`` or ``(False, "v2_cooldown_active")``.
        """
        if self.current_state is not AgentState.THINKING:
            return False, REASON_STATE_PREFIX + str(self.current_state)
        if self.cooldown_active:
            return False, REASON_COOLDOWN
        return True, REASON_OK

    # -- linking -------------------------------------------------------------

    def on_conversation_linked(self, link: ConversationLink) -> bool:
        """Apply a conversation link; ``True`` when ``conversation_id`` changed.

        NEW always overwrites; REPLY_EXISTING only links a session not yet linked.
        """
        if link.session_id and link.session_id != self.session_id:
            raise InputError(
                f"link for session {link.session_id!r} applied to session {self.session_id!r}",
                hint="apply a link only to the state of the session it names",
            )
        if link.event is ConversationEventType.REPLY_EXISTING and self.conversation_linked:
            return False
        changed = self.conversation_id != link.conversation_id or not self.conversation_linked
        self.conversation_id = link.conversation_id
        self.conversation_linked = True
        if changed:
            log.info(
                "session %s: linked to conversation %s (%s)",
                self.session_id,
                link.conversation_id,
                link.event.value,
            )
        return changed

    # -- snapshots -----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready snapshot (schema ``version`` 1); the clock is not part of it."""
        return {
            "version": SNAPSHOT_VERSION,
            "session_id": self.session_id,
            "metadata": dict(self.metadata),
            "current_state": self.current_state.value,
            "state_entered_at": self.state_entered_at,
            "last_interaction_at": self.last_interaction_at,
            "interaction_timeout_s": self.interaction_timeout_s,
            "cooldown_period_s": self.cooldown_period_s,
            "cooldown_until": self.cooldown_until,
            "active_cooldown_period_s": self.active_cooldown_period_s,
            "visual_guidance_active": self.visual_guidance_active,
            "active_tour_id": self.active_tour_id,
            "conversation_linked": self.conversation_linked,
            "conversation_id": self.conversation_id,
            "last_trigger_id": self.last_trigger_id,
        }

    @classmethod
    def from_dict(cls, data: Any, *, clock: Clock | None = None) -> SessionState:
        """Rebuild a state from :meth:`to_dict` output, or from an SDK snapshot.

        Our snapshots (``"version": 1``) are read strictly: an unknown version
        or invalid content raises :class:`~autoplay_cli.errors.SnapshotError`,
        never a half-read state.

        A snapshot written by ``autoplay-sdk`` 0.7.x (``SessionState.to_dict()``
        there, recognised by its ``"_v": 1``) is read as that SDK reads it:
        what is missing or invalid takes the SDK's default. Its timestamps are
        ``time.monotonic()`` readings of the process that wrote it, meaningless
        in any other process or after a restart, so they are treated as
        unknown and the timers restart from now (``clock()``): the interaction
        timer of a PROACTIVE/REACTIVE session, and a cooldown that was running
        (for its full period). State, metadata, timings, tour, guidance and the
        conversation link are kept; ``last_trigger_id`` is unknown (None).
        """
        if not isinstance(data, Mapping):
            raise SnapshotError(f"session snapshot must be an object, got {type(data).__name__}")
        if is_sdk_snapshot(data):
            return cls._from_sdk(data, clock)
        version = data.get("version")
        if version != SNAPSHOT_VERSION or isinstance(version, bool):
            raise SnapshotError(
                f"unsupported session snapshot version {version!r} "
                f"(this toolkit reads version {SNAPSHOT_VERSION})",
                hint="upgrade autoplay, or delete the stored session so it is recreated",
            )
        sid = data.get("session_id")
        where = f"session snapshot {sid!r}" if isinstance(sid, str) else "session snapshot"
        doc = Document(data, source=where, error_class=SnapshotError)
        return cls._from_snapshot(doc.load(Snapshot), clock, where)

    @classmethod
    def try_from_json(cls, raw: str | bytes, *, clock: Clock | None = None) -> SessionState | None:
        """Our own JSON snapshot decoded straight into its declared type; else ``None``.

        The fast path for stores: ``None`` (the SDK's layout, another version, a
        mistake, not JSON) tells the caller to read the data with :meth:`from_dict`,
        which reads the SDK's layout and names any mistake.
        """
        try:
            snap = _SNAPSHOT_DECODER.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            return None
        if snap.version != SNAPSHOT_VERSION:
            return None
        return cls._from_snapshot(snap, clock, f"session snapshot {snap.session_id!r}")

    @classmethod
    def _from_snapshot(cls, snap: Snapshot, clock: Clock | None, where: str) -> SessionState:
        if snap.conversation_linked and not snap.conversation_id:
            raise SnapshotError(
                f"{where}: conversation_linked is true but conversation_id is empty"
            )
        if snap.current_state is AgentState.THINKING and snap.visual_guidance_active:
            raise SnapshotError(f"{where}: visual guidance is active in thinking")
        # Every field was checked by the declared type, so __init__'s checks are skipped.
        state = cls.__new__(cls)
        state._clock = clock or time.time
        state._store_revision = None
        state.session_id = snap.session_id
        state.metadata = snap.metadata
        state.interaction_timeout_s = snap.interaction_timeout_s
        state.cooldown_period_s = snap.cooldown_period_s
        state.current_state = snap.current_state
        state.state_entered_at = snap.state_entered_at
        state.last_interaction_at = snap.last_interaction_at
        state.cooldown_until = snap.cooldown_until
        state.active_cooldown_period_s = snap.active_cooldown_period_s
        state.visual_guidance_active = snap.visual_guidance_active
        state.active_tour_id = snap.active_tour_id
        state.conversation_linked = snap.conversation_linked
        state.conversation_id = snap.conversation_id
        state.last_trigger_id = snap.last_trigger_id
        return state

    @classmethod
    def _from_sdk(cls, data: Mapping[str, Any], clock: Clock | None) -> SessionState:
        if data.get("_v") != SDK_SNAPSHOT_VERSION or isinstance(data.get("_v"), bool):
            raise SnapshotError(
                f"unsupported autoplay-sdk session snapshot version {data.get('_v')!r} "
                f"(this toolkit reads the SDK's version {SDK_SNAPSHOT_VERSION})",
                hint="delete the stored session so it is recreated",
            )
        sid = data.get("session_id")
        if not isinstance(sid, str) or not sid.strip():
            raise SnapshotError(
                f"autoplay-sdk session snapshot has no session_id (got {sid!r})",
                hint="a session store fills it in from the key; pass it in the data otherwise",
            )
        metadata = data.get("metadata")
        state = cls(
            sid,
            metadata if isinstance(metadata, Mapping) else None,
            interaction_timeout_s=_sdk_period(
                data.get("interaction_timeout_s"), DEFAULT_INTERACTION_TIMEOUT_S, zero=False
            ),
            cooldown_period_s=_sdk_period(
                data.get("cooldown_period_s"), DEFAULT_COOLDOWN_PERIOD_S, zero=True
            ),
            clock=clock,
        )
        raw_state = data.get("current_state")
        try:
            state.current_state = AgentState(raw_state if isinstance(raw_state, str) else "")
        except ValueError:
            log.warning(
                "session %s: autoplay-sdk snapshot has current_state %r; read as thinking "
                "(as the SDK does)",
                sid,
                raw_state,
            )
        # Timers restart from now: __init__ already set state_entered_at and
        # last_interaction_at to clock(); the SDK's monotonic stamps are not used.
        tour = data.get("active_tour_id")
        if state.current_state is not AgentState.THINKING:
            state.visual_guidance_active = data.get("visual_guidance_active") is True
            state.active_tour_id = tour if isinstance(tour, str) and tour else None
        cid = data.get("conversation_id")
        if data.get("conversation_linked") is True and isinstance(cid, str) and cid:
            state.conversation_linked, state.conversation_id = True, cid
        elif isinstance(cid, str) and cid:
            state.conversation_id = cid  # the SDK keeps an unlinked id too
        thinking = data.get("thinking")
        if (
            state.current_state is AgentState.THINKING
            and isinstance(thinking, Mapping)
            and thinking.get("cooldown_active") is True
        ):
            override = thinking.get("active_cooldown_period_s")
            period = _sdk_period(override, state.cooldown_period_s, zero=True)
            state.start_cooldown(period)
            if override is None:
                state.active_cooldown_period_s = period
        return state

    def copy(self) -> SessionState:
        """An independent copy sharing the same clock."""
        return SessionState.from_dict(self.to_dict(), clock=self._clock)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SessionState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable: compared by value, not hashable

    def __repr__(self) -> str:
        return (
            f"SessionState(session_id={self.session_id!r}, "
            f"current_state={self.current_state.value!r}, "
            f"cooldown_active={self.cooldown_active}, "
            f"conversation_id={self.conversation_id!r})"
        )


def is_sdk_snapshot(data: Any) -> bool:
    """True for a snapshot written by ``autoplay-sdk`` 0.7.x (``"_v"``, no ``"version"``)."""
    return isinstance(data, Mapping) and "_v" in data and "version" not in data


def _sdk_period(value: Any, default: float, *, zero: bool) -> float:
    """An SDK timing, or *default* where the SDK's value would not be valid here."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not zero):
        return default
    return float(value)
