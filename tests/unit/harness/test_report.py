"""Reports of two versions' verdicts: root causes first, then the matrix, each version's failures, details,
landings and leftovers, and the backend's own code as coverage measured it, in Markdown, JUnit and HTML."""

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest

from xcomlab_harness import report
from xcomlab_harness.verdict import Detail, Landing, Layer, Leftover, RootCause, ScenarioResult, SourceFile, Verdict

BACKEND = "acme_xcom.backend.AcmeS3XComBackend"
SCRIPT = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"  # as Jinja2's autoescape writes SCRIPT
TYPES_EVIDENCE = "'123' (str) came back as 123 (int) | also " + SCRIPT
TYPES_FIX = "decode exactly what you encoded"
IMPORT_EVIDENCE = "ImportError: cannot import name 'XCom' from partially initialized module"
IMPORT_FIX = "import the hook inside the method"
PURGE_FIX = "delete the object in purge()"
TRACEBACK = 'Traceback (most recent call last):\n  File "observer.py", line 3\nKeyError: \'' + SCRIPT + "'\n"
SOURCE = "acme_xcom/backend.py"
SOURCE_LINES = ["import json", "def serialize(value):", "    return json.dumps(value)", "# " + SCRIPT, "def purge():",
                "    pass"]


def verdicts():
    new = Verdict(
        backend=BACKEND, name="acme", airflow_version="3.3.1",
        scenarios=[
            ScenarioResult("toy", "pass", "pushed and pulled 3 values", seconds=1.5,
                           lines_run={SOURCE: [1, 2, 3, 5]}),
            ScenarioResult("types", "fail", TYPES_EVIDENCE, fix=TYPES_FIX, seconds=2.25, cause="cause-1", details=[
                Detail("str", "fail", "'123' came back as 123 (int)"),
                Detail("int", "pass"),
                Detail(SCRIPT, "fail", "came back as " + SCRIPT),
            ], lines_run={SOURCE: [2, 3]}),
            ScenarioResult("shapes", "fail", "'123' (str) came back as 123 (int)", fix=TYPES_FIX, cause="cause-1"),
            ScenarioResult("dataframe", "n/a", "the backend stores no DataFrames"),
            ScenarioResult("purge", "pass", "clearing deleted the object"),
            ScenarioResult("custom_store", "not exercised", "no value reached the backend's store path"),
            ScenarioResult("leftovers", "error", "KeyError in xcom-lab's observer", traceback=TRACEBACK),
        ],
        landings=[Landing("toy/manual__1/push/-1/return_value", "s3://xcom", "xcom/toy/manual__1/push/value.json", 1234,
                          "json", scenario="toy")],
        leftovers=[Leftover("container airflow-worker", "/tmp/tmpab12.json", 17, "json", "types",
                            why="file in /tmp of the task's container")],
        causes=[RootCause("cause-1", "json-roundtrip", TYPES_EVIDENCE, TYPES_FIX, ["types", "shapes"])],
        offload="offloads shape_list_long; the store scenarios push the list_long shape",
        sources=[SourceFile(SOURCE, SOURCE_LINES, statements=[1, 2, 3, 5, 6], run=[1, 2, 3, 5])],
    )
    old = Verdict(
        backend=BACKEND, name="acme", airflow_version="2.10.3",
        scenarios=[
            ScenarioResult("toy", "fail", IMPORT_EVIDENCE, fix=IMPORT_FIX, cause="cause-1"),
            ScenarioResult("types", "fail", IMPORT_EVIDENCE, fix=IMPORT_FIX, cause="cause-1"),
            ScenarioResult("shapes", "pass", "every shape came back equal"),
            ScenarioResult("dataframe", "n/a", "the backend stores no DataFrames"),
            ScenarioResult("purge", "fail", "1 orphan object after clearing", fix=PURGE_FIX),  # no root cause
        ],
        causes=[RootCause("cause-1", "ImportError", IMPORT_EVIDENCE, IMPORT_FIX, ["toy", "types"])],
    )
    return [new, old]


# --- summary line -------------------------------------------------------------------------------------------------


def test_summary_line_counts_every_status_and_omits_zero_new_ones():
    assert report.summary_line(verdicts()) == (
        f"{BACKEND}: 3.3.1 2 pass, 2 fail, 1 n/a, 1 not exercised, 1 error; 2.10.3 1 pass, 3 fail, 1 n/a"
    )


# --- Markdown -----------------------------------------------------------------------------------------------------


def test_markdown_leads_with_the_root_causes():
    md = report.markdown(verdicts())
    assert md.startswith(f"# xcom-lab check: {BACKEND}\n")
    causes = md.index("## Root causes")
    assert causes < md.index("## Scenarios") < md.index("## Airflow 3.3.1")
    section = md[causes:md.index("## Scenarios")]
    assert "1. **json-roundtrip** (Airflow 3.3.1)\n   - scenarios: types, shapes\n" in section
    assert "   - evidence: '123' (str) came back as 123 (int) | also &lt;script&gt;alert(\"x\")&lt;/script&gt;\n" \
        in section
    assert f"   - fix: {TYPES_FIX}\n" in section
    assert "2. **ImportError** (Airflow 2.10.3)\n   - scenarios: toy, types\n" in section
    assert f"   - fix: {IMPORT_FIX}\n" in section


def test_markdown_matrix_has_a_row_per_scenario_and_a_column_per_version():
    lines = report.markdown(verdicts()).splitlines()
    header = lines.index("| scenario | Airflow 3.3.1 | Airflow 2.10.3 |")
    assert lines[header + 2:header + 9] == [
        "| toy | pass | FAIL (cause 2) |",
        "| types | FAIL (cause 1) | FAIL (cause 2) |",
        "| shapes | FAIL (cause 1) | pass |",
        "| dataframe | n/a | n/a |",
        "| purge | pass | FAIL |",
        "| custom_store | NOT EXERCISED | not run |",
        "| leftovers | ERROR | not run |",
    ]


def test_markdown_sections_per_version():
    md = report.markdown(verdicts())
    new, old = md.split("## Airflow 3.3.1")[1].split("## Airflow 2.10.3")
    assert "\nOffloads shape_list_long; the store scenarios push the list_long shape\n" in new
    assert "Offloads" not in old  # shapes did not run there: nothing to say
    # pipes escaped so the row keeps its cells; angle brackets so renderers show "<script>" instead of running it
    assert ("| types | cause 1 | '123' (str) came back as 123 (int) \\| also &lt;script&gt;alert(\"x\")&lt;/script&gt; "
            f"| {TYPES_FIX} |") in new
    assert "| shapes | cause 1 | blocked by json-roundtrip |  |" in new  # not a copy of the evidence
    assert "| toy | cause 2 | " + IMPORT_EVIDENCE in old and "| types | cause 2 | blocked by ImportError |  |" in old
    assert f"| purge |  | 1 orphan object after clearing | {PURGE_FIX} |" in old
    assert ("### Not exercised\n\n| scenario | why |\n|---|---|\n"
            "| custom_store | no value reached the backend's store path |") in new
    assert "| dataframe | the backend stores no DataFrames |" in new
    assert "### Harness errors" in new and "- **leftovers**: KeyError in xcom-lab's observer" in new
    assert "```text\n" + TRACEBACK + "```\n" in new  # verbatim in a fence: shown as code, never run
    assert "| toy/manual__1/push/-1/return_value | s3://xcom | xcom/toy/manual__1/push/value.json | 1,234 | json |" in new
    assert "| container airflow-worker | /tmp/tmpab12.json | 17 | json | types | file in /tmp of the task's container |" in new
    assert old.split("## Your backend's code")[0].count("None.") == 2  # no landings, no leftovers


def test_markdown_details_table_per_item():
    new = report.markdown(verdicts()).split("## Airflow 3.3.1")[1].split("## Airflow 2.10.3")[0]
    table = new.split("### types: each item\n\n")[1].split("\n\n")[0].splitlines()
    assert table == [
        "| item | status | evidence |", "|---|---|---|",
        "| str | FAIL | '123' came back as 123 (int) |",
        "| int | pass |  |",
        "| &lt;script&gt;alert(\"x\")&lt;/script&gt; | FAIL | came back as &lt;script&gt;alert(\"x\")&lt;/script&gt; |",
    ]


def test_markdown_coverage_summary():
    code = report.markdown(verdicts()).split("## Your backend's code")[1]
    assert f"| {SOURCE} | 4/5 (80%) | not measured |" in code
    assert "| toy | 4 | not measured |" in code and "| types | 2 | not measured |" in code
    assert "| custom_store | not measured | not run |" in code
    vs = verdicts()
    vs[0].sources = []
    assert "Coverage was not measured" in report.markdown(vs)


def test_markdown_never_holds_a_raw_tag():
    md = report.markdown(verdicts()).split("```text")[0]  # the traceback's fence holds it verbatim, as code
    assert SCRIPT not in md


# --- JUnit --------------------------------------------------------------------------------------------------------


def test_junit_counts_failures_errors_and_skips():
    root = ET.fromstring(report.junit(verdicts()))
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "12", "failures": "6", "errors": "1", "skipped": "2"}
    new, old = root.findall("testsuite")
    assert new.get("name") == f"xcom-lab check {BACKEND} on Airflow 3.3.1"
    assert [new.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["7", "3", "1", "1"]
    assert [old.get(k) for k in ("tests", "failures", "errors", "skipped")] == ["5", "3", "0", "1"]


def test_junit_cases():
    new, old = ET.fromstring(report.junit(verdicts())).findall("testsuite")
    cases = {case.get("name"): case for case in new.findall("testcase")}
    assert list(cases) == ["toy", "types", "shapes", "dataframe", "purge", "custom_store", "leftovers"]
    assert cases["types"].get("classname") == "check.3.3.1"
    assert cases["types"].get("time") == "2.250"
    failure = cases["types"].find("failure")
    assert failure.get("message") == TYPES_EVIDENCE
    assert failure.text.splitlines() == [  # the fix, then each failing item
        TYPES_FIX, "str: '123' came back as 123 (int)", f"{SCRIPT}: came back as {SCRIPT}"]
    blocked = cases["shapes"].find("failure")
    assert blocked.get("message") == "blocked by json-roundtrip"
    assert blocked.text == f"{TYPES_EVIDENCE}\nfix: {TYPES_FIX}"
    unexercised = cases["custom_store"].find("failure")
    assert unexercised.get("message") == "not exercised: no value reached the backend's store path"
    error = cases["leftovers"].find("error")
    assert error.text == TRACEBACK and cases["leftovers"].find("failure") is None
    assert cases["dataframe"].find("skipped").get("message") == "the backend stores no DataFrames"
    assert cases["toy"].find("failure") is None and cases["toy"].find("skipped") is None
    old_cases = {case.get("name"): case for case in old.findall("testcase")}
    assert old_cases["types"].find("failure").get("message") == "blocked by ImportError"
    assert old_cases["purge"].find("failure").text == PURGE_FIX


def test_junit_stays_parseable_with_control_characters_in_evidence():
    vs = verdicts()
    vs[0].scenarios[1].evidence = "stored b'\x00\x01' came back as ''"
    failure = ET.fromstring(report.junit(vs)).find("testsuite/testcase[@name='types']/failure")
    assert failure.get("message").startswith("stored b'")


# --- HTML ---------------------------------------------------------------------------------------------------------


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def all(self, tag=None, **attrs):
        """Every element below, in document order, with this tag and these attribute values."""
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(child.attrs.get(k.replace("_", "-")) == v
                                                             for k, v in attrs.items()):
                    yield child
                yield from child.all(tag, **attrs)

    def one(self, tag=None, **attrs):
        found = list(self.all(tag, **attrs))
        assert len(found) == 1, f"{len(found)} <{tag}> {attrs}"
        return found[0]


class Page(HTMLParser):
    """The page as a tree of Nodes (text unescaped, as a browser shows it), plus every tag seen."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__()
        self.root = self._at = Node("#document", {})
        self.tags = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        node = Node(tag, attrs, self._at)
        self._at.children.append(node)
        if tag not in self.VOID:
            self._at = node

    def handle_endtag(self, tag):
        node = self._at
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self._at = node.parent

    def handle_data(self, data):
        self._at.children.append(data)

    def cell(self, scenario, version):
        return self.root.one("td", data_scenario=scenario, data_version=version)


def parse_html(vs=None):
    page = report.html(vs or verdicts(), generated=datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc))
    parsed = Page()
    parsed.feed(page)
    return page, parsed


def test_html_leads_with_the_root_causes():
    page, parsed = parse_html()
    assert page.index('id="root-causes"') < page.index('id="matrix"')
    causes = parsed.root.one("section", id="root-causes")
    articles = list(causes.all("article"))
    assert [a.attrs["id"] for a in articles] == ["cause-1", "cause-2"]
    first = articles[0]
    assert first.one("h3").text == "cause 1 json-roundtrip"
    assert [c.text for c in first.all("code")] == ["types", "shapes"]
    assert first.one("dd", **{"class": "evidence"}).text == TYPES_EVIDENCE
    assert first.one("dd", **{"class": "fix-text"}).text == TYPES_FIX
    assert "Airflow 3.3.1" in first.text and "2.10.3" not in first.text
    assert "ImportError" in articles[1].text and IMPORT_FIX in articles[1].text


def test_html_merges_a_cause_that_recurs_on_several_versions():
    vs = verdicts()
    vs[1].causes = [RootCause("cause-1", "json-roundtrip", "'7' came back as 7", TYPES_FIX, ["toy", "types"])]
    _, parsed = parse_html(vs)
    (merged,) = parsed.root.one("section", id="root-causes").all("article")
    assert merged.attrs["data-versions"] == "3.3.1 2.10.3"
    assert "Airflow 3.3.1, 2.10.3" in merged.text
    assert [dd.text for dd in merged.all("dd", **{"class": "evidence"})] == [
        "3.3.1: " + TYPES_EVIDENCE, "2.10.3: '7' came back as 7"]  # each version's own evidence
    assert parsed.cell("toy", "2.10.3").text == "FAILcause 1"
    assert parsed.cell("types", "2.10.3").text == "blocked by json-roundtrip"
    assert "**json-roundtrip** (Airflow 3.3.1, 2.10.3)" in report.markdown(vs)


def test_html_matrix_cells_carry_status_cause_and_blocked():
    _, parsed = parse_html()
    cells = list(parsed.root.one("table", id="matrix").all("td"))
    statuses = {(c.attrs["data-scenario"], c.attrs["data-version"]): c.attrs["data-status"] for c in cells}
    assert statuses == {
        ("toy", "3.3.1"): "pass", ("toy", "2.10.3"): "fail",
        ("types", "3.3.1"): "fail", ("types", "2.10.3"): "fail",
        ("shapes", "3.3.1"): "fail", ("shapes", "2.10.3"): "pass",
        ("dataframe", "3.3.1"): "n/a", ("dataframe", "2.10.3"): "n/a",
        ("purge", "3.3.1"): "pass", ("purge", "2.10.3"): "fail",
        ("custom_store", "3.3.1"): "not exercised", ("custom_store", "2.10.3"): "not-run",
        ("leftovers", "3.3.1"): "error", ("leftovers", "2.10.3"): "not-run",
    }
    types = parsed.cell("types", "3.3.1")
    assert types.attrs["title"] == TYPES_EVIDENCE  # once unescaped
    assert types.text == "FAILcause 1" and types.one("a").attrs["href"] == "#cause-1"
    shapes = parsed.cell("shapes", "3.3.1")
    assert shapes.text == "blocked by json-roundtrip" and shapes.classes == ["fail", "blocked"]
    assert parsed.cell("types", "2.10.3").text == "blocked by ImportError"
    assert parsed.cell("toy", "2.10.3").text == "FAILcause 2"
    assert parsed.cell("purge", "2.10.3").text == "FAIL" + PURGE_FIX  # no cause: the fix below the cell


def test_html_not_exercised_and_error_have_their_own_colours():
    page, parsed = parse_html()
    unexercised, error = parsed.cell("custom_store", "3.3.1"), parsed.cell("leftovers", "3.3.1")
    assert (unexercised.attrs["data-status"], unexercised.classes, unexercised.text) == \
        ("not exercised", ["not-exercised"], "not exercised")
    assert (error.attrs["data-status"], error.classes, error.text) == ("error", ["error"], "error")
    style = parsed.root.one("style").text
    assert ".not-exercised {" in style and ".error {" in style
    assert parsed.cell("custom_store", "2.10.3").classes == ["not-run"]


def test_html_per_version_failures_not_exercised_and_errors():
    _, parsed = parse_html()
    new = parsed.root.one("section", id="airflow-3.3.1")
    failures = {row.attrs["data-scenario"]: row for row in new.one("table", **{"class": "failures"}).all("tr")
                if "data-scenario" in row.attrs}
    assert failures["types"].text == "typescause 1" + TYPES_EVIDENCE + TYPES_FIX
    assert failures["shapes"].text == "shapescause 1blocked by json-roundtrip"  # not a copy of the evidence
    assert "custom_store" in new.one("table", **{"class": "not-exercised-list"}).text
    assert "no value reached the backend's store path" in new.text
    harness_error = new.one("div", id="error-leftovers-3.3.1")
    assert harness_error.one("pre").text == TRACEBACK
    assert "Offloads shape_list_long; the store scenarios push the list_long shape" in new.text
    old = parsed.root.one("section", id="airflow-2.10.3")
    assert "Offloads" not in old.text
    assert not list(old.all("pre"))


def test_html_details_table_per_item():
    _, parsed = parse_html()
    table = parsed.root.one("table", id="details-types-3.3.1")
    rows = [(r.attrs["data-item"], r.attrs["data-status"], [td.text for td in r.all("td")])
            for r in table.all("tr") if "data-item" in r.attrs]
    assert rows == [
        ("str", "fail", ["str", "FAIL", "'123' came back as 123 (int)"]),
        ("int", "pass", ["int", "pass", ""]),
        (SCRIPT, "fail", [SCRIPT, "FAIL", "came back as " + SCRIPT]),  # text, once unescaped: never a tag
    ]
    assert not list(parsed.root.all("table", id="details-shapes-3.3.1"))  # no details, no table


def test_html_source_view_marks_run_and_not_run_lines():
    _, parsed = parse_html()
    source = parsed.root.one("table", data_path=SOURCE)
    rows = {int(r.attrs["data-line"]): r for r in source.all("tr") if "data-line" in r.attrs}
    assert [rows[n].classes for n in range(1, 7)] == [["run"], ["run"], ["run"], ["plain"], ["run"], ["not-run"]]
    assert rows[4].one("td", **{"class": "code"}).text == "# " + SCRIPT
    assert rows[6].one("td", **{"class": "ln"}).text == "6"
    code = parsed.root.one("section", id="code")
    assert "4/5 (80%) statements ran" in code.text
    lines_ran = {(r.attrs["data-scenario"], td.attrs["data-version"]): td.text
                 for r in code.one("table", id="lines-per-scenario").all("tr") if "data-scenario" in r.attrs
                 for td in r.all("td")}
    assert lines_ran[("toy", "3.3.1")] == "4" and lines_ran[("types", "3.3.1")] == "2"
    assert lines_ran[("shapes", "3.3.1")] == "not measured" and lines_ran[("custom_store", "2.10.3")] == "not run"


def test_html_source_view_shared_by_versions_marks_each():
    vs = verdicts()
    vs[1].sources = [SourceFile(SOURCE, SOURCE_LINES, statements=[1, 2, 3, 5, 6], run=[1, 2, 3, 6])]
    _, parsed = parse_html(vs)
    (source,) = parsed.root.all("table", data_path=SOURCE)
    rows = {int(r.attrs["data-line"]): r for r in source.all("tr") if "data-line" in r.attrs}
    assert [rows[n].classes for n in (1, 4, 5, 6)] == [["run"], ["plain"], ["partly-run"], ["partly-run"]]
    assert [td.attrs["class"] for td in rows[5].all("td") if "mark" in td.classes] == ["mark run", "mark not-run"]


def test_html_says_when_coverage_was_not_measured():
    vs = verdicts()
    vs[0].sources = []
    _, parsed = parse_html(vs)
    assert "Coverage was not measured" in parsed.root.one("section", id="code").text
    assert not list(parsed.root.all("table", **{"class": "source"}))


def test_html_escapes_hostile_text():
    page, parsed = parse_html()
    assert SCRIPT not in page
    assert ESCAPED in page
    assert "script" not in [tag for tag, _ in parsed.tags]
    assert ("<" + "script") not in page.lower()


def test_html_is_self_contained():
    page, parsed = parse_html()
    assert "http://" not in page and "https://" not in page and "@import" not in page and "url(" not in page
    assert not [tag for tag, attrs in parsed.tags if tag in ("script", "link", "img", "iframe") or "src" in attrs]
    assert not [attrs["href"] for tag, attrs in parsed.tags if tag == "a" and not attrs["href"].startswith("#")]
    assert "<style>" in page
    assert "2026-12-02" in page and BACKEND in page


def test_html_has_landings_and_leftovers_per_version():
    _, parsed = parse_html()
    texts = [c for node in parsed.root.all("td") for c in node.children if isinstance(c, str)]
    assert "xcom/toy/manual__1/push/value.json" in texts
    assert "/tmp/tmpab12.json" in texts
    sections = [attrs["id"] for tag, attrs in parsed.tags if tag == "section"]
    assert sections == ["root-causes", "scenarios", "airflow-3.3.1", "airflow-2.10.3", "code"]


def test_html_without_failures_says_so():
    vs = verdicts()[:1]
    vs[0].scenarios, vs[0].causes = [ScenarioResult("toy", "pass", "ok")], []
    _, parsed = parse_html(vs)
    assert parsed.root.one("section", id="root-causes").one("p").text == "None: nothing failed."


def test_a_scenario_only_one_version_ran_is_marked_not_run():
    vs = verdicts()
    vs[1].scenarios.append(ScenarioResult("legacy", "pass", "2.x only"))
    assert report.scenario_ids(vs) == ["toy", "types", "shapes", "dataframe", "purge", "custom_store", "leftovers",
                                       "legacy"]
    assert "| legacy | not run | pass |" in report.markdown(vs)
    _, parsed = parse_html(vs)
    assert parsed.cell("legacy", "3.3.1").attrs["data-status"] == "not-run"


# --- files --------------------------------------------------------------------------------------------------------


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
    assert (reports / "check-acme.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


# --- behind the wall: fix-forward layers --------------------------------------------------------------------------

SIGNATURE_EVIDENCE = "push failed: TypeError: serialize_value() got an unexpected keyword argument 'key'"
SIGNATURE_FIX = "take key, task_id, dag_id, run_id and map_index as keywords"
STR_ONLY_EVIDENCE = "push failed: DataError: Invalid input of type: 'dict'"
STR_ONLY_FIX = "hand the client a str: json.dumps what BaseXCom.serialize_value returns"
PATCH = ("diff --git a/acme_xcom/backend.py b/acme_xcom/backend.py\n--- a/acme_xcom/backend.py\n"
         "+++ b/acme_xcom/backend.py\n@@ -1,2 +1,2 @@\n-def serialize(value):\n"
         "+def serialize(value, *, key=None, **kwargs):\n+    # " + SCRIPT + "\n")


def layered():
    """3.3.1 behind a wall: every push fails on the keyword signature; fixed, a str-only client; fixed too, nothing."""
    vs = verdicts()
    new = vs[0]
    new.scenarios = [ScenarioResult("toy", "fail", SIGNATURE_EVIDENCE, fix=SIGNATURE_FIX, cause="cause-1"),
                     ScenarioResult("threshold", "fail", SIGNATURE_EVIDENCE, fix=SIGNATURE_FIX, cause="cause-1"),
                     ScenarioResult("types", "fail", SIGNATURE_EVIDENCE, fix=SIGNATURE_FIX, cause="cause-1"),
                     ScenarioResult("pickle", "pass", "no payload is a pickle")]
    new.causes = [RootCause("cause-1", "keyword signature", SIGNATURE_EVIDENCE, SIGNATURE_FIX,
                            ["toy", "threshold", "types"], fix_id="keyword-signature")]
    new.layers = [
        Layer(["keyword signature"], PATCH, scenarios=[
            ScenarioResult("toy", "pass", "pushed and pulled 2 values"),
            ScenarioResult("threshold", "fail", STR_ONLY_EVIDENCE, fix=STR_ONLY_FIX, cause="cause-1"),
            ScenarioResult("types", "fail", STR_ONLY_EVIDENCE, fix=STR_ONLY_FIX, cause="cause-1"),
            ScenarioResult("big", "not exercised", "nothing offloaded"),
        ], causes=[RootCause("cause-1", "str only client", STR_ONLY_EVIDENCE, STR_ONLY_FIX, ["threshold", "types"],
                             fix_id="str-only-client")]),
        Layer(["str only client"], PATCH, scenarios=[
            ScenarioResult("threshold", "pass", "inline up to 1 kB"), ScenarioResult("types", "pass", "every type"),
        ]),
    ]
    new.patch = PATCH
    return vs


def test_json_round_trips_the_layers_and_the_patch():
    new = layered()[0]
    assert Verdict.from_json(json.loads(json.dumps(new.to_json()))) == new
    data = new.to_json()
    assert data["patch"] == PATCH and [layer["fixed"] for layer in data["layers"]] == [["keyword signature"],
                                                                                      ["str only client"]]


def test_summary_line_tells_what_lies_behind_the_wall():
    line = report.summary_line(layered())
    assert line.endswith("; behind the wall (3.3.1): 2 more layers, patch in reports/check-acme-3.3.1.patch")
    assert "\n" not in line
    vs = layered()
    vs[0].layers, vs[0].patch = vs[0].layers[:1], ""
    assert report.summary_line(vs, "out").endswith("; behind the wall (3.3.1): 1 more layer")
    assert "behind the wall" not in report.summary_line(verdicts())


def test_markdown_shows_the_layers_in_order_after_the_root_causes():
    md = report.markdown(layered())
    wall = md.index("## Behind the wall (3.3.1)")
    assert md.index("## Root causes") < wall < md.index("## Scenarios")
    assert "## Behind the wall (2.10.3)" not in md  # no layers there
    section = md[wall:md.index("## Scenarios")]
    first = section.index("1. after fixing keyword signature\n")
    second = section.index("2. after also fixing str only client\n")
    assert first < second
    layer1 = section[first:second]
    assert "   - **str only client**\n     - scenarios: threshold, types\n" in layer1
    assert f"     - evidence: {STR_ONLY_EVIDENCE}\n     - fix: {STR_ONLY_FIX}\n" in layer1
    assert "   - now pass: toy\n" in layer1 and "   - not exercised: big\n" in layer1
    layer2 = section[second:]
    assert "   - no further failure in the scenarios re-run\n   - now pass: threshold, types\n" in layer2
    assert ("save as `check-acme-3.3.1.patch`, then in your backend's folder: `git apply check-acme-3.3.1.patch` "
            "(or `patch -p1 < check-acme-3.3.1.patch`)") in layer2
    assert "```diff\n" + PATCH + "```\n" in layer2  # verbatim, as code
    assert "| toy | FAIL (cause 1) | FAIL (cause 2) |" in md  # the matrix stays the code as it is


def test_markdown_without_layers_has_no_wall():
    assert "Behind the wall" not in report.markdown(verdicts())


def test_html_shows_the_layers_in_order_after_the_root_causes():
    page, parsed = parse_html(layered())
    sections = [attrs["id"] for tag, attrs in parsed.tags if tag == "section"]
    assert sections[:3] == ["root-causes", "layers-3.3.1", "scenarios"]
    wall = parsed.root.one("section", id="layers-3.3.1")
    layers = [node for node in wall.all("div") if "data-layer" in node.attrs]
    assert [layer.attrs["data-layer"] for layer in layers] == ["1", "2"]
    first, second = layers
    assert next(first.all("h3")).text == "1. after fixing keyword signature"
    (cause,) = first.all("article")
    assert cause.attrs["id"] == "layer-3.3.1-1-cause-1"  # not the page's own cause-1
    assert cause.one("h3").text == "str only client"
    assert [c.text for c in cause.all("code")] == ["threshold", "types"]
    assert cause.one("dd", **{"class": "evidence"}).text == STR_ONLY_EVIDENCE
    assert cause.one("dd", **{"class": "fix-text"}).text == STR_ONLY_FIX
    assert first.one("p", **{"class": "now-pass"}).text == "now pass: toy"
    assert first.one("p", **{"class": "layer-not-exercised"}).text == "not exercised: big"
    assert "no further failure" not in first.text
    assert second.one("h3").text == "2. after also fixing str only client"
    assert second.one("p", **{"class": "clean"}).text == "no further failure in the scenarios re-run"
    assert second.one("p", **{"class": "now-pass"}).text == "now pass: threshold, types"
    assert wall.one("pre", id="patch-3.3.1").text == PATCH
    assert ("save as check-acme-3.3.1.patch, then in your backend's folder: git apply check-acme-3.3.1.patch "
            "(or patch -p1 < check-acme-3.3.1.patch)") in wall.one("p", **{"class": "apply"}).text.lower()
    assert SCRIPT not in page  # the patch is escaped like everything else
    # the page's own root causes and matrix stay about the code as it is
    assert parsed.cell("toy", "3.3.1").attrs["data-status"] == "fail"
    assert [a.attrs["id"] for a in parsed.root.one("section", id="root-causes").all("article")] == ["cause-1",
                                                                                                 "cause-2"]


def test_html_layer_failures_without_a_cause_are_listed():
    vs = layered()
    vs[0].layers[1].scenarios.append(ScenarioResult("purge", "fail", "1 orphan object", fix=PURGE_FIX))
    _, parsed = parse_html(vs)
    second = parsed.root.one("div", data_layer="2")
    assert "no further failure" not in second.text
    assert second.one("tr", data_scenario="purge").text == "purge1 orphan object" + PURGE_FIX
    assert "   - **purge** (no root cause)\n     - evidence: 1 orphan object\n" in report.markdown(vs)


def test_junit_keeps_the_code_as_it_is_and_tells_the_layers_aside():
    new, old = ET.fromstring(report.junit(layered())).findall("testsuite")
    assert [c.get("name") for c in new.findall("testcase")] == ["toy", "threshold", "types", "pickle"]
    assert new.get("failures") == "3"
    out = new.find("system-out").text.splitlines()
    assert out[1:] == [
        "1. after fixing keyword signature: fail threshold, types (str only client); now pass: toy; "
        "not exercised: big",
        "2. after also fixing str only client: no further failure in the scenarios re-run; now pass: threshold, types",
        "patch: check-acme-3.3.1.patch, beside this report",
    ]
    assert old.find("system-out") is None


def test_write_all_writes_the_patch_and_removes_a_stale_one(tmp_path):
    paths = report.write_all(layered(), tmp_path)
    patch = tmp_path / "check-acme-3.3.1.patch"
    assert patch in paths and patch.read_text(encoding="utf-8") == PATCH
    assert not (tmp_path / "check-acme-2.10.3.patch").exists()
    paths = report.write_all(verdicts(), tmp_path)  # the next run found no wall
    assert not patch.exists() and patch not in paths


# --- merging shards -----------------------------------------------------------------------------------------------


def shard(folder, verdict):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"check-{verdict.name}-{verdict.slug}.json"
    report.write_json(verdict, path)
    return path


def passing(version, backend=BACKEND, name="acme"):
    return Verdict(backend, name, version, scenarios=[ScenarioResult("toy", "pass", "ok")])


def test_merge_puts_two_shards_of_one_backend_side_by_side(tmp_path):
    shard(tmp_path / "job-a" / "reports", passing("3.3.1"))
    shard(tmp_path / "job-b" / "reports", passing("2.11.2"))
    (tmp_path / "job-b" / "reports" / "bench.json").write_text("[]")  # not a verdict: ignored
    out = tmp_path / "merged"
    paths = report.merge([tmp_path / "job-a", tmp_path / "job-b"], out)
    assert [p.name for p in paths] == ["check-acme-2.11.2.json", "check-acme-3.3.1.json", "check-acme.md",
                                       "check-acme.junit.xml", "check-acme.html"]
    assert all(p.parent == out for p in paths)
    md = (out / "check-acme.md").read_text(encoding="utf-8")
    assert "| scenario | Airflow 2.11.2 | Airflow 3.3.1 |" in md  # versions in order, not in the order found
    suites = ET.parse(out / "check-acme.junit.xml").getroot().findall("testsuite")
    assert [s.get("name").rsplit(" ", 1)[-1] for s in suites] == ["2.11.2", "3.3.1"]


def test_the_sandbox_and_mwaa_on_one_version_stand_side_by_side(tmp_path):
    """`make check` and `make check MWAA=1` on 3.3.1 (two CI shards): two columns, the MWAA one naming its package set,
    so a verdict that differs by provider versions shows as one."""
    package_set = "MWAA's package set for Airflow 3.3.1 (common-io 1.8.0)"
    mwaa = Verdict(BACKEND, "acme", "3.3.1", scenarios=[ScenarioResult("toy", "fail", "push failed")], mwaa=package_set)
    shard(tmp_path / "mwaa", mwaa)
    shard(tmp_path / "sandbox", passing("3.3.1"))
    paths = report.merge([tmp_path / "mwaa", tmp_path / "sandbox"], tmp_path / "out")
    assert {"check-acme-3.3.1.json", "check-acme-3.3.1-mwaa.json"} <= {p.name for p in paths}
    md = (tmp_path / "out" / "check-acme.md").read_text(encoding="utf-8")
    assert "| scenario | Airflow 3.3.1 | Airflow 3.3.1 (MWAA) |" in md
    assert "| toy | pass | FAIL |" in md
    assert f"## Airflow 3.3.1 (MWAA)\n\n{package_set}" in md
    html = (tmp_path / "out" / "check-acme.html").read_text(encoding="utf-8")
    assert 'data-version="3.3.1-mwaa"' in html and 'id="airflow-3.3.1-mwaa"' in html
    assert report.read_shard(tmp_path / "out" / "check-acme-3.3.1-mwaa.json").mwaa == package_set
    shard(tmp_path / "again", mwaa)
    with pytest.raises(ValueError, match=r"3\.3\.1 \(MWAA\): keep one"):
        report.load_shards([tmp_path / "mwaa", tmp_path / "again"])


def test_merge_orders_versions_as_versions_not_as_text(tmp_path):
    files = [shard(tmp_path / version, passing(version)) for version in ("3.10.0", "2.9.3", "3.3.1")]
    (group,) = report.load_shards(files)
    assert [v.airflow_version for v in group] == ["2.9.3", "3.3.1", "3.10.0"]


def test_merge_gives_each_backend_its_own_reports(tmp_path):
    shard(tmp_path / "a", passing("3.3.1"))
    shard(tmp_path / "b", passing("3.3.1", backend="other_xcom.OtherXCom", name="other"))
    shard(tmp_path / "b", passing("2.11.2", backend="other_xcom.OtherXCom", name="other"))
    paths = report.merge([tmp_path / "a", tmp_path / "b" / "check-other-3.3.1.json",
                          tmp_path / "b" / "check-other-2.11.2.json"], tmp_path / "out")
    assert sorted(p.name for p in paths if p.suffix != ".json") == [
        "check-acme.html", "check-acme.junit.xml", "check-acme.md",
        "check-other.html", "check-other.junit.xml", "check-other.md"]
    assert "Airflow 2.11.2" not in (tmp_path / "out" / "check-acme.md").read_text(encoding="utf-8")
    assert "| scenario | Airflow 2.11.2 | Airflow 3.3.1 |" in (tmp_path / "out" / "check-other.md").read_text(
        encoding="utf-8")


def test_merge_keeps_the_layers_and_writes_the_patch(tmp_path):
    shard(tmp_path / "a", layered()[0])
    shard(tmp_path / "b", layered()[1])
    paths = report.merge([tmp_path], tmp_path / "out")
    assert (tmp_path / "out" / "check-acme-3.3.1.patch") in paths
    assert "## Behind the wall (3.3.1)" in (tmp_path / "out" / "check-acme.md").read_text(encoding="utf-8")


def test_merge_reads_a_file_given_twice_once(tmp_path):
    path = shard(tmp_path / "a", passing("3.3.1"))
    (group,) = report.load_shards([path, tmp_path / "a", tmp_path])
    assert len(group) == 1


def test_merge_refuses_one_version_in_two_files(tmp_path):
    first, second = shard(tmp_path / "a", passing("3.3.1")), shard(tmp_path / "b", passing("3.3.1"))
    out = tmp_path / "out"
    with pytest.raises(ValueError) as refused:
        report.merge([tmp_path / "a", tmp_path / "b"], out)
    assert str(first) in str(refused.value) and str(second) in str(refused.value)
    assert "3.3.1" in str(refused.value)
    assert not out.exists()  # nothing written


def test_merge_refuses_one_name_for_two_backends(tmp_path):
    first = shard(tmp_path / "a", passing("3.3.1"))
    second = shard(tmp_path / "b", passing("2.11.2", backend="other_xcom.OtherXCom"))
    with pytest.raises(ValueError) as refused:
        report.load_shards([tmp_path])
    message = str(refused.value)
    assert str(first) in message and str(second) in message
    assert BACKEND in message and "other_xcom.OtherXCom" in message and "CHECK_NAME" in message


@pytest.mark.parametrize("content, said", [("{not json", "not valid JSON"),
                                           ('{"backend": "x"}', "not a check verdict"),
                                           ('{"backend": "x", "name": "n", "airflow_version": "3.3.1", '
                                            '"scenarios": [{"id": "toy", "status": "great", "evidence": ""}]}',
                                            "not a check verdict")])
def test_merge_refuses_what_is_not_a_verdict(tmp_path, content, said):
    (tmp_path / "check-x-3.3.1.json").write_text(content)
    with pytest.raises(ValueError, match=said) as refused:
        report.load_shards([tmp_path])
    assert "check-x-3.3.1.json" in str(refused.value)


def test_merge_refuses_no_verdicts_and_missing_paths(tmp_path):
    (tmp_path / "bench.json").write_text("{}")
    with pytest.raises(ValueError, match="no check-<name>-<version>.json in"):
        report.load_shards([tmp_path])
    with pytest.raises(ValueError, match="no such file or folder"):
        report.load_shards([tmp_path / "nowhere"])


def test_merge_main_exit_codes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ALLOW_UNEXERCISED", raising=False)
    out = str(tmp_path / "out")
    shard(tmp_path / "ok", passing("3.3.1"))
    assert report.merge_main([str(tmp_path / "ok"), "--reports", out]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"{BACKEND}: 3.3.1 1 pass, 0 fail, 0 n/a"
    assert printed[1:] == [f"  {tmp_path / 'out' / name}" for name in
                           ("check-acme-3.3.1.json", "check-acme.md", "check-acme.junit.xml", "check-acme.html")]

    unexercised = passing("2.11.2")
    unexercised.scenarios.append(ScenarioResult("big", "not exercised", "nothing offloaded"))
    shard(tmp_path / "ok", unexercised)
    assert report.merge_main([str(tmp_path / "ok"), "--reports", out]) == 1
    monkeypatch.setenv("ALLOW_UNEXERCISED", "1")
    assert report.merge_main([str(tmp_path / "ok"), "--reports", out]) == 0

    capsys.readouterr()
    shard(tmp_path / "layered", layered()[0])  # fails (behind its wall, a patch)
    assert report.merge_main([str(tmp_path / "layered"), "--reports", out]) == 1
    assert "patch in " + str(tmp_path / "out" / "check-acme-3.3.1.patch") in capsys.readouterr().out
    shard(tmp_path / "broke", verdicts()[0])  # a harness error
    assert report.merge_main([str(tmp_path / "broke"), "--reports", out]) == 2


def test_merge_main_bad_input_is_exit_2_with_a_message(tmp_path, capsys):
    shard(tmp_path / "a", passing("3.3.1"))
    shard(tmp_path / "b", passing("3.3.1"))
    assert report.merge_main([str(tmp_path / "a"), str(tmp_path / "b"), "--reports", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xcom-lab: error: ") and "keep one" in err
    assert report.merge_main([str(tmp_path / "empty-and-missing"), "--reports", str(tmp_path / "out")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        report.merge_main([])
    assert usage.value.code == 2


def test_merge_main_writes_where_check_does_by_default(tmp_path, monkeypatch, capsys):
    from xcomlab_harness import check
    assert report.REPORTS == check.REPORTS
    monkeypatch.setattr(report, "REPORTS", tmp_path / "reports")
    shard(tmp_path / "shard", passing("3.3.1"))
    assert report.merge_main([str(tmp_path / "shard")]) == 0
    assert (tmp_path / "reports" / "check-acme.html").is_file()
    assert f"  {tmp_path / 'reports' / 'check-acme.md'}" in capsys.readouterr().out.splitlines()


@pytest.mark.parametrize(("field", "value"), [("name", "../../escaped"), ("name", "a/b"), ("airflow_version", "../3.3.1"),
                                               ("name", "..hidden"), ("name", "")])
def test_merge_refuses_a_shard_whose_name_would_be_a_path(tmp_path, field, value):
    data = passing("3.3.1").to_json()
    data[field] = value
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "check-x-3.3.1.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=rf"its {field} .* cannot name a report file: it must be 1-64 letters"):
        report.merge([tmp_path / "in"], tmp_path / "out" / "reports")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["in", "in/check-x-3.3.1.json"]
