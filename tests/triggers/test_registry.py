"""The trigger catalog is data: defaults, parameter checks, and the docs are driven by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoplay_cli.errors import InputError
from autoplay_cli.triggers import (
    BUILTIN_TRIGGERS,
    CanonicalUrlPingPong,
    ParamSpec,
    TriggerRegistry,
    UserPageDwell,
    default_registry,
)

FORMATS = (Path(__file__).resolve().parents[2] / "docs" / "formats.md").read_text(encoding="utf-8")


def test_builtin_ids_and_defaults_follow_the_wire_spec() -> None:
    registry = default_registry()
    assert registry.ids() == ["canonical_url_ping_pong", "user_page_dwell"]
    assert registry.get("canonical_url_ping_pong").build({}) == CanonicalUrlPingPong(1)
    assert registry.get("user_page_dwell").build({}) == UserPageDwell(60.0, 5)


@pytest.mark.parametrize("spec", BUILTIN_TRIGGERS, ids=lambda s: s.id)
def test_every_builtin_and_parameter_is_documented(spec: object) -> None:
    section = FORMATS.split("## Trigger configuration", 1)[1].split("\n## ", 1)[0]
    assert f"`{spec.id}`" in section  # type: ignore[attr-defined]
    for param in spec.params:  # type: ignore[attr-defined]
        assert f"`{param.name}`" in section


def test_param_coercion() -> None:
    spec = ParamSpec("n", int, 1, 1, "count")
    assert spec.coerce("3", where="x") == 3
    assert spec.coerce(2.0, where="x") == 2
    for bad, message in (
        ("x", "not a valid int"),
        (0, "must be ≥ 1"),
        (2.5, "whole number"),
        (True, "expected a int"),
    ):
        with pytest.raises(InputError, match=message):
            spec.coerce(bad, where="x")


@pytest.mark.parametrize("bad", ["nan", "inf", float("nan"), float("-inf")])
def test_param_coercion_refuses_non_finite_numbers(bad: object) -> None:
    spec = ParamSpec("seconds", float, 60.0, 0.0, "duration")
    with pytest.raises(InputError, match="finite"):
        spec.coerce(bad, where="x")


def test_registry_refuses_duplicate_ids() -> None:
    registry = TriggerRegistry(BUILTIN_TRIGGERS)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(BUILTIN_TRIGGERS[0])
    assert "user_page_dwell" in registry and "nope" not in registry
