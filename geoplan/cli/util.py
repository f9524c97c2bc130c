"""Shared pieces of geoplan's click command groups."""

from __future__ import annotations

import click
import pandas as pd

from geoplan.errors import GeoplanError


class ErrorGroup(click.Group):
    """A click group that prints a :class:`GeoplanError` as a message and exits 1 — never a traceback.

    Every geoplan group uses it, so a sub-group invoked on its own (in tests,
    or embedded elsewhere) behaves like ``geoplan`` itself.
    """

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GeoplanError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(1)


def table(df: pd.DataFrame) -> str:
    """A DataFrame as aligned text, with Chinese characters counted double-width."""
    with pd.option_context("display.width", 200, "display.max_columns", 50, "display.max_rows", 500,
                           "display.unicode.east_asian_width", True):
        return df.to_string(index=False)
