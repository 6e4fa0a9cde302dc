"""The e2e report (markdown): one row per backend x value, where it landed, its size and its key; what
the provider's backend did where it is known to be wrong; and one row per MWAA case, the preflight's
verdict and what happened when the stack started anyway."""

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
class Fault:
    case: str
    backend: str
    expected: str
    observed: str
    lost: int  # XComs whose value can no longer be pulled (must be 0)
    outside: int | None = None  # objects outside the backend's root read or deleted (must be 0); None: not at stake


@dataclass
class Report:
    airflow_version: str
    rows: list[Row] = field(default_factory=list)
    mwaa: dict[str, dict[str, str]] = field(default_factory=dict)  # case -> column -> text
    known_differences: list[tuple[str, str, str]] = field(default_factory=list)  # backend, case, observed
    checks: dict[str, dict[str, str]] = field(default_factory=dict)  # make check: backend -> scenario -> status
    faults: list[Fault] = field(default_factory=list)
    bypasses: list[tuple[str, str, str]] = field(default_factory=list)  # Airflow path, what it did, what it left
    ui: list[tuple[str, str]] = field(default_factory=list)  # page, what the browser read there

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def add_known_difference(self, backend: str, case: str, observed: str) -> None:
        self.known_differences.append((backend, case, observed))

    def add_check(self, backend: str, version: str, statuses: dict[str, str]) -> None:
        self.checks[backend] = statuses

    def add_fault(self, fault: Fault) -> None:
        self.faults.append(fault)

    def add_bypass(self, path: str, did: str, left: str) -> None:
        self.bypasses.append((path, did, left))

    def add_ui(self, page: str, read: str) -> None:
        self.ui.append((page, read))

    def add_mwaa(self, case: str, **columns: str) -> None:
        self.mwaa.setdefault(case, {}).update(columns)

    def write(self, path: Path) -> None:
        lines = [
            f"# xcom-lab e2e report: Airflow {self.airflow_version}",
            "",
            "| backend | XCom key | landed in | size (bytes) | location | content equal |",
            "| --- | --- | --- | ---: | --- | --- |",
        ]
        lines += [
            f"| {r.backend} | {r.key} | {r.landed} | {r.size} | `{r.location}` | {'yes' if r.equal else 'NO'} |"
            for r in self.rows
        ]
        if self.known_differences:
            lines += ["", "## Known differences: the provider's backend (xcomlab's backends pass these cases)", "",
                      "| backend | case | observed |", "| --- | --- | --- |"]
            lines += [f"| {b} | {case} | {observed} |" for b, case, observed in self.known_differences]
        if self.checks:
            lines += ["", "## make check on tests/check_backends/", "", "| backend | failed | passed | n/a |",
                      "| --- | --- | --- | --- |"]
            for backend, statuses in self.checks.items():
                by = {status: ", ".join(s for s, st in statuses.items() if st == status) for status in ("fail", "pass", "n/a")}
                lines.append(f"| {backend} | {by['fail'] or '-'} | {by['pass'] or '-'} | {by['n/a'] or '-'} |")
        if self.faults:
            lines += ["", "## Faults", "", "| case | backend | expected | observed | XComs lost | outside-root reads/deletes |",
                      "| --- | --- | --- | --- | ---: | ---: |"]
            lines += [f"| {f.case} | {f.backend} | {f.expected} | {_cell(f.observed)} | {f.lost} | "
                      f"{'-' if f.outside is None else f.outside} |" for f in self.faults]
        if self.bypasses:
            lines += ["", "## Airflow paths that bypass the backend", "", "| path | what it did | what it left |",
                      "| --- | --- | --- |"]
            lines += [f"| {path} | {did} | {left} |" for path, did, left in self.bypasses]
        if self.mwaa:
            lines += ["", "## MWAA mode", "", "| backend module in | core.xcom_backend | preflight | started |",
                      "| --- | --- | --- | --- |"]
            lines += [f"| {case} | `{c.get('value', '')}` | {c.get('preflight', 'not run')} | {c.get('started', 'not run')} |"
                      for case, c in self.mwaa.items()]
        if self.ui:
            lines += ["", "## In the browser (Chromium, headless)", "", "| page | what a person reads |", "| --- | --- |"]
            lines += [f"| {page} | {read} |" for page, read in self.ui]
        path.write_text("\n".join(lines) + "\n")


def _cell(text: str, limit: int = 220) -> str:
    """One table cell: one line, pipes escaped, long messages cut."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
