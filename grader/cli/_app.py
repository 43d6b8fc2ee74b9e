"""The ``grade`` application object and its top-level options.

``grade EXERCISE`` is short for ``grade check EXERCISE``: an unknown first word that is not an
option is taken as an exercise id.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from grader._version import __version__


class _ShortcutGroup(TyperGroup):
    """Treats ``grade EXERCISE ...`` as ``grade check EXERCISE ...``."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            return "check", self.commands["check"], args
        return super().resolve_command(ctx, args)


app = typer.Typer(
    cls=_ShortcutGroup,
    help="Grade hands-on Docker labs by observing the live Docker Engine. "
    "`grade EXERCISE` is short for `grade check EXERCISE`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help: rich's help renderer imports rich.markdown and markdown-it, most of `grade
    # --help`'s start-up; commands load rich themselves when they print with it.
    rich_markup_mode=None,
    # As wide as the terminal (click's plain help stops at 80 columns otherwise).
    context_settings={"max_content_width": 200},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tp-grader {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Grade hands-on Docker labs by observing the live Docker Engine."""
