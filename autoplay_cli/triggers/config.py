"""Trigger configuration: which triggers are on, their parameters, timings, offers, tours.

Loaded from TOML or JSON (format in the README, example in
``examples/triggers.toml``), declared as msgspec Structs and read by the one loader
(:mod:`autoplay_cli.documents`): a mistake names the file, line and key path.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from autoplay_cli.documents import Document, KeyPath, read_document
from autoplay_cli.errors import InputError, UsageError
from autoplay_cli.triggers.base import (
    DEFAULT_OFFER_BODY,
    DEFAULT_TOUR_OFFER_BODY,
    ActionLike,
    Chip,
    Firing,
    Offer,
    Trigger,
)
from autoplay_cli.triggers.registry import TriggerRegistry, default_registry

DEFAULT_INTERACTION_TIMEOUT_S = 20.0
DEFAULT_COOLDOWN_PERIOD_S = 60.0
DEFAULT_WINDOW_ACTIONS = 20
OPERATORS = ("AND", "OR")
_TIMING_KEYS = ("interaction_timeout_s", "cooldown_period_s")


@dataclass(frozen=True, slots=True)
class Criterion:
    """A node of a criteria tree: a leaf (``type`` = a trigger id) or an AND/OR group."""

    id: str
    name: str
    type: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    operator: str | None = None
    conditions: tuple[Criterion, ...] = ()

    @property
    def is_group(self) -> bool:
        return self.operator is not None

    def leaf_types(self) -> Iterator[str]:
        if self.type is not None:
            yield self.type
        for child in self.conditions:
            yield from child.leaf_types()


@dataclass(frozen=True, slots=True)
class TourSpec:
    """A product tour as configured: its own timeout and cooldown override the defaults."""

    id: str
    provider_flow_id: str
    name: str = ""
    interaction_timeout_s: float | None = None
    cooldown_period_s: float | None = None


@dataclass(frozen=True, slots=True)
class TriggerEntry:
    """One configured trigger: a built-in with parameters, or a criteria tree over built-ins."""

    id: str
    name: str = ""
    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    interaction_timeout_s: float | None = None
    cooldown_period_s: float | None = None
    body: str | None = None
    chips: tuple[Chip, ...] = ()
    criteria: Criterion | None = None


@dataclass(frozen=True, slots=True)
class ConfiguredTrigger:
    """A ready-to-run trigger with its offer and timings resolved."""

    id: str
    evaluator: Trigger
    body: str
    chips: tuple[Chip, ...]
    interaction_timeout_s: float
    cooldown_period_s: float

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Offer | None:
        firing = self.evaluator.evaluate(actions, now)
        if firing is None:
            return None
        return Offer(self.id, self.body, self.chips, firing.detail)


@dataclass(frozen=True, slots=True)
class _CriteriaTrigger:
    """Evaluates a criteria tree; leaves are built-in triggers."""

    id: str
    root: Criterion
    leaves: Mapping[str, Trigger]

    def evaluate(self, actions: Sequence[ActionLike], now: float) -> Firing | None:
        details = self._eval(self.root, actions, now)
        return None if details is None else Firing(self.id, "; ".join(details))

    def _eval(self, node: Criterion, actions: Sequence[ActionLike], now: float) -> list[str] | None:
        if not node.is_group:
            firing = self.leaves[node.id].evaluate(actions, now)
            return None if firing is None else [f"{node.name or node.id}: {firing.detail}"]
        if node.operator == "AND":
            out: list[str] = []
            for child in node.conditions:
                got = self._eval(child, actions, now)
                if got is None:
                    return None
                out += got
            return out
        for child in node.conditions:
            got = self._eval(child, actions, now)
            if got is not None:
                return got
        return None


@dataclass(frozen=True)
class TriggerConfig:
    """The whole trigger configuration; immutable, overrides return a copy."""

    triggers: tuple[TriggerEntry, ...] = ()
    tours: tuple[TourSpec, ...] = ()
    interaction_timeout_s: float = DEFAULT_INTERACTION_TIMEOUT_S
    cooldown_period_s: float = DEFAULT_COOLDOWN_PERIOD_S
    window_actions: int = DEFAULT_WINDOW_ACTIONS
    body: str = DEFAULT_OFFER_BODY
    tour_body: str = DEFAULT_TOUR_OFFER_BODY
    source: str = "<defaults>"
    registry: TriggerRegistry = field(default_factory=default_registry, compare=False)

    def entry(self, trigger_id: str) -> TriggerEntry | None:
        return next((e for e in self.triggers if e.id == trigger_id), None)

    def all_entries(self) -> list[TriggerEntry]:
        """Configured entries in file order, then unconfigured built-ins (enabled)."""
        seen = {e.id for e in self.triggers}
        return [
            *self.triggers,
            *(TriggerEntry(spec.id) for spec in self.registry if spec.id not in seen),
        ]

    def with_overrides(
        self,
        *,
        interaction_timeout_s: float | None = None,
        cooldown_period_s: float | None = None,
        toggles: Mapping[str, bool] | None = None,
        sets: Sequence[tuple[str, str, str]] = (),
    ) -> TriggerConfig:
        """Apply command-line overrides; flags beat every value from files.

        ``--interaction-timeout``/``--cooldown`` replace the defaults and every
        per-trigger value (a running tour's own values still win, as in the FSM).
        """
        entries = {e.id: e for e in self.all_entries()}
        changes: dict[str, Any] = {}
        for key, value in (
            ("interaction_timeout_s", interaction_timeout_s),
            ("cooldown_period_s", cooldown_period_s),
        ):
            if value is not None:
                changes[key] = value
                reset: dict[str, Any] = {key: None}
                entries = {i: dataclasses.replace(e, **reset) for i, e in entries.items()}
        for trigger_id, on in (toggles or {}).items():
            entries[trigger_id] = dataclasses.replace(self._known(entries, trigger_id), enabled=on)
        for trigger_id, param, raw in sets:
            where = f"`sets` {trigger_id}.{param}"
            entry = self._known(entries, trigger_id)
            if param in _TIMING_KEYS:
                timing: dict[str, Any] = {param: _seconds_flag(raw, param, where=where)}
                entries[trigger_id] = dataclasses.replace(entry, **timing)
                continue
            spec = self.registry.get(trigger_id)
            if spec is None:
                raise UsageError(
                    f"{where}: {trigger_id} is a criteria trigger; only "
                    f"{' and '.join(_TIMING_KEYS)} can be set on it",
                    hint="set the parameters of its leaves' built-ins instead",
                )
            pspec = spec.param(param)
            if pspec is None:
                known = ", ".join([p.name for p in spec.params] + list(_TIMING_KEYS))
                raise UsageError(
                    f"{where}: {trigger_id} has no parameter {param!r}",
                    hint=f"known parameters: {known}",
                )
            try:
                value = pspec.coerce(raw, where=where)
            except InputError as exc:
                raise UsageError(exc.message, hint=exc.hint) from None
            entries[trigger_id] = dataclasses.replace(entry, params={**entry.params, param: value})
        return dataclasses.replace(self, triggers=tuple(entries.values()), **changes)

    def _known(self, entries: Mapping[str, TriggerEntry], trigger_id: str) -> TriggerEntry:
        if trigger_id not in entries:
            raise UsageError(
                f"unknown trigger {trigger_id!r}", hint=f"known triggers: {', '.join(entries)}"
            )
        return entries[trigger_id]

    def active(self) -> list[ConfiguredTrigger]:
        """The enabled triggers, in evaluation order, ready to run."""
        entries = self.all_entries()
        by_id = {e.id: e for e in entries}
        out = []
        for entry in entries:
            if not entry.enabled:
                continue
            evaluator: Trigger
            if entry.criteria is None:
                spec = self.registry.get(entry.id)
                assert spec is not None  # validated at load
                evaluator = spec.build(entry.params)
            else:
                leaves: dict[str, Trigger] = {}
                for leaf in _leaves(entry.criteria):
                    assert leaf.type is not None
                    spec = self.registry.get(leaf.type)
                    assert spec is not None
                    base = by_id[leaf.type].params if leaf.type in by_id else {}
                    leaves[leaf.id] = spec.build({**base, **leaf.params})
                evaluator = _CriteriaTrigger(entry.id, entry.criteria, leaves)
            has_tour = any(c.user_tour_exists for c in entry.chips)
            out.append(
                ConfiguredTrigger(
                    entry.id,
                    evaluator,
                    entry.body or (self.tour_body if has_tour else self.body),
                    entry.chips,
                    entry.interaction_timeout_s
                    if entry.interaction_timeout_s is not None
                    else self.interaction_timeout_s,
                    entry.cooldown_period_s
                    if entry.cooldown_period_s is not None
                    else self.cooldown_period_s,
                )
            )
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-ready view of the effective configuration (for ``--json`` headers)."""
        return {
            "source": self.source,
            "interaction_timeout_s": self.interaction_timeout_s,
            "cooldown_period_s": self.cooldown_period_s,
            "window_actions": self.window_actions,
            "triggers": [
                {
                    "id": t.id,
                    "body": t.body,
                    "chips": [c.to_dict() for c in t.chips],
                    "interaction_timeout_s": t.interaction_timeout_s,
                    "cooldown_period_s": t.cooldown_period_s,
                }
                for t in self.active()
            ],
            "tours": [dataclasses.asdict(t) for t in self.tours],
        }


def _leaves(node: Criterion) -> Iterator[Criterion]:
    if not node.is_group:
        yield node
    for child in node.conditions:
        yield from _leaves(child)


def _seconds_flag(raw: str, param: str, *, where: str) -> float:
    """A ``--set`` timing, checked against the type the file format declares for it."""
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{where}: {raw!r} is not a number of seconds") from None
    declared, description = _TIMING_TYPES[param]
    try:
        return float(msgspec.convert(value, declared))
    except msgspec.ValidationError:
        raise UsageError(f"{where}: expected {description}, got {raw}") from None


def parse_toggle(text: str) -> tuple[str, bool]:
    """Parse ``ID=on|off`` (as given to ``--trigger``)."""
    trigger_id, sep, state = text.partition("=")
    state = state.strip().lower()
    if not sep or not trigger_id.strip() or state not in ("on", "off"):
        raise UsageError(
            f"`toggles` {text!r}: expected ID=on or ID=off",
            setting="toggles",
            hint="e.g. `toggles` user_page_dwell=off",
        )
    return trigger_id.strip(), state == "on"


def parse_set(text: str) -> tuple[str, str, str]:
    """Parse ``TRIGGER.PARAM=VALUE`` (as given to ``--set``)."""
    target, sep, value = text.partition("=")
    trigger_id, dot, param = target.strip().rpartition(".")
    if not sep or not dot or not trigger_id or not param or not value.strip():
        raise UsageError(
            f"`sets` {text!r}: expected TRIGGER.PARAM=VALUE",
            setting="sets",
            hint="e.g. `sets` user_page_dwell.dwell_threshold_seconds=30",
        )
    return trigger_id, param, value.strip()


# --- loading -------------------------------------------------------------------------------

_MAX = sys.float_info.max
_SECONDS = "a finite number of seconds ≥ 0"
_TIMEOUT = "a finite number of seconds > 0"
Seconds = Annotated[float, Meta(ge=0, le=_MAX, description=_SECONDS)]
# The FSM needs an interaction timeout to leave PROACTIVE/REACTIVE, so it must be > 0.
Timeout = Annotated[float, Meta(gt=0, le=_MAX, description=_TIMEOUT)]
Text = Annotated[str, Meta(pattern=r"\S", description="a non-empty string")]
Operator = Annotated[str, Meta(pattern=r"(?i)^(and|or)\Z", description="AND or OR")]


class _TourDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Text
    provider_flow_id: Text | UnsetType = UNSET
    name: str = ""
    interaction_timeout_s: Timeout | UnsetType = UNSET
    cooldown_period_s: Seconds | UnsetType = UNSET


class _TopDoc(msgspec.Struct, forbid_unknown_fields=True):
    interaction_timeout_s: Timeout = DEFAULT_INTERACTION_TIMEOUT_S
    cooldown_period_s: Seconds = DEFAULT_COOLDOWN_PERIOD_S
    window_actions: Annotated[int, Meta(ge=3, description="a whole number ≥ 3")] = (
        DEFAULT_WINDOW_ACTIONS
    )
    body: Text = DEFAULT_OFFER_BODY
    tour_body: Text = DEFAULT_TOUR_OFFER_BODY
    # Each entry's keys depend on its trigger (its parameters): converted one by one.
    triggers: dict[str, Any] = {}
    tours: list[_TourDoc] = []


class _EntryDoc(msgspec.Struct, forbid_unknown_fields=True):
    """A trigger entry without its parameters (those are declared by the registry)."""

    enabled: bool = True
    name: str = ""
    interaction_timeout_s: Timeout | UnsetType = UNSET
    cooldown_period_s: Seconds | UnsetType = UNSET
    body: Text | UnsetType = UNSET
    chips: list[Any] = []
    criteria: Any = UNSET


class _ChipDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Text
    label: Text
    user_tour_exists: bool | UnsetType = UNSET
    user_tour_id: Text | None = None


class _GroupDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Text
    operator: Operator
    conditions: list[Any]
    name: str = ""


class _LeafDoc(msgspec.Struct, forbid_unknown_fields=True):
    id: Text
    type: Text | UnsetType = UNSET
    name: str = ""
    params: dict[str, Any] = {}


_ENTRY_KEYS = frozenset(f.name for f in msgspec.structs.fields(_EntryDoc))
_TIMING_TYPES: dict[str, tuple[Any, str]] = {
    "interaction_timeout_s": (Timeout, _TIMEOUT),
    "cooldown_period_s": (Seconds, _SECONDS),
}


def load_trigger_config(path: str | Path, registry: TriggerRegistry | None = None) -> TriggerConfig:
    """Read a TOML (``.toml``) or JSON (anything else) trigger configuration file."""
    doc = read_document(path, what="trigger config")
    return _build(doc, registry)


def config_from_dict(
    data: Any, *, source: str = "<config>", registry: TriggerRegistry | None = None
) -> TriggerConfig:
    """Validate a decoded configuration document and build a :class:`TriggerConfig`."""
    return _build(Document(data, source=source), registry)


def _build(doc: Document, registry: TriggerRegistry | None) -> TriggerConfig:
    registry = registry or default_registry()
    top = doc.load(_TopDoc)
    tours = tuple(
        TourSpec(
            t.id,
            t.id if t.provider_flow_id is UNSET else t.provider_flow_id,
            t.name,
            None if t.interaction_timeout_s is UNSET else t.interaction_timeout_s,
            None if t.cooldown_period_s is UNSET else t.cooldown_period_s,
        )
        for t in top.tours
    )
    tour_ids = [t.id for t in tours]
    for i, tid in enumerate(tour_ids):
        if tid in tour_ids[:i]:
            raise doc.error(("tours", i, "id"), f"duplicate tour id {tid!r}")
    entries = [
        _entry(doc, registry, trigger_id, body, set(tour_ids))
        for trigger_id, body in top.triggers.items()
    ]
    return TriggerConfig(
        triggers=tuple(entries),
        tours=tours,
        interaction_timeout_s=top.interaction_timeout_s,
        cooldown_period_s=top.cooldown_period_s,
        window_actions=top.window_actions,
        body=top.body,
        tour_body=top.tour_body,
        source=doc.source,
        registry=registry,
    )


def _entry(
    doc: Document, registry: TriggerRegistry, trigger_id: str, value: Any, tour_ids: set[str]
) -> TriggerEntry:
    path: KeyPath = ("triggers", trigger_id)
    spec = registry.get(trigger_id)
    raw_params: dict[str, Any] = {}
    if isinstance(value, Mapping):
        param_names = {p.name for p in spec.params} if spec else set()
        for key in value:
            if key not in _ENTRY_KEYS and key not in param_names:
                allowed = ", ".join(sorted(_ENTRY_KEYS | param_names))
                raise doc.error((*path, key), "unknown key", hint=f"allowed here: {allowed}")
        raw_params = {k: v for k, v in value.items() if k in param_names}
        value = {k: v for k, v in value.items() if k in _ENTRY_KEYS}
    e = doc.convert(value, _EntryDoc, path)
    if spec is None and e.criteria is UNSET:
        raise doc.error(
            path,
            f"{trigger_id!r} is not a built-in trigger and has no 'criteria'",
            hint=f"built-in triggers: {', '.join(registry.ids())}; a custom trigger "
            "needs a criteria tree over them",
        )
    if spec is not None and e.criteria is not UNSET:
        raise doc.error(
            (*path, "criteria"),
            "a built-in trigger cannot have criteria",
            hint="give the custom trigger its own id",
        )
    params: dict[str, Any] = {}
    if spec is not None:
        for p in spec.params:
            if p.name in raw_params:
                params[p.name] = p.coerce(raw_params[p.name], where=doc.where((*path, p.name)))
    chips = tuple(_chip(doc, c, (*path, "chips", i), tour_ids) for i, c in enumerate(e.chips))
    return TriggerEntry(
        trigger_id,
        name=e.name,
        enabled=e.enabled,
        params=params,
        interaction_timeout_s=None if e.interaction_timeout_s is UNSET else e.interaction_timeout_s,
        cooldown_period_s=None if e.cooldown_period_s is UNSET else e.cooldown_period_s,
        body=None if e.body is UNSET else e.body,
        chips=chips,
        criteria=(
            None
            if e.criteria is UNSET
            else _criterion(doc, registry, e.criteria, (*path, "criteria"), set())
        ),
    )


def _chip(doc: Document, value: Any, path: KeyPath, tour_ids: set[str]) -> Chip:
    c = doc.convert(value, _ChipDoc, path)
    if c.user_tour_id is not None and c.user_tour_id not in tour_ids:
        raise doc.error(
            (*path, "user_tour_id"),
            f"unknown tour {c.user_tour_id!r}",
            hint="declare it under [[tours]]",
        )
    exists = c.user_tour_id is not None if c.user_tour_exists is UNSET else c.user_tour_exists
    if exists and c.user_tour_id is None:
        raise doc.error(path, "user_tour_exists is true but no user_tour_id is given")
    return Chip(c.id, c.label, exists, c.user_tour_id)


def _criterion(
    doc: Document, registry: TriggerRegistry, value: Any, path: KeyPath, seen: set[str]
) -> Criterion:
    # A group has an operator and conditions; anything else is read as a leaf.
    group = isinstance(value, Mapping) and ("operator" in value or "conditions" in value)
    node = doc.convert(value, _GroupDoc, path) if group else doc.convert(value, _LeafDoc, path)
    if node.id in seen:
        raise doc.error((*path, "id"), f"duplicate criteria id {node.id!r}")
    seen.add(node.id)
    if isinstance(node, _GroupDoc):
        if not node.conditions:
            raise doc.error((*path, "conditions"), "a group needs at least one condition")
        children = tuple(
            _criterion(doc, registry, child, (*path, "conditions", i), seen)
            for i, child in enumerate(node.conditions)
        )
        return Criterion(node.id, node.name, operator=node.operator.upper(), conditions=children)
    if node.type is UNSET:
        raise doc.error(
            path,
            "a leaf needs a 'type' (a built-in trigger id); a group needs "
            "'operator' and 'conditions'",
        )
    spec = registry.get(node.type)
    if spec is None:
        raise doc.error(
            (*path, "type"),
            f"unknown trigger type {node.type!r}",
            hint=f"built-in triggers: {', '.join(registry.ids())}",
        )
    params: dict[str, Any] = {}
    for key, val in node.params.items():
        pspec = spec.param(key)
        if pspec is None:
            raise doc.error(
                (*path, "params", key),
                f"{node.type} has no such parameter",
                hint=f"parameters: {', '.join(p.name for p in spec.params)}",
            )
        params[key] = pspec.coerce(val, where=doc.where((*path, "params", key)))
    return Criterion(node.id, node.name, type=node.type, params=params)
