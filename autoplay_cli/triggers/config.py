"""Trigger configuration: which triggers are on, their parameters, timings, offers, tours.

Loaded from TOML or JSON (format in the README, example in
``examples/triggers.toml``). Every mistake is an :class:`InputError` naming the
file and the key path (or line) and what is expected there.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
# Keys every trigger entry accepts besides its parameters.
_ENTRY_KEYS = frozenset(
    {"enabled", "name", "interaction_timeout_s", "cooldown_period_s", "body", "chips", "criteria"}
)
_TOP_KEYS = frozenset(
    {
        "interaction_timeout_s",
        "cooldown_period_s",
        "window_actions",
        "body",
        "tour_body",
        "triggers",
        "tours",
    }
)
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
            where = f"--set {trigger_id}.{param}"
            entry = self._known(entries, trigger_id)
            if param in _TIMING_KEYS:
                timing: dict[str, Any] = {param: _number(raw, where=where)}
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


def _number(raw: str, *, where: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{where}: {raw!r} is not a number of seconds") from None
    positive = where.endswith("interaction_timeout_s")
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise UsageError(
            f"{where}: must be a finite number {'>' if positive else '≥'} 0, got {raw}"
        )
    return value


def parse_toggle(text: str) -> tuple[str, bool]:
    """Parse ``ID=on|off`` (as given to ``--trigger``)."""
    trigger_id, sep, state = text.partition("=")
    state = state.strip().lower()
    if not sep or not trigger_id.strip() or state not in ("on", "off"):
        raise UsageError(
            f"--trigger {text!r}: expected ID=on or ID=off",
            hint="e.g. --trigger user_page_dwell=off",
        )
    return trigger_id.strip(), state == "on"


def parse_set(text: str) -> tuple[str, str, str]:
    """Parse ``TRIGGER.PARAM=VALUE`` (as given to ``--set``)."""
    target, sep, value = text.partition("=")
    trigger_id, dot, param = target.strip().rpartition(".")
    if not sep or not dot or not trigger_id or not param or not value.strip():
        raise UsageError(
            f"--set {text!r}: expected TRIGGER.PARAM=VALUE",
            hint="e.g. --set user_page_dwell.dwell_threshold_seconds=30",
        )
    return trigger_id, param, value.strip()


# --- loading -------------------------------------------------------------------------------


def load_trigger_config(path: str | Path, registry: TriggerRegistry | None = None) -> TriggerConfig:
    """Read a TOML (``.toml``) or JSON (anything else) trigger configuration file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"trigger config {p} does not exist", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read trigger config {p}: {exc}") from exc
    data: Any
    if p.suffix.lower() == ".toml":
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{p}:{_toml_location(str(exc))}", hint="fix the TOML syntax") from exc
        except RecursionError:
            raise InputError(f"{p}: nested too deeply to read") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{p}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})",
                hint="fix the JSON syntax, or use a .toml file",
            ) from exc
        except RecursionError:
            raise InputError(f"{p}: nested too deeply to read") from None
    return config_from_dict(data, source=str(p), registry=registry)


def _toml_location(message: str) -> str:
    match = re.search(r"\(at line (\d+), column (\d+)\)", message)
    if match is None:
        return f" {message}"
    reason = message[: match.start()].strip()
    return f"{match.group(1)}:{match.group(2)}: {reason}"


class _Reader:
    """Validation helpers that prefix errors with the file and key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str, hint: str | None = None) -> InputError:
        return InputError(f"{self.source}: {where}: {message}", hint=hint)

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a table/object, got {_kind(value)}")
        return value

    def string(self, value: Any, where: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.fail(where, f"expected a non-empty string, got {_kind(value)}")
        return value

    def boolean(self, value: Any, where: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(where, f"expected true or false, got {_kind(value)}")
        return value

    def seconds(self, value: Any, where: str) -> float:
        """Seconds ≥ 0, finite; an interaction timeout must be > 0 (the FSM needs one)."""
        positive = where.endswith("interaction_timeout_s")
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0 or (positive and value == 0):
            bound = "> 0" if positive else "≥ 0"
            raise self.fail(where, f"expected a number of seconds {bound}, got {_kind(value)}")
        return float(value)

    def unknown(
        self, data: Mapping[str, Any], allowed: set[str] | frozenset[str], where: str
    ) -> None:
        extra = sorted(set(data) - set(allowed))
        if extra:
            raise self.fail(
                f"{where}{extra[0]}" if where else extra[0],
                "unknown key",
                hint=f"allowed here: {', '.join(sorted(allowed))}",
            )


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool | int | float):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def config_from_dict(
    data: Any, *, source: str = "<config>", registry: TriggerRegistry | None = None
) -> TriggerConfig:
    """Validate a decoded configuration document and build a :class:`TriggerConfig`."""
    registry = registry or default_registry()
    r = _Reader(source)
    top = r.table(data, "top level")
    r.unknown(top, _TOP_KEYS, "")
    kwargs: dict[str, Any] = {}
    for key in _TIMING_KEYS:
        if key in top:
            kwargs[key] = r.seconds(top[key], key)
    if "window_actions" in top:
        w = top["window_actions"]
        if isinstance(w, bool) or not isinstance(w, int) or w < 3:
            raise r.fail("window_actions", f"expected a whole number ≥ 3, got {_kind(w)}")
        kwargs["window_actions"] = w
    for key in ("body", "tour_body"):
        if key in top:
            kwargs[key] = r.string(top[key], key)

    tours = tuple(
        _tour(r, t, f"tours[{i}]") for i, t in enumerate(_list(r, top.get("tours", []), "tours"))
    )
    tour_ids = [t.id for t in tours]
    for i, tid in enumerate(tour_ids):
        if tid in tour_ids[:i]:
            raise r.fail(f"tours[{i}].id", f"duplicate tour id {tid!r}")

    entries = []
    triggers = r.table(top.get("triggers", {}), "triggers")
    for trigger_id, body in triggers.items():
        entries.append(_entry(r, registry, trigger_id, body, set(tour_ids)))
    return TriggerConfig(
        triggers=tuple(entries), tours=tours, source=source, registry=registry, **kwargs
    )


def _list(r: _Reader, value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise r.fail(where, f"expected a list, got {_kind(value)}")
    return value


def _tour(r: _Reader, value: Any, where: str) -> TourSpec:
    t = r.table(value, where)
    r.unknown(
        t,
        {"id", "provider_flow_id", "name", "interaction_timeout_s", "cooldown_period_s"},
        f"{where}.",
    )
    if "id" not in t:
        raise r.fail(where, "missing 'id'")
    tid = r.string(t["id"], f"{where}.id")
    return TourSpec(
        tid,
        r.string(t.get("provider_flow_id", tid), f"{where}.provider_flow_id"),
        r.string(t.get("name", ""), f"{where}.name", empty=True),
        *(r.seconds(t[k], f"{where}.{k}") if k in t else None for k in _TIMING_KEYS),
    )


def _entry(
    r: _Reader, registry: TriggerRegistry, trigger_id: str, value: Any, tour_ids: set[str]
) -> TriggerEntry:
    where = f"triggers.{trigger_id}"
    t = r.table(value, where)
    spec = registry.get(trigger_id)
    param_names = {p.name for p in spec.params} if spec else set()
    r.unknown(t, _ENTRY_KEYS | param_names, f"{where}.")
    if spec is None and "criteria" not in t:
        raise r.fail(
            where,
            f"{trigger_id!r} is not a built-in trigger and has no 'criteria'",
            hint=f"built-in triggers: {', '.join(registry.ids())}; a custom trigger "
            "needs a criteria tree over them",
        )
    if spec is not None and "criteria" in t:
        raise r.fail(
            f"{where}.criteria",
            "a built-in trigger cannot have criteria",
            hint="give the custom trigger its own id",
        )
    params: dict[str, Any] = {}
    if spec is not None:
        for p in spec.params:
            if p.name in t:
                params[p.name] = p.coerce(t[p.name], where=f"{r.source}: {where}.{p.name}")
    chips = tuple(
        _chip(r, c, f"{where}.chips[{i}]", tour_ids)
        for i, c in enumerate(_list(r, t.get("chips", []), f"{where}.chips"))
    )
    return TriggerEntry(
        trigger_id,
        name=r.string(t.get("name", ""), f"{where}.name", empty=True),
        enabled=r.boolean(t.get("enabled", True), f"{where}.enabled"),
        params=params,
        interaction_timeout_s=(
            r.seconds(t["interaction_timeout_s"], f"{where}.interaction_timeout_s")
            if "interaction_timeout_s" in t
            else None
        ),
        cooldown_period_s=(
            r.seconds(t["cooldown_period_s"], f"{where}.cooldown_period_s")
            if "cooldown_period_s" in t
            else None
        ),
        body=r.string(t["body"], f"{where}.body") if "body" in t else None,
        chips=chips,
        criteria=(
            _criterion(r, registry, t["criteria"], f"{where}.criteria", set())
            if "criteria" in t
            else None
        ),
    )


def _chip(r: _Reader, value: Any, where: str, tour_ids: set[str]) -> Chip:
    c = r.table(value, where)
    r.unknown(c, {"id", "label", "user_tour_exists", "user_tour_id"}, f"{where}.")
    for key in ("id", "label"):
        if key not in c:
            raise r.fail(where, f"missing {key!r}")
    tour_id = c.get("user_tour_id")
    if tour_id is not None:
        tour_id = r.string(tour_id, f"{where}.user_tour_id")
        if tour_id not in tour_ids:
            raise r.fail(
                f"{where}.user_tour_id",
                f"unknown tour {tour_id!r}",
                hint="declare it under [[tours]]",
            )
    exists = r.boolean(c.get("user_tour_exists", tour_id is not None), f"{where}.user_tour_exists")
    if exists and tour_id is None:
        raise r.fail(where, "user_tour_exists is true but no user_tour_id is given")
    return Chip(
        r.string(c["id"], f"{where}.id"), r.string(c["label"], f"{where}.label"), exists, tour_id
    )


def _criterion(
    r: _Reader, registry: TriggerRegistry, value: Any, where: str, seen: set[str]
) -> Criterion:
    c = r.table(value, where)
    if "id" not in c:
        raise r.fail(where, "missing 'id'")
    cid = r.string(c["id"], f"{where}.id")
    if cid in seen:
        raise r.fail(f"{where}.id", f"duplicate criteria id {cid!r}")
    seen.add(cid)
    name = r.string(c.get("name", ""), f"{where}.name", empty=True)
    if "operator" in c or "conditions" in c:
        r.unknown(c, {"id", "name", "operator", "conditions"}, f"{where}.")
        op = c.get("operator")
        if not isinstance(op, str) or op.upper() not in OPERATORS:
            raise r.fail(f"{where}.operator", f"expected AND or OR, got {_kind(op)}")
        conditions = _list(r, c.get("conditions"), f"{where}.conditions")
        if not conditions:
            raise r.fail(f"{where}.conditions", "a group needs at least one condition")
        children = tuple(
            _criterion(r, registry, child, f"{where}.conditions[{i}]", seen)
            for i, child in enumerate(conditions)
        )
        return Criterion(cid, name, operator=op.upper(), conditions=children)
    r.unknown(c, {"id", "name", "type", "params"}, f"{where}.")
    if "type" not in c:
        raise r.fail(
            where,
            "a leaf needs a 'type' (a built-in trigger id); a group needs "
            "'operator' and 'conditions'",
        )
    ctype = r.string(c["type"], f"{where}.type")
    spec = registry.get(ctype)
    if spec is None:
        raise r.fail(
            f"{where}.type",
            f"unknown trigger type {ctype!r}",
            hint=f"built-in triggers: {', '.join(registry.ids())}",
        )
    raw = r.table(c.get("params", {}), f"{where}.params")
    params: dict[str, Any] = {}
    for key, val in raw.items():
        pspec = spec.param(key)
        if pspec is None:
            raise r.fail(
                f"{where}.params.{key}",
                f"{ctype} has no such parameter",
                hint=f"parameters: {', '.join(p.name for p in spec.params)}",
            )
        params[key] = pspec.coerce(val, where=f"{r.source}: {where}.params.{key}")
    return Criterion(cid, name, type=ctype, params=params)
