"""Reports of two versions' verdicts: the matrix, failures, landings and leftovers in Markdown, JUnit and HTML."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html.parser import HTMLParser

from xcomlab_harness import report
from xcomlab_harness.verdict import Landing, Leftover, ScenarioResult, Verdict

BACKEND = "acme_xcom.backend.AcmeS3XComBackend"
SCRIPT = '<script>alert("x")</script>'
TYPES_FIX = "decode exactly what you encoded"


def verdicts():
    new = Verdict(
        backend=BACKEND, name="acme", airflow_version="3.3.1",
        scenarios=[
            ScenarioResult("toy", "pass", "pushed and pulled 3 values", seconds=1.5),
            ScenarioResult("types", "fail", "'123' (str) came back as 123 (int) | also " + SCRIPT, fix=TYPES_FIX,
                           seconds=2.25),
            ScenarioResult("dataframe", "n/a", "the backend stores no DataFrames"),
            ScenarioResult("purge", "pass", "clearing deleted the object"),
        ],
        landings=[Landing("toy/manual__1/push/-1/return_value", "s3://xcom", "xcom/toy/manual__1/push/value.json", 1234,
                          "json", scenario="toy")],
        leftovers=[Leftover("container airflow-worker", "/tmp/tmpab12.json", 17, "json", "types",
                            why="file in /tmp of the task's container")],
    )
    old = Verdict(
        backend=BACKEND, name="acme", airflow_version="2.10.3",
        scenarios=[
            ScenarioResult("toy", "fail", "ImportError: cannot import name 'XCom' from partially initialized module",
                           fix="import the hook inside the method"),
            ScenarioResult("types", "pass", "all 12 types came back equal"),
            ScenarioResult("dataframe", "n/a", "the backend stores no DataFrames"),
            ScenarioResult("purge", "fail", "1 orphan object after clearing"),  # no known fix
        ],
    )
    return [new, old]


def test_markdown_matrix_has_a_row_per_scenario_and_a_column_per_version():
    md = report.markdown(verdicts())
    assert md.startswith(f"# xcom-lab check: {BACKEND}\n")
    lines = md.splitlines()
    header = lines.index("| scenario | Airflow 3.3.1 | Airflow 2.10.3 |")
    assert lines[header + 2:header + 6] == [
        "| toy | pass | FAIL |",
        "| types | FAIL | pass |",
        "| dataframe | n/a | n/a |",
        "| purge | pass | FAIL |",
    ]


def test_markdown_sections_per_version_escape_pipes():
    md = report.markdown(verdicts())
    new, old = md.split("## Airflow 3.3.1")[1].split("## Airflow 2.10.3")
    # pipes escaped so the row keeps its cells; angle brackets so renderers show "<script>" instead of running it
    assert ("| types | '123' (str) came back as 123 (int) \\| also &lt;script&gt;alert(\"x\")&lt;/script&gt; "
            f"| {TYPES_FIX} |") in new
    assert SCRIPT not in md
    assert "| dataframe | the backend stores no DataFrames |" in new
    assert "| toy/manual__1/push/-1/return_value | s3://xcom | xcom/toy/manual__1/push/value.json | 1,234 | json |" in new
    assert "| container airflow-worker | /tmp/tmpab12.json | 17 | json | types | file in /tmp of the task's container |" in new
    assert "| purge | 1 orphan object after clearing |  |" in old
    assert old.count("None.") == 2  # no landings, no leftovers


def test_junit_counts_and_failures():
    root = ET.fromstring(report.junit(verdicts()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("8", "3", "2")
    new, old = root.findall("testsuite")
    assert new.get("name") == f"xcom-lab check {BACKEND} on Airflow 3.3.1"
    assert (new.get("tests"), new.get("failures"), new.get("skipped")) == ("4", "1", "1")
    assert (old.get("tests"), old.get("failures"), old.get("skipped")) == ("4", "2", "1")
    cases = {case.get("name"): case for case in new.findall("testcase")}
    assert list(cases) == ["toy", "types", "dataframe", "purge"]
    assert cases["types"].get("classname") == "check.3.3.1"
    assert cases["types"].get("time") == "2.250"
    failure = cases["types"].find("failure")
    assert failure.get("message") == "'123' (str) came back as 123 (int) | also " + SCRIPT
    assert failure.text == TYPES_FIX
    assert cases["dataframe"].find("skipped").get("message") == "the backend stores no DataFrames"
    assert cases["toy"].find("failure") is None and cases["toy"].find("skipped") is None
    purge = {case.get("name"): case for case in old.findall("testcase")}["purge"]
    assert purge.find("failure").text == "1 orphan object after clearing"  # no fix: the evidence


def test_junit_stays_parseable_with_control_characters_in_evidence():
    vs = verdicts()
    vs[0].scenarios[1].evidence = "stored b'\x00\x01' came back as ''"
    failure = ET.fromstring(report.junit(vs)).find("testsuite/testcase[@name='types']/failure")
    assert failure.get("message").startswith("stored b'")


class MatrixCells(HTMLParser):
    """The matrix's cells as (scenario, version, status, title, text), plus every tag and text seen."""

    def __init__(self):
        super().__init__()
        self.cells, self.tags, self.texts = [], [], []
        self._in_matrix = False
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table" and attrs.get("id") == "matrix":
            self._in_matrix = True
        elif self._in_matrix and tag == "td":
            self._cell = [attrs.get("data-scenario"), attrs.get("data-version"), attrs.get("data-status"),
                          attrs.get("title"), ""]

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_matrix = False
        elif tag == "td" and self._cell:
            self.cells.append(tuple(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.texts.append(data)
        if self._cell:
            self._cell[4] += data


def parse_html(vs=None):
    page = report.html(vs or verdicts(), generated=datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    parser = MatrixCells()
    parser.feed(page)
    return page, parser


def test_html_matrix_cells_carry_status_evidence_and_fix():
    page, parsed = parse_html()
    statuses = {(scenario, version): status for scenario, version, status, _, _ in parsed.cells}
    assert statuses == {
        ("toy", "3.3.1"): "pass", ("toy", "2.10.3"): "fail",
        ("types", "3.3.1"): "fail", ("types", "2.10.3"): "pass",
        ("dataframe", "3.3.1"): "n/a", ("dataframe", "2.10.3"): "n/a",
        ("purge", "3.3.1"): "pass", ("purge", "2.10.3"): "fail",
    }
    types_new = next(c for c in parsed.cells if c[:2] == ("types", "3.3.1"))
    assert types_new[3] == "'123' (str) came back as 123 (int) | also " + SCRIPT  # title, once unescaped
    assert types_new[4] == "FAIL" + TYPES_FIX  # the fix below the failing cell
    assert BACKEND in page and "2026-12-02" in page


def test_html_escapes_evidence():
    page, parsed = parse_html()
    assert SCRIPT not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "script" not in [tag for tag, _ in parsed.tags]


def test_html_is_self_contained():
    page, parsed = parse_html()
    assert "http://" not in page and "https://" not in page and "@import" not in page
    assert not [tag for tag, attrs in parsed.tags if tag in ("script", "link", "img") or "src" in attrs]
    assert "<style>" in page


def test_html_has_landings_and_leftovers_per_version():
    _, parsed = parse_html()
    assert "xcom/toy/manual__1/push/value.json" in parsed.texts
    assert "/tmp/tmpab12.json" in parsed.texts
    sections = [attrs["id"] for tag, attrs in parsed.tags if tag == "section"]
    assert sections == ["airflow-3.3.1", "airflow-2.10.3"]


def test_a_scenario_only_one_version_ran_is_marked_not_run():
    vs = verdicts()
    vs[1].scenarios.append(ScenarioResult("legacy", "pass", "2.x only"))
    assert report.scenario_ids(vs) == ["toy", "types", "dataframe", "purge", "legacy"]
    assert "| legacy | not run | pass |" in report.markdown(vs)
    _, parsed = parse_html(vs)
    assert ("legacy", "3.3.1", "not-run") in [c[:3] for c in parsed.cells]


def test_summary_line():
    assert report.summary_line(verdicts()) == (
        f"{BACKEND}: 3.3.1 2 pass, 1 fail, 1 n/a; 2.10.3 1 pass, 2 fail, 1 n/a"
    )


def test_write_all_creates_every_report(tmp_path):
    reports = tmp_path / "reports"
    paths = report.write_all(verdicts(), reports)
    assert [p.name for p in paths] == [
        "check-acme-3.3.1.json", "check-acme-2.10.3.json", "check-acme.md", "check-acme.junit.xml", "check-acme.html",
    ]
    assert all(p.is_file() and p.parent == reports for p in paths)
    data = json.loads((reports / "check-acme-3.3.1.json").read_text(encoding="utf-8"))
    assert Verdict.from_json(data) == verdicts()[0]
    ET.parse(reports / "check-acme.junit.xml")
    assert (reports / "check-acme.md").read_text(encoding="utf-8").startswith("# xcom-lab check: ")
