"""Render docs/cli.md, the command-line reference, from the commands' own --help.

``python -m iatiportal.cli_reference > docs/cli.md``; tests/test_cli_reference.py fails when
the file and the help texts disagree.
"""

from __future__ import annotations

import click

from iatiportal.cli import main


def _walk(command: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name in sorted(command.list_commands(click.Context(command))):
            sub = command.get_command(click.Context(command), name)
            if sub is not None and not sub.hidden:
                found.extend(_walk(sub, [*path, name]))
    return found


def render() -> str:
    """The Markdown reference of every command."""
    parts = [
        "# Command-line reference\n",
        "Generated from `--help` by `python -m iatiportal.cli_reference`; do not edit.\n",
    ]
    for path, command in _walk(main, ["iatiportal"]):
        with click.Context(
            command,
            info_name=" ".join(path),
            terminal_width=88,
            max_content_width=88,
            help_option_names=["-h", "--help"],
        ) as ctx:
            help_text = command.get_help(ctx)
        parts.append(f"## {' '.join(path)}\n\n```text\n{help_text}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(render(), nl=False)
