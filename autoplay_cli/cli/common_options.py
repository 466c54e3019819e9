"""Options shared by several commands, declared once.

The connection settings' flags come from the settings table in
:mod:`autoplay_cli.settings`, so a flag's name, its environment variable and the
help text that names both can never drift apart. These options carry no
``envvar``: the resolver applies flag > env > profile > default itself and
remembers where each value came from.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from autoplay_cli.settings import PROFILE_ENV, SETTINGS_BY_KEY

# Placeholders shown in help for values of these parameter names. Any other
# option or argument shows its own name in capitals (``--user USER``), never a
# Python type such as ``<list[str]>`` or ``<float range>``.
METAVARS: dict[str, str] = {
    "session": "SESSION_ID",
    "last_event_id": "EVENT_ID",
    "user": "USER_ID",
    "connector_url": "URL",
    "forward_to": "URL",
    "forward_url": "URL",
    "unkey_server_url": "URL",
    "redis_url": "URL",
    "token": "KEY",
    "admin_key": "KEY",
    "unkey_root_key": "KEY",
    "forward_secret": "SECRET",
    "webhook_secret": "SECRET",
    "unkey_api_id": "API_ID",
    "contact_email": "EMAIL",
    "profile": "NAME",
    "save_profile": "NAME",
    "key_name": "NAME",
    "key_prefix": "PREFIX",
    "timeout": "SECONDS",
    "max_time": "SECONDS",
    "until_idle": "SECONDS",
    "idle_timeout": "SECONDS",
    "count": "N",
    "max_retries": "N",
    "record": "FILE",
    "replay": "FILE",
    "env_file": "FILE",
    "url": "PATTERN",
    "speed": "FACTOR",
}


def _choices(param: Any) -> Any:
    # Typer 0.29 describes a parameter's type in ``type_descriptor``; older
    # releases use Click's parameter type, which has ``choices`` for a choice.
    desc = getattr(param, "type_descriptor", None)
    if desc is not None:
        return desc.choices if desc.is_choice else None
    return getattr(getattr(param, "type", None), "choices", None)


def name_metavars(command: Any) -> Any:
    """Give every value of *command* (and its subcommands) a named placeholder in help.

    An option with fixed choices lists them (``[actions|summary]``); a parameter
    whose command set a ``metavar`` keeps it. Returns *command*.
    """
    for param in getattr(command, "params", ()):
        if param.metavar is not None or getattr(param, "is_flag", False):
            continue
        choices = _choices(param)
        if choices:
            param.metavar = "[" + "|".join(str(getattr(c, "value", c)) for c in choices) + "]"
        elif param.name:
            param.metavar = METAVARS.get(param.name, param.name.upper())
    for sub in getattr(command, "commands", {}).values():
        name_metavars(sub)
    return command


def setting_option(key: str) -> Any:
    """A ``--flag`` for one setting of the resolver, with its environment fallback in the help."""
    setting = SETTINGS_BY_KEY[key]
    envs = " or ".join(setting.env)
    return typer.Option(
        setting.flag,
        help=f"{setting.description[:1].upper()}{setting.description[1:]} "
        f"(else env {envs}, else the profile).",
    )


ConnectorUrl = Annotated[str | None, setting_option("connector_url")]
ProductId = Annotated[str | None, setting_option("product_id")]
Token = Annotated[str | None, setting_option("token")]
AdminKey = Annotated[str | None, setting_option("admin_key")]
RedisUrl = Annotated[str | None, setting_option("redis_url")]
UnkeyRootKey = Annotated[str | None, setting_option("unkey_root_key")]
UnkeyApiId = Annotated[str | None, setting_option("unkey_api_id")]
UnkeyServerUrl = Annotated[str | None, setting_option("unkey_server_url")]
Profile = Annotated[
    str | None,
    typer.Option(
        "--profile",
        "-p",
        envvar=PROFILE_ENV,
        help="Profile of the config file to use (default: 'default').",
    ),
]

# Stream connection options shared by `tail` and `relay`.
IdleTimeout = Annotated[
    float,
    typer.Option(
        min=0, metavar="SECONDS", help="Reconnect after SECONDS without any byte (0 = never)."
    ),
]
MaxRetries = Annotated[
    int | None,
    typer.Option(
        min=0,
        metavar="N",
        help="Give up (exit 6) after N failed reconnects in a row (default: never).",
    ),
]
