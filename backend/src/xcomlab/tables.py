"""Plain-text tables for task logs and the terminal, drawn by rich (which Airflow itself depends on): no colour,
no border but the header's rule, no wrapping; counts with thousands separators, right-aligned."""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table


def table(headers: list[str], rows: list[list]) -> str:
    """The first column left-aligned (names), the others right-aligned (numbers) unless a column holds text."""
    drawn = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    texts = [any(isinstance(row[i], str) for row in rows) for i in range(len(headers))]
    for i, header in enumerate(headers):
        drawn.add_column(header, justify="left" if i == 0 or texts[i] else "right", no_wrap=True)
    for row in rows:
        drawn.add_row(*(f"{value:,}" if isinstance(value, int) else str(value) for value in row))
    console = Console(file=io.StringIO(), width=10_000, color_system=None, force_terminal=False, highlight=False)
    console.print(drawn)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines() if line.strip())
