"""Payload models of the activity stream, and the one parser every consumer uses.

Parsing is tolerant: missing or null fields fall back to empty/zero defaults,
unknown fields are kept and re-emitted, and :func:`parse_event` never raises:
it classifies each frame as a payload, a heartbeat, a gap notice, an unknown
type or a malformed frame. Well-formed frames take one pydantic-core call (JSON
parsing and validation in Rust); only the others take the tolerant Python path.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from types import GenericAlias
from typing import (
    Annotated,
    Any,
    Literal,
    Protocol,
    cast,
    get_args,
    get_origin,
)

import msgspec
from pydantic import (
    BaseModel,
    ConfigDict,
    GetCoreSchemaHandler,
    Strict,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import PydanticSerializationError

from autoplay_cli.errors import InputError

log = logging.getLogger(__name__)

HEARTBEAT_EVENT = "heartbeat"
GAP_EVENT = "gap"
#: The largest ``missed`` count a gap frame may report (2**53 - 1, the largest
#: integer every JSON producer spells exactly); more, or a negative one, is malformed.
MAX_MISSED = 2**53 - 1
PAYLOAD_TYPES = ("actions", "summary")


# The union members' tags, which pydantic puts into error locations; error messages
# leave them out (see _validation_reason).
_VALUE_TAG = "<value>"
_NULL_TAG = "<null>"


class NullIsDefault:
    """``Annotated`` marker: a JSON ``null`` validates to the field's default.

    Connectors send ``null`` for optional fields. The check lives in the field's core
    schema (a union of the field's type and a null turned into the default), so JSON
    frames with nulls still take one Rust call; only the null itself reaches Python.
    """

    __slots__ = ("_default",)

    def __init__(self, default: Callable[[], Any]) -> None:
        self._default = default

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        from pydantic_core import core_schema

        inner = handler(source)
        make = self._default
        null = core_schema.no_info_after_validator_function(
            lambda _: make(), core_schema.none_schema()
        )
        # Serialised as the field's own type (a value is never null once validated): a
        # union serialiser would try each member per value, five times slower.
        kind = inner.get("type")
        return core_schema.union_schema(
            [(inner, _VALUE_TAG), (null, _NULL_TAG)],
            mode="left_to_right",
            serialization=core_schema.simple_ser_schema(kind)
            if kind in ("str", "int", "float")
            else None,
        )


_NullStr = Annotated[str, NullIsDefault(str)]
_NullInt = Annotated[int, NullIsDefault(int)]
_NullFloat = Annotated[float, NullIsDefault(float)]


class _WireModel(BaseModel):
    """Base: unknown fields allowed and preserved; nulls become the field default."""

    model_config = ConfigDict(extra="allow", validate_assignment=False)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict, unknown fields included."""
        return self.model_dump(mode="json")


class SlimAction(_WireModel):
    """One UI action of a session."""

    index: _NullInt = 0
    type: Annotated[str, StringConstraints(to_lower=True), NullIsDefault(str)] = ""
    title: _NullStr = ""
    description: _NullStr = ""
    timestamp_start: _NullFloat = 0.0
    timestamp_end: _NullFloat = 0.0
    raw_url: _NullStr = ""
    canonical_url: _NullStr = ""
    session_id: str | None = None
    user_id: str | None = None
    email: str | None = None
    conversation_id: str | None = None


class ActionsPayload(_WireModel):
    """A batch of UI actions for one session.

    ``count`` is advisory: :func:`parse_event` and :func:`parse_payload` correct one
    that is not the integer number of actions (a string, a float, missing) and report
    a warning; a falsy ``actions`` (``null``, ``0``, ``""``) is an empty batch.
    """

    type: Literal["actions"] = "actions"
    product_id: _NullStr = ""
    session_id: str | None = None
    user_id: str | None = None
    email: str | None = None
    actions: Annotated[list[SlimAction], NullIsDefault(list)] = []
    # Strict: a "3" or 3.0 is not taken as a count here; the parsers correct it first.
    count: Annotated[int, Strict(), NullIsDefault(int)] = 0
    forwarded_at: _NullFloat = 0.0
    conversation_id: str | None = None

    @model_validator(mode="after")
    def _reconcile_count(self, info: ValidationInfo) -> ActionsPayload:
        if self.count != len(self.actions):
            if info.context is _FAST:
                # parse_event's one-call path: let the tolerant path warn and correct.
                raise ValueError("count does not match the number of actions")
            if "count" in self.model_fields_set:
                log.warning(
                    "actions payload for session %s says count=%d but carries %d actions; using %d",
                    self.session_id,
                    self.count,
                    len(self.actions),
                    len(self.actions),
                )
            self.count = len(self.actions)
        return self

    def to_text(self) -> str:
        """One header line, then ``[index] type: description — canonical_url`` per action."""
        n = len(self.actions)
        lines = [f"Session {self.session_id or 'unknown'} — {n} action{'s' * (n != 1)}"]
        lines += [
            f"[{a.index}] {a.type}: {a.description} — {a.canonical_url}" for a in self.actions
        ]
        return "\n".join(lines)

    @classmethod
    def merge(cls, payloads: Iterable[ActionsPayload]) -> ActionsPayload:
        """Concatenate batches of one session into one.

        Actions are re-indexed from 0, identity fields take the first non-null
        value, ``forwarded_at`` the latest; unknown fields come from the first
        batch. An empty input is an :class:`InputError`.
        """
        batches: Sequence[ActionsPayload] = list(payloads)
        if not batches:
            raise InputError(
                "cannot merge an empty list of actions payloads", hint="pass at least one payload"
            )

        def first(attr: str) -> Any:
            return next((getattr(b, attr) for b in batches if getattr(b, attr)), None)

        actions = [
            a.model_copy(update={"index": i})
            for i, a in enumerate(a for b in batches for a in b.actions)
        ]
        return batches[0].model_copy(
            update={
                "product_id": first("product_id") or "",
                "session_id": first("session_id"),
                "user_id": first("user_id"),
                "email": first("email"),
                "conversation_id": first("conversation_id"),
                "actions": actions,
                "count": len(actions),
                "forwarded_at": max(b.forwarded_at for b in batches),
            }
        )


class SummaryPayload(_WireModel):
    """Prose that condenses a number of a session's earlier actions."""

    type: Literal["summary"] = "summary"
    product_id: _NullStr = ""
    session_id: str | None = None
    summary: _NullStr = ""
    replaces: _NullInt = 0
    forwarded_at: _NullFloat = 0.0

    def to_text(self) -> str:
        """The summary text alone, as the SDK's ``to_text`` returns it."""
        return self.summary


Payload = ActionsPayload | SummaryPayload


def payload_text(payload: Payload) -> str:
    """A payload's text under a header naming its session (``tail --text``, notes).

    :meth:`ActionsPayload.to_text` has its header already; a summary's ``to_text`` is
    its prose alone (as in the SDK), so the header is added here.
    """
    if isinstance(payload, SummaryPayload):
        return f"{_summary_header(payload.session_id, payload.replaces)}\n{payload.to_text()}"
    return payload.to_text()


def _summary_header(session_id: str | None, replaces: int | None) -> str:
    n = replaces or 0
    return f"Session {session_id or 'unknown'} — summary of {n} action{'s' * (n != 1)}"


_FAST: dict[str, bool] = {"fast": True}  # validation context of parse_event's one-call path
_fast_validate_json: Any = None


def warm_up() -> None:
    """Build :func:`parse_event`'s one-call validator now rather than on the first frame."""
    _payload_validator()


def _payload_validator() -> Any:
    """``validate_json`` of the discriminated payload union, built on first use."""
    global _fast_validate_json
    if _fast_validate_json is None:
        from pydantic import Field, TypeAdapter

        adapter: TypeAdapter[Payload] = TypeAdapter(
            Annotated[ActionsPayload | SummaryPayload, Field(discriminator="type")]
        )
        # The core validator's own method: TypeAdapter.validate_json adds a Python frame.
        _fast_validate_json = adapter.validator.validate_json
    return _fast_validate_json


class ActionView(Protocol):
    """What filters read of one action (a :class:`SlimAction` or its fast twin)."""

    @property
    def user_id(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def canonical_url(self) -> str: ...


class PayloadView(Protocol):
    """What filters and counters read of a payload: the model, or its cheap fast twin."""

    @property
    def type(self) -> str: ...
    @property
    def session_id(self) -> str | None: ...


class ActionsView(PayloadView, Protocol):
    @property
    def user_id(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def actions(self) -> Sequence[ActionView]: ...


def _fast_twin(model: type[_WireModel], nested: dict[type, Any] | None = None) -> Any:
    """A msgspec Struct with *model*'s fields and defaults; a ``Literal`` type field is the tag.

    msgspec's types are stricter than the models' (no strings for numbers), so what the
    twin accepts the models accept too (tests/test_wire.py checks it): a frame it passes
    is valid without building the models, and the frame's own text is what
    --json/--record/--forward-to emit. What it refuses goes to the models. A null the
    models turn into a default is read as ``None`` by the twin, except in the fields the
    views promise a type for: those in ``_VIEW_DEFAULTED`` are stored under another
    attribute and read through a property that gives the default for a null, and a null
    in ``_VIEW_TYPED`` is left to the models. Unknown fields are ignored by the twin and
    kept in the frame's text.
    """
    nested = nested or {}
    fields: list[tuple[str, Any, Any]] = []
    rename: dict[str, str] = {}
    namespace: dict[str, Any] = {}
    tag = None
    for name, info in model.model_fields.items():
        if get_origin(info.annotation) is Literal:
            tag = get_args(info.annotation)[0]
            continue
        default = info.get_default()
        if isinstance(default, list):
            default = msgspec.field(default_factory=list)
        annotation: Any = info.annotation
        if get_origin(annotation) is list and get_args(annotation)[0] in nested:
            # A list of a nested model: a list of its twin.
            annotation = GenericAlias(list, (nested[get_args(annotation)[0]],))
        if name not in _VIEW_TYPED and any(isinstance(m, NullIsDefault) for m in info.metadata):
            # The models take null for the default: the twin lets it through as None.
            annotation = annotation | None
            if name in _VIEW_DEFAULTED:
                # Read through a property that turns None into the default: the view
                # keeps its promised type and the frame stays on the fast path.
                rename[name + "_"] = name
                namespace[name] = _defaulted(name + "_", default)
                name += "_"
        fields.append((name, annotation, default))
    if tag:
        namespace["type"] = tag  # read like the model's `type`
    return msgspec.defstruct(
        f"Fast{model.__name__}",
        fields,
        gc=False,  # no cycles: the collector need not track them
        tag_field="type" if tag else None,
        tag=tag,
        rename=rename or None,
        namespace=namespace or None,
    )


def _defaulted(attribute: str, default: Any) -> property:
    """A read-only property: *attribute*'s value, or *default* when it is ``None``."""
    read = attrgetter(attribute)

    def get(self: Any) -> Any:
        value = read(self)
        return default if value is None else value

    return property(get)


# Fields the views promise to filters and triggers as their declared type. A null in one
# of _VIEW_DEFAULTED reads as the models' default (connectors send a null canonical_url
# for pages they could not canonicalise); a null `actions` (rare) is left to the models,
# which turn it into an empty batch and may correct the count.
_VIEW_DEFAULTED = frozenset({"canonical_url"})
_VIEW_TYPED = frozenset({"actions"})

_FastAction = _fast_twin(SlimAction)
_FastActions = _fast_twin(ActionsPayload, {SlimAction: _FastAction})
_FastSummary = _fast_twin(SummaryPayload)

#: The fast views' type, for readers that decode a payload inside their own msgspec
#: struct (a recording's envelope); such a view must also pass :func:`count_is_right`.
FAST_VIEW_TYPE: Any = _FastActions | _FastSummary
_fast_decode = msgspec.json.Decoder(FAST_VIEW_TYPE).decode
_strict_json = msgspec.json.Decoder().decode
# ValidationError is a DecodeError; a str with lone surrogates cannot even be encoded.
_FAST_ERRORS = (msgspec.DecodeError, RecursionError, UnicodeEncodeError)


class PayloadEvent:
    """A frame carrying an ``actions`` or ``summary`` payload.

    ``view`` holds what filters and counters need; ``raw`` is the frame's data when
    it can stand verbatim for the payload (strict JSON on one line), else ``None``.
    ``payload``, the validated model, is built on first use: ``tail --json`` never
    needs it. :attr:`json` is the payload's JSON text either way. ``received_at``
    is the unix time of the network read that brought the frame (0.0 when unknown).
    """

    __slots__ = ("_payload", "_warnings", "event", "id", "raw", "received_at", "view")

    def __init__(
        self,
        payload: Payload | None = None,
        id: str | None = None,
        event: str = "message",
        warnings: tuple[str, ...] = (),
        *,
        view: PayloadView | None = None,
        raw: str | None = None,
        received_at: float = 0.0,
    ) -> None:
        if payload is None and (view is None or raw is None):
            raise TypeError("PayloadEvent needs a payload, or a view and its raw JSON")
        self._payload = payload
        self._warnings = warnings
        self.view: PayloadView = view if view is not None else cast(Payload, payload)
        self.raw = raw
        self.id = id
        self.event = event
        self.received_at = received_at

    @property
    def payload(self) -> Payload:
        if self._payload is None:
            assert self.raw is not None
            self._payload, self._warnings = _model_of(self.raw, self.view)
        return self._payload

    @property
    def warnings(self) -> tuple[str, ...]:
        """What was corrected in the payload (a frame taken by the fast path has nothing)."""
        return self._warnings

    @property
    def type(self) -> Literal["actions", "summary"]:
        return cast(Literal["actions", "summary"], self.view.type)

    @property
    def json(self) -> str:
        """The payload as one line of JSON: the frame's own text when it can be."""
        return self.raw if self.raw is not None else payload_json(self.payload)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PayloadEvent) or type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()

    def _key(self) -> tuple[Any, ...]:
        return (self.payload, self.id, self.event, self.received_at)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PayloadEvent(type={self.type!r}, id={self.id!r}, event={self.event!r})"


def payload_json(payload: Payload) -> str:
    """A model's JSON text (compact, unknown fields kept)."""
    try:
        return payload.model_dump_json()
    except PydanticSerializationError:
        # A string with a lone surrogate (from a "\\ud800" escape): JSON can still spell it.
        return json.dumps(payload.to_wire(), separators=(",", ":"))


def _verbatim(data: str | bytes) -> str | None:
    """*data* (as text) when it can stand for the payload in NDJSON: strict JSON, one line."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if "\n" in data:
        return None
    try:
        _strict_json(data)
    except _FAST_ERRORS:
        # msgspec also refuses an escaped lone surrogate ("\\ud800"), which JSON's grammar
        # allows; NaN/Infinity (json.loads takes them) and raw surrogates cannot stand.
        try:
            data.encode()
            json.loads(data, parse_constant=refuse_json_constant)
        except (ValueError, RecursionError):
            return None
    return data


def refuse_json_constant(name: str) -> Any:
    """A ``json.loads`` ``parse_constant`` hook: NaN and Infinity are not JSON."""
    raise ValueError(f"{name} is not JSON")


def event_text(event: PayloadEvent) -> str:
    """:func:`payload_text` of the event's payload, read off the fast view when no model
    is built yet (``tail --text`` needs no model: the view has every field it shows)."""
    if event._payload is not None or event.raw is None:
        return payload_text(event.payload)
    view: Any = event.view
    session = view.session_id or "unknown"
    if view.type == "summary":
        return f"{_summary_header(view.session_id, view.replaces)}\n{view.summary or ''}"
    n = len(view.actions)
    lines = [f"Session {session} — {n} action{'s' * (n != 1)}"]
    lines += [
        # `or` turns the nulls the view keeps into the models' defaults.
        f"[{a.index or 0}] {(a.type or '').lower()}: {a.description or ''} — {a.canonical_url}"
        for a in view.actions
    ]
    return "\n".join(lines)


def _model_of(raw: str, view: PayloadView) -> tuple[Payload, tuple[str, ...]]:
    """The model of a payload the fast schema accepted (the lazy half of parse_event)."""
    try:
        # The frame is strict JSON the twin accepted with a right count: one Rust call.
        payload = (_fast_validate_json or _payload_validator())(raw, context=_FAST)
    except (ValidationError, RecursionError):
        pass
    else:
        return cast(Payload, payload), ()
    event = _parse_with_models(view.type, raw, None)
    if isinstance(event, PayloadEvent):
        return event.payload, event.warnings
    # Out of the models' reach though valid (e.g. nested deeper than json.loads goes):
    # build it from the fields the fast schema read; unknown fields are left out.
    return parse_payload(msgspec.to_builtins(view)), ()


@dataclass(frozen=True, slots=True)
class HeartbeatEvent:
    """A keep-alive frame; carries nothing."""

    id: str | None = None
    event: str = HEARTBEAT_EVENT


@dataclass(frozen=True, slots=True)
class GapEvent:
    """The server could not resume from ``requested_id``: events were lost.

    Sent by ``autoplay emulate`` (and any connector that supports it) as
    ``event: gap`` with ``{"type": "gap", "requested_id", "oldest_id", "missed"}``.
    """

    requested_id: str | None
    oldest_id: str | None
    missed: int | None
    id: str | None = None
    event: str = GAP_EVENT


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    """Well-formed JSON of a type this toolkit does not know; counted, not fatal."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    event: str = "message"


@dataclass(frozen=True, slots=True)
class MalformedEvent:
    """A frame whose data is not a valid payload; counted, not fatal."""

    reason: str
    raw: str = ""
    id: str | None = None
    event: str = "message"


ParsedEvent = PayloadEvent | HeartbeatEvent | GapEvent | UnknownEvent | MalformedEvent


def _validation_reason(exc: ValidationError) -> str:
    errors = exc.errors()
    # A field that takes null also fails as "not null": that alternative says nothing.
    err = next((e for e in errors if _NULL_TAG not in e.get("loc", ())), errors[0])
    where = ".".join(str(p) for p in err.get("loc", ()) if p != _VALUE_TAG) or "payload"
    return f"{where}: {err.get('msg', 'invalid')}"


def parse_payload(data: Any) -> Payload:
    """Validate an already-decoded payload dict; raises :class:`InputError` when invalid."""
    if not isinstance(data, dict):
        raise InputError(f"payload must be a JSON object, got {type(data).__name__}")
    kind = data.get("type")
    model: type[ActionsPayload] | type[SummaryPayload]
    if kind == "actions":
        model = ActionsPayload
    elif kind == "summary":
        model = SummaryPayload
    else:
        raise InputError(f"unknown payload type {kind!r}", hint="expected 'actions' or 'summary'")
    if model is ActionsPayload:
        data, warnings = _corrected_batch(data)
        for warning in warnings:
            log.warning("actions payload for session %s: %s", data.get("session_id"), warning)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"invalid {kind} payload: {_validation_reason(exc)}") from exc


def parse_event(
    event_name: str | None,
    data: str | bytes | None,
    event_id: str | None = None,
    received_at: float = 0.0,
) -> ParsedEvent:
    """Classify one SSE frame (event name, data buffer, id) without raising.

    A payload event is stamped with *received_at* (unix seconds of its arrival).
    """
    name = event_name or "message"
    if name == HEARTBEAT_EVENT:
        return HeartbeatEvent(id=event_id)
    if data and name != GAP_EVENT:
        # The common case: one msgspec call checks every known field's type and
        # builds a light view; no model is built until somebody asks for one.
        try:
            view = _fast_decode(data)
        except _FAST_ERRORS:
            pass
        else:
            # A miscounted batch (count missing, null or wrong) goes to the models,
            # which correct it and say so: a fast frame never carries a warning.
            if (
                type(data) is str
                and "\n" not in data
                and (type(view) is not _FastActions or view.count == len(view.actions))
            ):
                # PayloadEvent(None, event_id, name, view=view, raw=data, received_at=...)
                # without the keyword handling: this runs for every frame of a stream.
                fast = _new(PayloadEvent)
                fast._payload, fast._warnings = None, ()
                fast.view, fast.raw, fast.id = view, data, event_id
                fast.event, fast.received_at = name, received_at
                return fast
    event = _parse_with_models(name, data, event_id)
    if type(event) is PayloadEvent:
        event.received_at = received_at
    return event


_new = object.__new__


def count_is_right(view: PayloadView) -> bool:
    """Whether a fast view's batch says its own size (else the models correct it and warn)."""
    return type(view) is not _FastActions or view.count == len(view.actions)  # type: ignore[attr-defined]


def _parse_with_models(name: str, data: str | bytes | None, event_id: str | None) -> ParsedEvent:
    """The models' verdict on a frame: lax types, nulls, miscounted batches, the rest."""
    if data and name != GAP_EVENT:
        # One Rust call: JSON parsing, validation, the payload models built. Anything
        # it refuses (nulls to default, a miscounted batch, gaps, unknown types, bad
        # JSON) is classified by the tolerant path.
        try:
            payload = (_fast_validate_json or _payload_validator())(data, context=_FAST)
        except ValidationError:
            pass
        else:
            return PayloadEvent(payload, event_id, name, raw=_verbatim(data))
    return _classify(name, data, event_id)


def _classify(name: str, data: str | bytes | None, event_id: str | None) -> ParsedEvent:
    """The tolerant path of :func:`parse_event` (json.loads, classification, null stripping)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return MalformedEvent("data is not UTF-8", repr(data[:200]), event_id, name)
    if not data:
        return MalformedEvent("empty data", "", event_id, name)
    try:
        obj = json.loads(data)
    except json.JSONDecodeError as exc:
        return MalformedEvent(
            f"data is not JSON ({exc.msg} at char {exc.pos})", data, event_id, name
        )
    except RecursionError:
        return MalformedEvent("data is nested too deeply", data[:200], event_id, name)
    if not isinstance(obj, dict):
        return MalformedEvent(
            f"data is a JSON {type(obj).__name__}, not an object", data, event_id, name
        )
    kind = obj.get("type")
    if name == GAP_EVENT or kind == GAP_EVENT:
        missed = obj.get("missed")
        if missed is not None and (type(missed) is not int or not 0 <= missed <= MAX_MISSED):
            # Summed into the run's tally, such a count would make it meaningless.
            return MalformedEvent(
                f"gap frame with an invalid missed count ({json.dumps(missed)[:40]}); "
                f"expected a whole number from 0 to {MAX_MISSED}",
                data,
                event_id,
                name,
            )
        return GapEvent(
            requested_id=_opt_str(obj.get("requested_id")),
            oldest_id=_opt_str(obj.get("oldest_id")),
            missed=missed,
            id=event_id,
        )
    if kind not in PAYLOAD_TYPES:
        return UnknownEvent(str(kind), obj, event_id, name)
    warnings: tuple[str, ...] = ()
    if kind == "actions":
        obj, warnings = _corrected_batch(obj)
    try:
        model = ActionsPayload if kind == "actions" else SummaryPayload
        payload = model.model_validate(obj)
    except ValidationError as exc:
        return MalformedEvent(
            f"invalid {kind} payload: {_validation_reason(exc)}", data, event_id, name
        )
    return PayloadEvent(payload, event_id, name, warnings, raw=_verbatim(data))


def _corrected_batch(obj: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """An actions payload with its advisory parts made right, and what was corrected.

    A falsy ``actions`` (``null``, ``0``, ``""``, ``false``) is an empty batch; any other
    non-list is left for validation to refuse. ``count`` becomes the number of actions;
    a count that was anything else (a string, a float, a wrong number, or missing or
    null on a batch that has actions) is reported.
    """
    actions = obj.get("actions")
    if not isinstance(actions, list):
        if actions:
            return obj, ()  # unreadable: the model refuses it
        actions = []
        obj = {**obj, "actions": actions}
    count, n = obj.get("count"), len(actions)
    if count is None and not n:
        warnings: tuple[str, ...] = ()  # the default is already right
    elif count is None:
        warnings = (
            f"count {'is null' if 'count' in obj else 'missing'} but {n} actions; count corrected",
        )
    elif type(count) is not int or count != n:
        warnings = (f"count={json.dumps(count)} but {n} actions; count corrected",)
    else:
        return obj, ()
    return {**obj, "count": n}, warnings


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
