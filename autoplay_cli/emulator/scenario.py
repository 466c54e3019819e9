"""Scenarios: which traffic the emulator serves — a built-in persona mix or a scripted file.

A scenario file (TOML or JSON, format in the README's ``emulate`` section and
``examples/scenario-*.toml``) lists exact sessions; it is read and checked
once, and every problem is an :class:`InputError` naming the file and field.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from autoplay_cli.emulator import traffic
from autoplay_cli.errors import InputError

BUILTIN = ("mixed", *traffic.PERSONAS)
_ACTION_KEYS = {"type", "raw_url", "canonical_url", "title", "description", "at", "duration"}

Source = Callable[[float], Iterator[dict[str, Any]]]


def source(scenario: str | None, *, product_id: str, seed: int, sessions: int | None) -> Source:
    """A factory of payload dicts in forwarding order, given the stream's start time."""
    name = scenario or "mixed"
    if name in BUILTIN:
        personas = None if name == "mixed" else (name,)

        def generated(start: float) -> Iterator[dict[str, Any]]:
            return traffic.iter_payloads(
                seed=seed, start=start, product_id=product_id, personas=personas, sessions=sessions
            )

        return generated
    path = Path(name)
    if not path.is_file():
        raise InputError(
            f"scenario {name!r} is neither a built-in name nor a file",
            hint=f"use one of {', '.join(BUILTIN)} or a path to a .toml/.json file",
        )
    spec = read_file(path)

    def scripted(start: float) -> Iterator[dict[str, Any]]:
        return iter(build(spec, path=path, product_id=product_id, seed=seed, start=start))

    # Build once now, so a bad file fails at start-up rather than at the first subscriber.
    build(spec, path=path, product_id=product_id, seed=seed, start=0.0)
    return scripted


def read_file(path: Path) -> dict[str, Any]:
    """The raw scenario document of a ``.toml`` or ``.json`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read scenario file {path}: {exc.strerror}") from exc
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise InputError(
            f"scenario file {path} is not valid "
            f"{'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}",
            hint="see examples/scenario-*.toml for the format",
        ) from exc
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("sessions"), list)
        or not doc["sessions"]
    ):
        raise InputError(
            f"scenario file {path} has no [[sessions]]",
            hint="list at least one session; see examples/scenario-*.toml",
        )
    return doc


def build(
    doc: dict[str, Any], *, path: Path, product_id: str, seed: int, start: float
) -> list[dict[str, Any]]:
    """Every payload dict of the scenario *doc*, sorted by ``forwarded_at``."""
    items: list[dict[str, Any]] = []
    for n, spec in enumerate(doc["sessions"]):
        where = f"{path}: sessions[{n}]"
        if not isinstance(spec, dict):
            raise InputError(f"{where} must be a table")
        offset = _number(spec.get("start", 0.0), f"{where}.start")
        if "batches" not in spec:
            persona = spec.get("persona", "confident")
            if persona not in traffic.PERSONAS:
                raise InputError(
                    f"{where}.persona is {persona!r}",
                    hint=f"choose from {', '.join(traffic.PERSONAS)}",
                )
            items.extend(
                traffic.iter_payloads(
                    seed=seed * 1_000 + n,
                    start=start + offset,
                    product_id=product_id,
                    personas=(persona,),
                    sessions=1,
                )
            )
            continue
        items.extend(_scripted_session(spec, where, product_id, start + offset, n))
    items.sort(key=lambda d: d["forwarded_at"])
    return items


def _scripted_session(
    spec: dict[str, Any], where: str, product_id: str, t0: float, n: int
) -> list[dict[str, Any]]:
    session_id = _opt_str(spec.get("session_id"), f"{where}.session_id") or f"sess_scripted_{n}"
    user_id = _opt_str(spec.get("user_id"), f"{where}.user_id")
    email = _opt_str(spec.get("email"), f"{where}.email")
    conversation_id = _opt_str(spec.get("conversation_id"), f"{where}.conversation_id")
    anonymous = int(_number(spec.get("anonymous_batches", 0), f"{where}.anonymous_batches"))
    batches = spec["batches"]
    if not isinstance(batches, list) or not batches:
        raise InputError(f"{where}.batches must be a non-empty list")
    out: list[dict[str, Any]] = []
    index = 0
    last_end = last_begin = t0
    forwarded = t0
    for b, batch in enumerate(batches):
        bwhere = f"{where}.batches[{b}]"
        if (
            not isinstance(batch, dict)
            or not isinstance(batch.get("actions"), list)
            or not batch["actions"]
        ):
            raise InputError(f"{bwhere} needs a non-empty 'actions' list")
        known = b >= anonymous
        ident = {
            "session_id": session_id if known else None,
            "user_id": user_id if known else None,
            "email": email if known else None,
        }
        actions = []
        for a, act in enumerate(batch["actions"]):
            awhere = f"{bwhere}.actions[{a}]"
            if not isinstance(act, dict):
                raise InputError(f"{awhere} must be a table")
            raw_url = act.get("raw_url")
            kind = act.get("type")
            if not isinstance(raw_url, str) or not isinstance(kind, str) or not kind:
                raise InputError(f"{awhere} needs 'type' and 'raw_url' strings")
            begin = t0 + _number(act.get("at", last_end - t0), f"{awhere}.at")
            if begin < last_begin:  # the session's timeline, and so its index, runs forward
                raise InputError(
                    f"{awhere}.at goes back in time ({begin - t0:g} s < {last_begin - t0:g} s)",
                    hint="list a session's actions in the order they happen",
                )
            last_begin = begin
            duration = _number(act.get("duration", 0.0), f"{awhere}.duration")
            if duration < 0:
                raise InputError(f"{awhere}.duration must be ≥ 0, got {duration:g}")
            end = begin + duration
            title = str(act.get("title", ""))
            actions.append(
                {
                    **{k: v for k, v in act.items() if k not in _ACTION_KEYS},
                    "index": index,
                    "type": kind.lower(),
                    "title": title,
                    "description": str(act.get("description") or f"{kind} {title}".strip()),
                    "timestamp_start": round(begin, 3),
                    "timestamp_end": round(end, 3),
                    "raw_url": raw_url,
                    "canonical_url": str(act.get("canonical_url") or traffic.canonicalize(raw_url)),
                    **ident,
                    **({"conversation_id": conversation_id} if conversation_id and known else {}),
                }
            )
            index += 1
            last_end = end
        delay = _number(batch.get("delay", 0.5), f"{bwhere}.delay")
        if delay < 0:
            raise InputError(f"{bwhere}.delay must be ≥ 0, got {delay:g}")
        # Forwarded in order whatever the delays: the stream keeps a session's indices in order.
        forwarded = max(round(actions[-1]["timestamp_end"] + delay, 3), round(forwarded + 0.001, 3))
        out.append(
            {
                "type": "actions",
                "product_id": product_id,
                **ident,
                "actions": actions,
                "count": len(actions),
                "forwarded_at": forwarded,
                "conversation_id": conversation_id if known else None,
            }
        )
    if spec.get("summary"):
        out.append(
            {
                "type": "summary",
                "product_id": product_id,
                "session_id": session_id,
                "summary": str(spec["summary"]),
                "replaces": index,
                "forwarded_at": round(out[-1]["forwarded_at"] + 1.0, 3),
            }
        )
    return out


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value):  # JSON's NaN and TOML's nan/inf would poison every timestamp
        raise InputError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _opt_str(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value or None
    raise InputError(f"{where} must be a string, got {value!r}")
