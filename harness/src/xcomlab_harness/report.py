"""Render `make check` verdicts (one per Airflow version) as JSON, Markdown, JUnit XML and one HTML page.

All renderers take the verdicts of one backend, the first verdict naming it; scenarios appear in the first
verdict's order (any a later version added follow).
"""

from __future__ import annotations

import html as _html
import json
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path

from xcomlab_harness.verdict import FAIL, NOT_APPLICABLE, PASS, STATUSES, ScenarioResult, Verdict

NOT_RUN = "not run"  # a scenario one version ran and another did not


def write_json(verdict: Verdict, path: Path) -> None:
    Path(path).write_text(json.dumps(verdict.to_json(), indent=2) + "\n", encoding="utf-8")


def scenario_ids(verdicts: list[Verdict]) -> list[str]:
    """Matrix rows: the first verdict's scenarios in its order, then any only later verdicts have."""
    ids: list[str] = []
    for verdict in verdicts:
        ids += [s.id for s in verdict.scenarios if s.id not in ids]
    return ids


def summary_line(verdicts: list[Verdict]) -> str:
    """e.g. "acme.AcmeXCom: 3.3.1 14 pass, 1 fail, 1 n/a; 2.11.2 16 pass, 0 fail, 0 n/a"."""
    _require(verdicts)
    def counts(v: Verdict) -> str:
        return ", ".join(f"{sum(s.status == status for s in v.scenarios)} {status}" for status in STATUSES)

    return f"{verdicts[0].backend}: " + "; ".join(f"{v.airflow_version} {counts(v)}" for v in verdicts)


# --- Markdown ---------------------------------------------------------------------------------------------------

_MATRIX_WORD = {PASS: "pass", FAIL: "FAIL", NOT_APPLICABLE: "n/a"}  # FAIL in capitals: it must stand out


def markdown(verdicts: list[Verdict]) -> str:
    _require(verdicts)
    out = [f"# xcom-lab check: {verdicts[0].backend}", "", summary_line(verdicts), "", "## Scenarios", ""]
    out += _md_table(
        ["scenario", *(f"Airflow {v.airflow_version}" for v in verdicts)],
        [[sid, *(_status_word(v.scenario(sid)) for v in verdicts)] for sid in scenario_ids(verdicts)],
    )
    for v in verdicts:
        out += ["", f"## Airflow {v.airflow_version}", "", "### Failures", ""]
        out += _md_table(["scenario", "evidence", "fix"], [[s.id, s.evidence, s.fix] for s in v.failed])
        not_applicable = [s for s in v.scenarios if s.status == NOT_APPLICABLE]
        if not_applicable:
            out += ["", "### Not applicable", ""]
            out += _md_table(["scenario", "why"], [[s.id, s.evidence] for s in not_applicable])
        out += ["", "### Where the XComs landed", ""]
        out += _md_table(["xcom", "store", "key", "size", "format"],
                         [[x.xcom, x.store, x.key, f"{x.size:,}", x.format] for x in v.landings])
        out += ["", "### Leftovers", ""]
        out += _md_table(["store", "key", "size", "format", "scenario", "why"],
                         [[x.store, x.key, f"{x.size:,}", x.format, x.scenario, x.why] for x in v.leftovers])
    return "\n".join(out) + "\n"


def _status_word(result: ScenarioResult | None) -> str:
    return _MATRIX_WORD[result.status] if result else NOT_RUN


def _md_table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ["None."]
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return lines


def _md_cell(value: object) -> str:
    # a pipe would end the cell, a newline the row; renderers take "<class 'int'>" for an HTML tag and drop it
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text.replace("<", "&lt;").replace(">", "&gt;")


# --- JUnit XML --------------------------------------------------------------------------------------------------

# XML 1.0 cannot hold most control characters, not even escaped; evidence quoting a binary payload may have them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def junit(verdicts: list[Verdict]) -> str:
    _require(verdicts)
    backend = verdicts[0].backend
    suites = ET.Element("testsuites", name=_xml(f"xcom-lab check {backend}"))
    totals = dict.fromkeys(("tests", "failures", "skipped"), 0)
    for v in verdicts:
        counts = {"tests": len(v.scenarios), "failures": len(v.failed),
                  "skipped": sum(s.status == NOT_APPLICABLE for s in v.scenarios)}
        suite = ET.SubElement(
            suites, "testsuite", name=_xml(f"xcom-lab check {backend} on Airflow {v.airflow_version}"),
            errors="0", time=_seconds(sum(s.seconds for s in v.scenarios)), **{k: str(n) for k, n in counts.items()},
        )
        for s in v.scenarios:
            case = ET.SubElement(suite, "testcase", classname=_xml(f"check.{v.airflow_version}"), name=_xml(s.id),
                                 time=_seconds(s.seconds))
            if s.status == FAIL:
                ET.SubElement(case, "failure", message=_xml(s.evidence)).text = _xml(s.fix or s.evidence)
            elif s.status == NOT_APPLICABLE:
                ET.SubElement(case, "skipped", message=_xml(s.evidence))
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

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { margin-top: 2em; }
header p { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
code, td.mono { font-family: ui-monospace, monospace; font-size: 0.95em; word-break: break-all; }
#matrix td { min-width: 6em; }
#matrix td.pass { background: #d7f5d7; color: #135c13; }
#matrix td.fail { background: #fbd5d5; color: #8a1212; font-weight: bold; }
#matrix td.na { background: #e6e6e6; color: #555; }
#matrix td.not-run { background: #fff; color: #999; }
.fix { font-weight: normal; font-size: 0.9em; color: #333; margin-top: 0.3em; max-width: 30em; }
.none { color: #777; }
"""
# data-status carries the verdict's status verbatim; CSS classes cannot hold "n/a"
_CSS_CLASS = {PASS: "pass", FAIL: "fail", NOT_APPLICABLE: "na"}


def html(verdicts: list[Verdict], generated: datetime | None = None) -> str:
    """One self-contained page (inline CSS, no scripts, no external URLs)."""
    _require(verdicts)
    generated = generated or datetime.now(timezone.utc)
    backend = verdicts[0].backend
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>xcom-lab check: {_e(backend)}</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
        "<header>", f"<h1>xcom-lab check: <code>{_e(backend)}</code></h1>",
        f"<p>{_e(generated.strftime('%Y-%m-%d %H:%M %Z').strip())} &middot; {_e(summary_line(verdicts))}</p>",
        "</header>",
        '<table id="matrix">',
        "<thead><tr><th>scenario</th>" + "".join(f"<th>Airflow {_e(v.airflow_version)}</th>" for v in verdicts)
        + "</tr></thead>",
        "<tbody>",
    ]
    for sid in scenario_ids(verdicts):
        out.append(f'<tr><th scope="row">{_e(sid)}</th>'
                   + "".join(_matrix_cell(sid, v) for v in verdicts) + "</tr>")
    out += ["</tbody>", "</table>"]
    for v in verdicts:
        out += [f'<section id="airflow-{_e(v.airflow_version)}">', f"<h2>Airflow {_e(v.airflow_version)}</h2>"]
        out += ["<h3>Failures</h3>"] + _html_table(
            ["scenario", "evidence", "fix"], [[s.id, s.evidence, s.fix] for s in v.failed])
        out += ["<h3>Where the XComs landed</h3>"] + _html_table(
            ["xcom", "store", "key", "size", "format"],
            [[x.xcom, x.store, x.key, f"{x.size:,}", x.format] for x in v.landings])
        out += ["<h3>Leftovers</h3>"] + _html_table(
            ["store", "key", "size", "format", "scenario", "why"],
            [[x.store, x.key, f"{x.size:,}", x.format, x.scenario, x.why] for x in v.leftovers])
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def _matrix_cell(scenario_id: str, verdict: Verdict) -> str:
    result = verdict.scenario(scenario_id)
    where = f'data-scenario="{_e(scenario_id)}" data-version="{_e(verdict.airflow_version)}"'
    if result is None:
        return f'<td class="not-run" data-status="not-run" {where}>{NOT_RUN}</td>'
    fix = f'<div class="fix">{_e(result.fix)}</div>' if result.status == FAIL and result.fix else ""
    return (f'<td class="{_CSS_CLASS[result.status]}" data-status="{_e(result.status)}" {where} '
            f'title="{_e(result.evidence)}">{_MATRIX_WORD[result.status]}{fix}</td>')


def _html_table(header: list[str], rows: list[list[str]]) -> list[str]:
    if not rows:
        return ['<p class="none">None.</p>']
    lines = ["<table>", "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    lines += ["<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows]
    return lines + ["</table>"]


def _e(value: object) -> str:
    return _html.escape(str(value), quote=True)


# --- Files ------------------------------------------------------------------------------------------------------


def write_all(verdicts: list[Verdict], reports_dir: Path) -> list[Path]:
    """reports/check-<name>-<version>.json per verdict, then check-<name>.md, .junit.xml and .html."""
    _require(verdicts)
    reports_dir = Path(reports_dir)
    reports_dir.mkdir(parents=True, exist_ok=True)
    name = verdicts[0].name
    paths = []
    for v in verdicts:
        path = reports_dir / f"check-{name}-{v.airflow_version}.json"
        write_json(v, path)
        paths.append(path)
    for suffix, render in ((".md", markdown), (".junit.xml", junit), (".html", html)):
        path = reports_dir / f"check-{name}{suffix}"
        path.write_text(render(verdicts), encoding="utf-8")
        paths.append(path)
    return paths


def _require(verdicts: list[Verdict]) -> None:
    if not verdicts:
        raise ValueError("no verdicts to report")
