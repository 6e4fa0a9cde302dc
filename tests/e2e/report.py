"""The e2e report: one row per backend x value, where it landed, its size and its key (markdown)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Row:
    backend: str
    key: str
    landed: str  # "metadata DB" or the store holding the object
    size: int  # bytes as stored: the value's JSON in the row, or the object
    location: str  # the DB row, or the object's full reference
    equal: bool


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def write(self, path: Path) -> None:
        lines = [
            "# xcom-lab e2e report",
            "",
            "| backend | XCom key | landed in | size (bytes) | location | content equal |",
            "| --- | --- | --- | ---: | --- | --- |",
        ]
        lines += [
            f"| {r.backend} | {r.key} | {r.landed} | {r.size} | `{r.location}` | {'yes' if r.equal else 'NO'} |"
            for r in self.rows
        ]
        path.write_text("\n".join(lines) + "\n")
