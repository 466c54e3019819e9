"""``autoplay config``: show where each setting comes from, and store settings in a profile."""

from __future__ import annotations

from typing import Annotated

import typer

from autoplay_cli.cli import options, output

app = typer.Typer(
    help="Show and edit settings (flag > env > profile file > default).",
    no_args_is_help=True,
)

ProfileOption = options.Profile


@app.command("show")
def show(
    profile: ProfileOption = None,
    json_: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
) -> None:
    """Print each resolved setting and where it came from (secrets masked)."""
    from autoplay_cli import config

    settings = config.resolve(profile=profile)
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
    output.out().print(table)


@app.command("set")
def set_(
    key: Annotated[str, typer.Argument(help="Setting name, e.g. connector_url.")],
    value: Annotated[str, typer.Argument(help="Value to store.")],
    profile: ProfileOption = None,
) -> None:
    """Store a setting in a profile (the file is written atomically, mode 0600)."""
    from autoplay_cli import config

    path = config.set_value(key, value, profile=profile)
    shown = config.Resolved(key, value, "", config.SETTINGS_BY_KEY[key].secret).display()
    output.err().print(
        f"Set {key} = {shown} in profile '{profile or 'default'}' of {path}", markup=False
    )


@app.command("unset")
def unset(
    key: Annotated[str, typer.Argument(help="Setting name to remove.")],
    profile: ProfileOption = None,
) -> None:
    """Remove a setting from a profile."""
    from autoplay_cli import config

    removed = config.unset_value(key, profile=profile)
    output.info(f"Removed {key}" if removed else f"{key} was not set in that profile")


@app.command("path")
def path() -> None:
    """Print the path of the config file."""
    from autoplay_cli import config

    output.emit_text(str(config.config_path()))
