"""``autoplay config``: show where each setting comes from, and store settings in a profile."""

from __future__ import annotations

from typing import Annotated

import typer

from autoplay_cli.cli import common_options as options
from autoplay_cli.cli import output
from autoplay_cli.cli.groups import HelpfulGroup, NamedCommand
from autoplay_cli.settings import SETTINGS

app = typer.Typer(
    cls=HelpfulGroup,
    help="Show and edit settings (flag > env > profile file > default).",
    epilog="\b\nExamples:\n"
    "  autoplay config show\n"
    "  autoplay config set connector_url https://connector.example.com --profile staging\n"
    "  autoplay config unset token --profile staging",
    rich_markup_mode=None,
    add_completion=False,
)

ProfileOption = options.Profile
# `config set --help` lists every key, from the settings table itself.
SET_HELP = (
    "Store a setting in a profile (written atomically, mode 0600, comments kept).\n\n"
    "The value is checked first: a URL must be a URL, a product id a valid id.\n\n"
    "\b\nKeys:\n"
    + "\n".join(f"  {s.key:<17} {s.description}" for s in SETTINGS)
    + "\n\n\b\nExamples:\n"
    "  autoplay config set connector_url https://connector.example.com\n"
    "  autoplay config set product_id acme-app --profile staging"
)


@app.command("show", cls=NamedCommand, short_help="Show each setting and its source.")
def show(
    ctx: typer.Context,
    profile: ProfileOption = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Print each resolved setting and where it came from (secrets masked).

    \b
    Examples:
      autoplay config show
      autoplay config show --profile staging --json
    """
    from autoplay_cli import settings as config

    settings = config.resolve(profile=profile)
    settings.check_file()
    if json_:
        output.emit_json(
            {
                "profile": settings.profile,
                "config_file": str(settings.path),
                "settings": {
                    r.key: {
                        "value": r.display() if r.value is not None else None,
                        "source": r.source,
                        "secret": r.secret,
                    }
                    for r in settings.items()
                },
            }
        )
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(
        title=Text(f"profile '{settings.profile}' · {settings.path}"), title_justify="left"
    )
    table.add_column("setting")
    table.add_column("value")
    table.add_column("source")
    for r in settings.items():
        table.add_row(Text(r.key), Text(r.display()), Text(r.source))
    output.of(ctx).out().print(table)


@app.command("set", cls=NamedCommand, help=SET_HELP, short_help="Store a setting in a profile.")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting name (see Keys above).")],
    value: Annotated[
        str, typer.Argument(metavar="VALUE", help="Value to store (checked for its key).")
    ],
    profile: ProfileOption = None,
) -> None:
    # The help is SET_HELP, which lists the keys.
    from autoplay_cli import settings as config

    path = config.config_path()
    had_directory = path.parent.is_dir()
    path = config.set_value(key, value, profile=profile)
    shown = config.Resolved(key, value, "", config.SETTINGS_BY_KEY[key].secret).display()
    err = output.of(ctx).err()
    if not had_directory:
        err.print(f"Created directory {path.parent} (mode 0700)", markup=False)
    err.print(f"Set {key} = {shown} in profile '{profile or 'default'}' of {path}", markup=False)


@app.command("unset", cls=NamedCommand, short_help="Remove a setting from a profile.")
def unset(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(metavar="KEY", help="Setting name to remove.")],
    profile: ProfileOption = None,
) -> None:
    """Remove a setting from a profile.

    \b
    Examples:
      autoplay config unset token
      autoplay config unset redis_url --profile staging
    """
    from autoplay_cli import settings as config

    removed = config.unset_value(key, profile=profile)
    output.of(ctx).err().print(
        f"Removed {key}" if removed else f"{key} was not set in that profile", markup=False
    )


@app.command("path", cls=NamedCommand, short_help="Print the config file's path.")
def path() -> None:
    """Print the path of the config file.

    \b
    Examples:
      autoplay config path
      cat "$(autoplay config path)"
    """
    from autoplay_cli import settings as config

    output.emit_text(str(config.config_path()))
