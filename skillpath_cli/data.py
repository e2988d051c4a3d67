"""``skillpath data``: generate, import and validate data."""

from __future__ import annotations

import click

from skillpath_cli.data_import import import_cmd, oulad_cmd


@click.group()
def data() -> None:
    """Generate, import and validate data (synthetic world, OULAD, CSV)."""


data.add_command(import_cmd)
data.add_command(oulad_cmd)
