"""Library setting names as each command spells them: where errors get their flags.

Library errors name a setting as the parameter or field that holds it, in
backticks (`pulse_s`). A command renders those names as the flags it declares,
read from its own options, so a hint can never name a flag the command lacks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from autoplay_cli.errors import respell

#: Library names whose command-line parameter is named otherwise (library name ->
#: parameter of the command). Every other name is looked up as it is.
ALIASES: dict[str, str] = {
    # simulate: the runner's options hold seconds, the flags take them too
    "pulse_s": "pulse",
    "interaction_timeout_s": "interaction_timeout",
    "cooldown_period_s": "cooldown",
    "toggles": "trigger",
    "sets": "set_",
    # emulate: one flag sets both the heartbeat and the keep-alive period
    "heartbeat_s": "heartbeat",
    "keepalive_s": "heartbeat",
    # install-skills
    "chatbots": "chatbot",
    "activities": "user_activity",
}

#: The root group's options, which every command's errors may name.
ROOT: dict[str, str] = {"debug": "--debug"}

Speller = Callable[[str], "str | None"]


def declared(command: Any) -> dict[str, str]:
    """Parameter name -> long flag, for every option of *command* and its subcommands."""
    flags: dict[str, str] = {}
    for param in getattr(command, "params", ()):
        longs = [opt for opt in getattr(param, "opts", ()) if opt.startswith("--")]
        if param.name and longs:
            flags.setdefault(param.name, max(longs, key=len))
    for sub in getattr(command, "commands", {}).values():
        for name, flag in declared(sub).items():
            flags.setdefault(name, flag)
    return flags


def speller(flags: Mapping[str, str]) -> Speller:
    """How a command spells a library setting name: its flag, or None if it has none."""

    def spell(name: str) -> str | None:
        name = ALIASES.get(name, name)
        return flags.get(name) or ROOT.get(name)

    return spell


def of(ctx: Any) -> Speller:
    """The speller of the command running in the Typer context *ctx*."""
    return speller(declared(ctx.command))


def spelled(text: str, spell: Speller) -> str:
    """*text* (a note, a warning, a check's fix) with its settings spelled by *spell*."""
    return respell(text, spell)
