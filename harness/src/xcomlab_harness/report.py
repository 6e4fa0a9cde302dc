"""Render `make check` verdicts (one per Airflow version) as JSON, Markdown, JUnit XML and one HTML page.

All renderers take the verdicts of one backend, the first verdict naming it; scenarios appear in the first
verdict's order (any a later version added follow). Every report leads with the root causes: failures that
share one cause (ScenarioResult.cause, an id in Verdict.causes) are told once, and each later scenario the
cause failed is "blocked by" it rather than a copy of the same evidence. A cause whose title and fix recur
on several versions is one numbered cause across the page ("cause 1"), naming the versions it appeared on.

A version whose failures hid what lies behind them has fix-forward layers (Verdict.layers): the scenarios
re-run on a copy of the backend with known mechanical fixes applied. Every report shows them right after the
root causes ("Behind the wall"), with the cumulative patch (Verdict.patch, also written as
check-<name>-<version>.patch); the matrix, the testcases and the exit code stay about the user's code as is.

The HTML page is rendered by Jinja2 from templates/ (autoescaped; one self-contained page: inline CSS, no
scripts, nothing fetched from anywhere).

`merge` (console script xcomlab-check-merge) puts the verdicts of several CI jobs (shards: one per version or
per backend) side by side: the reports `make check` would have written had one job run them all.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import jinja2
from packaging.version import InvalidVersion, Version

from xcomlab_harness.causes import blocked_by
from xcomlab_harness.stack.paths import REPORTS
from xcomlab_harness.verdict import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    NOT_EXERCISED,
    PASS,
    RootCause,
    ScenarioResult,
    SourceFile,
    Verdict,
    exit_code,
)

NOT_RUN = "not run"  # a scenario one version ran and another did not
NOT_MEASURED = "not measured"  # a scenario whose lines coverage.py did not measure
TEMPLATES = Path(__file__).with_name("templates")
# A report name or version goes into file and folder names (reports/check-<name>-<version>.json, the fix-forward
# copies under .cache/, emptied first): one name, never a path.
FILE_NAME_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
FILE_NAME_RULE = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, no '..'"


def file_name_part(text: str) -> bool:
    """Whether text may name reports and folders (FILE_NAME_RULE)."""
    return bool(FILE_NAME_PART.fullmatch(text)) and ".." not in text


def write_json(verdict: Verdict, path: Path) -> None:
    Path(path).write_text(json.dumps(verdict.to_json(), indent=2) + "\n", encoding="utf-8")


def scenario_ids(verdicts: list[Verdict]) -> list[str]:
    """Matrix rows: the first verdict's scenarios in its order, then any only later verdicts have."""
    ids: list[str] = []
    for verdict in verdicts:
        ids += [s.id for s in verdict.scenarios if s.id not in ids]
    return ids


def patch_name(name: str, version: str) -> str:
    """The file name of a version's cumulative fix-forward patch (beside its reports)."""
    return f"check-{name}-{version}.patch"


def summary_line(verdicts: list[Verdict], reports: str | Path = "reports") -> str:
    """e.g. "acme.AcmeXCom: 3.3.1 14 pass, 1 fail, 1 n/a, 2 not exercised; 2.11.2 16 pass, 0 fail, 0 n/a".

    pass, fail and n/a are always counted; "not exercised" and "error" only when there are any. A version
    with fix-forward layers adds "; behind the wall (3.3.1): 2 more layers, patch in <reports>/<patch>".
    """
    _require(verdicts)

    def counts(v: Verdict) -> str:
        n = {status: sum(s.status == status for s in v.scenarios)
             for status in (PASS, FAIL, NOT_APPLICABLE, NOT_EXERCISED, ERROR)}
        return ", ".join(f"{count} {status}" for status, count in n.items()
                         if count or status in (PASS, FAIL, NOT_APPLICABLE))

    def wall(v: Verdict) -> str:
        n = len(v.layers)
        patch = f", patch in {Path(reports) / patch_name(verdicts[0].name, v.slug)}" if v.patch else ""
        return f"; behind the wall ({v.label}): {n} more layer{'s' if n != 1 else ''}{patch}"

    return (f"{verdicts[0].backend}: " + "; ".join(f"{v.label} {counts(v)}" for v in verdicts)
            + "".join(wall(v) for v in verdicts if v.layers))


# --- Root causes: shared by every renderer ----------------------------------------------------------------------


@dataclass
class _Occurrence:
    """One version's RootCause inside a (possibly merged) numbered cause."""
    version: str  # Verdict.label
    cause: RootCause
    scenarios: list[str]
    slug: str = ""  # Verdict.slug


@dataclass
class _Cause:
    """A numbered root cause of the page: one RootCause, or the same title and fix on several versions."""
    number: int
    title: str
    fix: str
    occurrences: list[_Occurrence] = field(default_factory=list)
    scope: str = ""  # the anchor's prefix: "" for the page's root causes, one per fix-forward layer

    @property
    def anchor(self) -> str:
        return f"{self.scope}cause-{self.number}"

    @property
    def label(self) -> str:
        return f"cause {self.number}"

    @property
    def versions(self) -> list[str]:
        return list(dict.fromkeys(o.version for o in self.occurrences))

    @property
    def slugs(self) -> list[str]:
        return list(dict.fromkeys(o.slug for o in self.occurrences))

    @property
    def evidence(self) -> list[tuple[str, str]]:
        """(version, evidence); a single ("", evidence) when every version saw the same."""
        return _per_version([(o.version, o.cause.evidence) for o in self.occurrences])

    @property
    def scenarios(self) -> list[tuple[str, list[str]]]:
        """(version, scenarios blocked); a single ("", scenarios) when every version's are the same."""
        return _per_version([(o.version, o.scenarios) for o in self.occurrences])


def _per_version(values: list[tuple[str, object]]) -> list[tuple[str, object]]:
    if all(value == values[0][1] for _, value in values):
        return [("", values[0][1])]
    return values


@dataclass
class _Cell:
    """What one scenario's result on one version says, causes resolved."""
    result: ScenarioResult
    cause: _Cause | None = None  # the numbered cause of a failure
    root: RootCause | None = None  # this version's own RootCause
    blocked: bool = False  # an earlier scenario of the same verdict already showed this cause


@dataclass
class _Analysis:
    causes: list[_Cause]
    cells: dict[tuple[int, str], _Cell]  # (verdict's index, scenario id)

    def cell(self, index: int, scenario_id: str) -> _Cell | None:
        return self.cells.get((index, scenario_id))


def _analyse(verdicts: list[Verdict], scope: str = "") -> _Analysis:
    causes: dict[tuple[str, str], _Cause] = {}
    numbered: dict[tuple[int, str], _Cause] = {}  # (verdict's index, RootCause.id)
    for index, v in enumerate(verdicts):
        for root in v.causes:
            merged = causes.setdefault((root.title, root.fix),
                                       _Cause(len(causes) + 1, root.title, root.fix, scope=scope))
            scenarios = root.scenarios or [s.id for s in v.scenarios if s.cause == root.id]
            merged.occurrences.append(_Occurrence(v.label, root, list(scenarios), v.slug))
            numbered[(index, root.id)] = merged
    cells: dict[tuple[int, str], _Cell] = {}
    for index, v in enumerate(verdicts):
        for s in v.scenarios:
            root = v.cause(s.cause) if s.cause else None
            cell = _Cell(s)
            if root is not None:
                cell.cause, cell.root = numbered[(index, root.id)], root
                cell.blocked = blocked_by(v, s) is not None
            cells.setdefault((index, s.id), cell)
    return _Analysis(list(causes.values()), cells)


# --- Behind the wall: the fix-forward layers ---------------------------------------------------------------------

WALL_INTRO = ("Failures like these hide what lies behind them. The check applied known mechanical fixes to a copy "
              "of your code (never your files) and re-ran the affected scenarios after each; the matrix and the "
              "exit code stay about your code as it is.")
NO_FURTHER_FAILURE = "no further failure in the scenarios re-run"


@dataclass
class _LayerView:
    number: int
    heading: str  # "after fixing keyword signature"
    causes: list[_Cause]  # this layer's root causes (anchors scoped to the layer)
    uncaused: list[ScenarioResult]  # failures none of its causes names
    passed: list[str]  # the scenarios that now pass
    others: list[tuple[str, list[str]]]  # (status, scenario ids): not exercised, n/a, error

    @property
    def clean(self) -> bool:
        return not self.causes and not self.uncaused


@dataclass
class _Wall:
    """One version's layers and its cumulative patch."""
    version: str  # Verdict.label
    layers: list[_LayerView]
    patch: str
    patch_file: str  # check-<name>-<version>.patch
    slug: str = ""  # Verdict.slug, for HTML ids

    @property
    def apply(self) -> tuple[str, str, str]:
        """(save as, git apply, patch -p1)."""
        return self.patch_file, f"git apply {self.patch_file}", f"patch -p1 < {self.patch_file}"


def _walls(verdicts: list[Verdict]) -> list[_Wall]:
    return [_wall(v, verdicts[0].name) for v in verdicts if v.layers]


def _wall(verdict: Verdict, name: str) -> _Wall:
    return _Wall(verdict.label, _layer_views(verdict), verdict.patch, patch_name(name, verdict.slug), verdict.slug)


def _layer_views(verdict: Verdict) -> list[_LayerView]:
    views: list[_LayerView] = []
    previous: list[str] = []
    for number, layer in enumerate(verdict.layers, start=1):
        # a layer naming only its own fix follows the others: "after also fixing"
        also = number > 1 and not set(previous) <= set(layer.fixed)
        heading = f"after {'also ' if also else ''}fixing {', '.join(layer.fixed) or 'what the patch changes'}"
        previous = layer.fixed
        shown = Verdict(verdict.backend, verdict.name, verdict.airflow_version, scenarios=layer.scenarios,
                        causes=layer.causes)
        analysis = _analyse([shown], scope=f"layer-{verdict.slug}-{number}-")
        others = [(status, [s.id for s in layer.scenarios if s.status == status])
                  for status in (NOT_EXERCISED, ERROR, NOT_APPLICABLE)]
        views.append(_LayerView(
            number, heading, analysis.causes,
            uncaused=[s for s in layer.scenarios if s.status == FAIL and shown.cause(s.cause) is None],
            passed=[s.id for s in layer.scenarios if s.status == PASS],
            others=[(status, ids) for status, ids in others if ids],
        ))
    return views


def _wall_lines(wall: _Wall) -> list[str]:
    """Plain text, one line per layer (JUnit's system-out)."""
    lines = [f"behind the wall (Airflow {wall.version}): the affected scenarios re-run on a copy of the backend "
             "with mechanical fixes; the testcases above are the code as it is"]
    for layer in wall.layers:
        found = [f"fail {', '.join(ids)} ({cause.title})" for cause in layer.causes for _, ids in cause.scenarios]
        found += [f"fail {s.id} ({s.evidence})" for s in layer.uncaused]
        found = found or [NO_FURTHER_FAILURE]
        found += [f"now pass: {', '.join(layer.passed)}"] if layer.passed else []
        found += [f"{status}: {', '.join(ids)}" for status, ids in layer.others]
        lines.append(f"{layer.number}. {layer.heading}: {'; '.join(found)}")
    if wall.patch:
        lines.append(f"patch: {wall.patch_file}, beside this report")
    return lines


def _fence(text: str, info: str = "") -> list[str]:
    """text verbatim in a Markdown code fence longer than any run of backticks inside it."""
    fence = "`" * max(3, max((len(m) for m in re.findall("`+", text)), default=0) + 1)
    return [f"{fence}{info}", text.rstrip("\n"), fence]


# --- Coverage: the backend's own lines ----------------------------------------------------------------------------


def _counts(source: SourceFile) -> tuple[int, int]:
    """(statements run, statements)."""
    statements = set(source.statements)
    run = set(source.run) & statements if statements else set(source.run)
    return len(run), len(statements)


def _ratio(source: SourceFile) -> str:
    run, statements = _counts(source)
    return f"{run}/{statements}" + (f" ({100 * run / statements:.0f}%)" if statements else "")


def _lines_ran(result: ScenarioResult | None) -> str:
    if result is None:
        return NOT_RUN
    if result.lines_run is None:
        return NOT_MEASURED
    return str(sum(len(set(lines)) for lines in result.lines_run.values()))


def _source_paths(verdicts: list[Verdict]) -> list[str]:
    paths: list[str] = []
    for v in verdicts:
        paths += [f.path for f in v.sources if f.path not in paths]
    return paths


@dataclass
class _SourceLine:
    number: int
    text: str
    kind: str  # run, not-run, partly-run (run on some versions only) or plain (no statement)
    marks: list[str]  # per version: run, not-run or ""
    title: str


@dataclass
class _SourceView:
    """One file as the page shows it: versions that measured the same text share one listing."""
    path: str
    versions: list[str]
    files: list[SourceFile]
    lines: list[_SourceLine]

    @property
    def ratios(self) -> list[tuple[str, str]]:
        return [(version, _ratio(f)) for version, f in zip(self.versions, self.files)]


def _source_views(verdicts: list[Verdict]) -> list[_SourceView]:
    views: list[_SourceView] = []
    for path in _source_paths(verdicts):
        groups: dict[tuple[str, ...], list[tuple[str, SourceFile]]] = {}
        for v in verdicts:
            for f in v.sources:
                if f.path == path:
                    groups.setdefault(tuple(f.lines), []).append((v.label, f))
        for group in groups.values():
            versions, files = [g[0] for g in group], [g[1] for g in group]
            views.append(_SourceView(path, versions, files, _source_lines(versions, files)))
    return views


def _source_lines(versions: list[str], files: list[SourceFile]) -> list[_SourceLine]:
    statements = [set(f.statements) for f in files]
    runs = [set(f.run) for f in files]
    lines = []
    for number, text in enumerate(files[0].lines, start=1):
        marks = ["run" if number in run else "not-run" if number in stmts else ""
                 for stmts, run in zip(statements, runs)]
        ran = [version for version, mark in zip(versions, marks) if mark == "run"]
        missed = [version for version, mark in zip(versions, marks) if mark == "not-run"]
        if ran and missed:
            kind, title = "partly-run", f"ran on Airflow {', '.join(ran)}; not on {', '.join(missed)}"
        elif ran:
            kind, title = "run", "ran"
        elif missed:
            kind, title = "not-run", "a statement that never ran"
        else:
            kind, title = "plain", ""
        lines.append(_SourceLine(number, text.rstrip("\r\n"), kind, marks, title))
    return lines


# --- Markdown ---------------------------------------------------------------------------------------------------

# FAIL, NOT EXERCISED and ERROR in capitals: they must stand out
_MATRIX_WORD = {PASS: "pass", FAIL: "FAIL", NOT_APPLICABLE: "n/a", NOT_EXERCISED: "NOT EXERCISED", ERROR: "ERROR"}


def markdown(verdicts: list[Verdict]) -> str:
    _require(verdicts)
    analysis = _analyse(verdicts)
    out = [f"# xcom-lab check: {_md_text(verdicts[0].backend)}", "", _md_text(summary_line(verdicts)), "",
           "## Root causes", ""]
    out += _md_causes(verdicts, analysis)
    out += _md_walls(_walls(verdicts))
    out += ["", "## Scenarios", ""]
    out += _md_table(
        ["scenario", *(f"Airflow {v.label}" for v in verdicts)],
        [[sid, *(_md_status(analysis.cell(i, sid)) for i in range(len(verdicts)))] for sid in scenario_ids(verdicts)],
    )
    for i, v in enumerate(verdicts):
        cells = [analysis.cell(i, s.id) for s in v.scenarios]
        out += ["", f"## Airflow {v.label}", "", *([_md_text(v.mwaa), ""] if v.mwaa else []),
                *([_md_text(v.offload[:1].upper() + v.offload[1:]), ""] if v.offload else []), "### Failures", ""]
        out += _md_table(["scenario", "cause", "evidence", "fix"], [
            [c.result.id, c.cause.label if c.cause else "",
             f"blocked by {c.cause.title}" if c.blocked else c.result.evidence, "" if c.blocked else c.result.fix]
            for c in cells if c.result.status == FAIL])
        for status, heading in ((NOT_EXERCISED, "Not exercised"), (NOT_APPLICABLE, "Not applicable")):
            results = [s for s in v.scenarios if s.status == status]
            if results:
                out += ["", f"### {heading}", ""]
                out += _md_table(["scenario", "why"], [[s.id, s.evidence] for s in results])
        errors = [s for s in v.scenarios if s.status == ERROR]
        if errors:
            out += ["", "### Harness errors", "",
                    "xcom-lab's own code broke here: not your backend's failure; please report it.", ""]
            for s in errors:
                out += [f"- **{_md_text(s.id)}**: {_md_text(s.evidence)}"]
                if s.traceback:
                    out += ["", *_fence(s.traceback, "text"), ""]
        for s in v.scenarios:
            if s.details:
                out += ["", f"### {_md_text(s.id)}: each item", ""]
                out += _md_table(["item", "status", "evidence"],
                                 [[d.item, _MATRIX_WORD.get(d.status, d.status), d.evidence] for d in s.details])
        out += ["", "### Where the XComs landed", ""]
        out += _md_table(["xcom", "store", "key", "size", "format"],
                         [[x.xcom, x.store, x.key, f"{x.size:,}", x.format] for x in v.landings])
        out += ["", "### Leftovers", ""]
        out += _md_table(["store", "key", "size", "format", "scenario", "why"],
                         [[x.store, x.key, f"{x.size:,}", x.format, x.scenario, x.why] for x in v.leftovers])
    out += ["", "## Your backend's code", ""]
    out += _md_coverage(verdicts)
    return "\n".join(out) + "\n"


def _md_causes(verdicts: list[Verdict], analysis: _Analysis) -> list[str]:
    if not analysis.causes:
        failed = any(v.failed for v in verdicts)
        return ["None identified: see each version's failures." if failed else "None: nothing failed."]
    out = []
    for cause in analysis.causes:
        out.append(f"{cause.number}. **{_md_text(cause.title)}** (Airflow {_md_text(', '.join(cause.versions))})")
        out += _md_cause_lines(cause)
    return out


def _md_cause_lines(cause: _Cause) -> list[str]:
    """A cause's scenarios, evidence and fix, as sub-items of its numbered line."""
    out = []
    for version, scenarios in cause.scenarios:
        label = f" on {_md_text(version)}" if version else ""
        out.append(f"   - scenarios{label}: {_md_text(', '.join(scenarios) or 'none named')}")
    for version, evidence in cause.evidence:
        label = f" on {_md_text(version)}" if version else ""
        out.append(f"   - evidence{label}: {_md_text(evidence)}")
    out.append(f"   - fix: {_md_text(cause.fix or 'no known fix')}")
    return out


def _md_walls(walls: list[_Wall]) -> list[str]:
    out: list[str] = []
    for wall in walls:
        out += ["", f"## Behind the wall ({_md_text(wall.version)})", "", WALL_INTRO, ""]
        for layer in wall.layers:
            out.append(f"{layer.number}. {_md_text(layer.heading)}")
            if layer.clean:
                out.append(f"   - {NO_FURTHER_FAILURE}")
            for cause in layer.causes:
                out.append(f"   - **{_md_text(cause.title)}**")
                out += ["  " + line for line in _md_cause_lines(cause)]
            for s in layer.uncaused:
                out += [f"   - **{_md_text(s.id)}** (no root cause)", f"     - evidence: {_md_text(s.evidence)}"]
                if s.fix:
                    out.append(f"     - fix: {_md_text(s.fix)}")
            if layer.passed:
                out.append(f"   - now pass: {_md_text(', '.join(layer.passed))}")
            for status, ids in layer.others:
                out.append(f"   - {status}: {_md_text(', '.join(ids))}")
        if wall.patch:
            save, git, patch = wall.apply
            out += ["", f"The patch of every fix above: save as `{save}`, then in your backend's folder: `{git}` "
                        f"(or `{patch}`)", "", *_fence(wall.patch, "diff")]
    return out


def _md_status(cell: _Cell | None) -> str:
    if cell is None:
        return NOT_RUN
    word = _MATRIX_WORD[cell.result.status]
    if cell.result.status == FAIL and cell.cause:
        return f"{word} ({cell.cause.label})"
    return word


def _md_coverage(verdicts: list[Verdict]) -> list[str]:
    paths = _source_paths(verdicts)
    if not paths:
        return ["Coverage was not measured: no lines of the backend's own code were recorded."]
    out = ["Statements run per file (run/statements), across every scenario:", ""]
    out += _md_table(
        ["file", *(f"Airflow {v.label}" for v in verdicts)],
        [[path, *(_ratio(f) if (f := next((f for f in v.sources if f.path == path), None)) else NOT_MEASURED
                  for v in verdicts)] for path in paths])
    out += ["", "Lines of the backend's code each scenario ran:", ""]
    out += _md_table(["scenario", *(f"Airflow {v.label}" for v in verdicts)],
                     [[sid, *(_lines_ran(v.scenario(sid)) for v in verdicts)] for sid in scenario_ids(verdicts)])
    return out


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["None."]
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _md_cell(value: object) -> str:
    # a pipe would end the cell, a newline the row
    return _md_text(value).replace("|", "\\|")


def _md_text(value: object) -> str:
    # one line; renderers take "<class 'int'>" for an HTML tag and drop it (or run a <script>)
    return " ".join(str(value).split()).replace("<", "&lt;").replace(">", "&gt;")


# --- JUnit XML --------------------------------------------------------------------------------------------------

# XML 1.0 cannot hold most control characters, not even escaped; evidence quoting a binary payload may have them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def junit(verdicts: list[Verdict]) -> str:
    """One testsuite per version, one testcase per scenario: fail and "not exercised" are failures, a harness
    error an <error>, n/a skipped."""
    _require(verdicts)
    analysis = _analyse(verdicts)
    backend, backend_name = verdicts[0].backend, verdicts[0].name
    suites = ET.Element("testsuites", name=_xml(f"xcom-lab check {backend}"))
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for i, v in enumerate(verdicts):
        counts = {"tests": len(v.scenarios),
                  "failures": sum(s.status in (FAIL, NOT_EXERCISED) for s in v.scenarios),
                  "errors": sum(s.status == ERROR for s in v.scenarios),
                  "skipped": sum(s.status == NOT_APPLICABLE for s in v.scenarios)}
        suite = ET.SubElement(
            suites, "testsuite", name=_xml(f"xcom-lab check {backend} on Airflow {v.label}"),
            time=_seconds(sum(s.seconds for s in v.scenarios)), **{k: str(n) for k, n in counts.items()},
        )
        for s in v.scenarios:
            case = ET.SubElement(suite, "testcase", classname=_xml(f"check.{v.slug}"), name=_xml(s.id),
                                 time=_seconds(s.seconds))
            cell = analysis.cell(i, s.id)
            if s.status == FAIL and cell is not None and cell.blocked:
                root = cell.root
                ET.SubElement(case, "failure", message=_xml(f"blocked by {root.title}")).text = _xml(
                    "\n".join(filter(None, [root.evidence, f"fix: {root.fix}" if root.fix else ""])))
            elif s.status == FAIL:
                failed = [f"{d.item}: {d.evidence}" if d.evidence else d.item for d in s.details if d.status == FAIL]
                ET.SubElement(case, "failure", message=_xml(s.evidence)).text = _xml(
                    "\n".join([s.fix or s.evidence, *failed]))
            elif s.status == NOT_EXERCISED:
                ET.SubElement(case, "failure", message=_xml(f"not exercised: {s.evidence}")).text = _xml(
                    s.fix or s.evidence)
            elif s.status == ERROR:
                ET.SubElement(case, "error", message=_xml(f"harness error: {s.evidence}")).text = _xml(
                    s.traceback or s.evidence)
            elif s.status == NOT_APPLICABLE:
                ET.SubElement(case, "skipped", message=_xml(s.evidence))
        if v.layers:  # the testcases stay about the user's code as it is; what lies behind the wall, as text
            ET.SubElement(suite, "system-out").text = _xml("\n".join(_wall_lines(_wall(v, backend_name))))
        for k, n in counts.items():
            totals[k] += n
    suites.attrib.update({k: str(n) for k, n in totals.items()})
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _xml(text: str) -> str:
    return _NOT_XML.sub("\N{REPLACEMENT CHARACTER}", text)


def _seconds(seconds: float) -> str:
    return f"{seconds:.3f}"


# --- HTML -------------------------------------------------------------------------------------------------------

# data-status carries the verdict's status verbatim; CSS classes cannot hold "n/a" or a space
_CSS_CLASS = {PASS: "pass", FAIL: "fail", NOT_APPLICABLE: "na", NOT_EXERCISED: "not-exercised", ERROR: "error"}
_HTML_WORD = dict(_MATRIX_WORD, **{NOT_EXERCISED: NOT_EXERCISED, ERROR: ERROR})  # colour makes these stand out


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )


@dataclass
class _VersionView:
    verdict: Verdict
    cells: list[_Cell]  # in the verdict's order

    def of(self, *statuses: str) -> list[_Cell]:
        return [c for c in self.cells if c.result.status in statuses]

    def why(self, status: str) -> list[list[str]]:
        return [[c.result.id, c.result.evidence] for c in self.of(status)]

    @property
    def landings(self) -> list[list[str]]:
        return [[x.xcom, x.store, x.key, f"{x.size:,}", x.format] for x in self.verdict.landings]

    @property
    def leftovers(self) -> list[list[str]]:
        return [[x.store, x.key, f"{x.size:,}", x.format, x.scenario, x.why] for x in self.verdict.leftovers]


def html(verdicts: list[Verdict], generated: datetime | None = None) -> str:
    """One self-contained page (inline CSS, no scripts, no external URLs)."""
    _require(verdicts)
    generated = generated or datetime.now(timezone.utc)
    analysis = _analyse(verdicts)
    ids = scenario_ids(verdicts)
    return _environment().get_template("check.html.j2").render(
        backend=verdicts[0].backend,
        generated=generated.strftime("%Y-%m-%d %H:%M %Z").strip(),
        summary=summary_line(verdicts),
        verdicts=verdicts,
        causes=analysis.causes,
        walls=_walls(verdicts), wall_intro=WALL_INTRO, no_further_failure=NO_FURTHER_FAILURE,
        failed=any(v.failed for v in verdicts),
        rows=[(sid, [analysis.cell(i, sid) for i in range(len(verdicts))]) for sid in ids],
        versions=[_VersionView(v, [analysis.cell(i, s.id) for s in v.scenarios]) for i, v in enumerate(verdicts)],
        sources=_source_views(verdicts),
        lines_ran=[(sid, [_lines_ran(v.scenario(sid)) for v in verdicts]) for sid in ids],
        css_class=_CSS_CLASS, html_words=_HTML_WORD, statuses=dict(
            PASS=PASS, FAIL=FAIL, NOT_APPLICABLE=NOT_APPLICABLE, NOT_EXERCISED=NOT_EXERCISED, ERROR=ERROR),
        NOT_RUN=NOT_RUN, NOT_MEASURED=NOT_MEASURED,
    )


# --- Files ------------------------------------------------------------------------------------------------------


def write_all(verdicts: list[Verdict], reports_dir: Path) -> list[Path]:
    """reports/check-<name>-<version>.json per verdict (and check-<name>-<version>.patch when the check found a
    fix-forward patch; an earlier run's is removed when it found none), then check-<name>.md, .junit.xml and
    .html."""
    _require(verdicts)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    name = verdicts[0].name
    paths = []
    for v in verdicts:
        path = reports_dir / f"check-{name}-{v.slug}.json"
        write_json(v, path)
        paths.append(path)
        patch = reports_dir / patch_name(name, v.slug)
        if v.patch:
            patch.write_text(v.patch if v.patch.endswith("\n") else v.patch + "\n", encoding="utf-8")
            paths.append(patch)
        else:
            patch.unlink(missing_ok=True)
    for suffix, render in ((".md", markdown), (".junit.xml", junit), (".html", html)):
        path = reports_dir / f"check-{name}{suffix}"
        path.write_text(render(verdicts), encoding="utf-8")
        paths.append(path)
    return paths


def _require(verdicts: list[Verdict]) -> None:
    if not verdicts:
        raise ValueError("no verdicts to report")


# --- Merging shards ---------------------------------------------------------------------------------------------

SHARD_PATTERN = "check-*-*.json"  # reports/check-<name>-<version>.json


def shard_files(paths: list[Path]) -> list[Path]:
    """The verdict files among paths: files named check-<name>-<version>.json, and those anywhere below folders
    (other files are ignored); each once."""
    found: dict[Path, Path] = {}
    for given in map(Path, paths):
        if given.is_dir():
            candidates = sorted(p for p in given.rglob(SHARD_PATTERN) if p.is_file())
        elif given.is_file():
            candidates = [given] if fnmatch.fnmatch(given.name, SHARD_PATTERN) else []
        else:
            raise ValueError(f"{given}: no such file or folder")
        for path in candidates:
            found.setdefault(path.resolve(), path)
    if not found:
        raise ValueError(f"no {SHARD_PATTERN.replace('*-*', '<name>-<version>')} in {', '.join(map(str, paths))}")
    return list(found.values())


def read_shard(path: Path) -> Verdict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: unreadable: {err}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from err
    try:
        verdict = Verdict.from_json(data)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{path}: not a check verdict ({type(err).__name__}: {err})") from err
    for what, value in (("name", verdict.name), ("airflow_version", verdict.airflow_version)):
        if not isinstance(value, str) or not file_name_part(value):
            raise ValueError(f"{path}: its {what} {value!r} cannot name a report file: it must be {FILE_NAME_RULE}")
    return verdict


def _version_key(version: str) -> tuple:
    try:
        return 0, Version(version), ""
    except InvalidVersion:
        return 1, Version("0"), version


def load_shards(paths: list[Path]) -> list[list[Verdict]]:
    """The verdicts found in paths, one list per report name (names in order), its versions in order. Refuses
    (ValueError naming both files) one name and version in two files, and one name judging two backends."""
    groups: dict[str, list[tuple[Path, Verdict]]] = {}
    for path in shard_files(paths):
        verdict = read_shard(path)
        group = groups.setdefault(verdict.name, [])
        for other_path, other in group:
            if other.backend != verdict.backend:
                raise ValueError(
                    f"{other_path} and {path}: the report name {verdict.name!r} judges two backends, "
                    f"{other.backend} and {verdict.backend}: give each its own CHECK_NAME")
            if other.label == verdict.label:
                raise ValueError(f"{other_path} and {path}: both hold {verdict.name} on Airflow "
                                 f"{verdict.label}: keep one")
        group.append((path, verdict))
    return [[v for _, v in sorted(groups[name], key=lambda pv: (_version_key(pv[1].airflow_version), pv[1].mwaa))]
            for name in sorted(groups)]


def merge(paths: list[Path], reports_dir: Path) -> list[Path]:
    """Every report of the verdicts found in paths (files, or folders searched recursively for
    check-<name>-<version>.json), side by side per report name, written to reports_dir. Nothing is written
    when the shards are refused (ValueError)."""
    return [path for verdicts in load_shards(paths) for path in write_all(verdicts, reports_dir)]


def merge_main(argv: list[str] | None = None) -> int:
    """xcomlab-check-merge: exit 0, 1 or 2 as xcomlab-check would have over the same verdicts; 2 on bad input."""
    from xcomlab_harness.stack.console import say
    from xcomlab_harness.stack.paths import ROOT

    parser = argparse.ArgumentParser(
        prog="xcomlab-check-merge",
        description="Merge the verdicts of `make check` shards (one CI job per version or per backend) into the "
                    "side-by-side reports: check-<name>.md, .junit.xml and .html per report name.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="check-<name>-<version>.json files, or folders searched for them recursively")
    parser.add_argument("--reports", type=Path, default=REPORTS, metavar="DIR",
                        help="where to write the reports (default: %(default)s)")
    args = parser.parse_args(argv)

    def shown(path: Path) -> Path:
        absolute = path.absolute()
        return absolute.relative_to(ROOT) if absolute.is_relative_to(ROOT) else path

    try:
        groups = load_shards(args.paths)
        written = [write_all(verdicts, args.reports) for verdicts in groups]
    except (ValueError, OSError) as err:
        say(f"error: {err}")
        return 2
    for verdicts, paths in zip(groups, written):
        print(summary_line(verdicts, shown(args.reports)))
        for path in paths:
            print(f"  {shown(path)}")
    return exit_code([v for verdicts in groups for v in verdicts], dict(os.environ))
