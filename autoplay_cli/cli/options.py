"""Options shared by several commands, declared once.

The connection settings' flags come from the settings table in
:mod:`autoplay_cli.config`, so a flag's name, its environment variable and the
help text that names both can never drift apart. These options carry no
``envvar``: the resolver applies flag > env > profile > default itself and
remembers where each value came from.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from autoplay_cli.config import PROFILE_ENV, SETTINGS_BY_KEY


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
