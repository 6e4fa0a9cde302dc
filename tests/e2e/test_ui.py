"""What a person sees, in a real browser (Debian's Chromium, driven headless by Playwright's Python API with
the system browser: no browser download, which this machine's registries would not allow).

The newcomer's path: a DAG file saved in dags/ appears within seconds, a run is triggered, and the task's
XCom tab shows both values as a person reads them: the DB-held one as its JSON, the offloaded one as the
reference to its object (2.x: xcomlab's `<url> (<size> bytes)`). Then make check's HTML reports of two verdicts
(check_verdicts.py) are opened in the same browser and read. Screenshots go to reports/ui-*.png.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from urllib.parse import quote

import check_verdicts
import pytest
from playwright.sync_api import expect, sync_playwright
from xcomlab_harness import report as check_report
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import airflow_major

pytestmark = pytest.mark.e2e

REPORTS = ROOT / "reports"
CHROMIUM = "/usr/bin/chromium"  # Debian's package (`apt-get install chromium`)
TOY_DAG = ROOT / "dags" / "xcom_push_pull.py"
PUSH_TASK = "push_objects"
APPEARS_WITHIN = 15  # seconds; the sandbox lists dags/ every 5 s, and parsing the file takes a few more


@pytest.fixture(scope="module")
def base_url(settings) -> str:
    return f"http://127.0.0.1:{settings.get('AIRFLOW_PORT', '8080')}"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run installs it)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser, base_url, settings):
    """A logged-in tab: Airflow 3's simple auth manager form, or 2.x's Flask-AppBuilder one."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base_url}/")
    page.locator("input[name=username], input#username").first.fill(settings["AIRFLOW_ADMIN_USER"])
    page.locator("input[name=password], input#password").first.fill(settings["AIRFLOW_ADMIN_PASSWORD"])
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/(home)?$"))
    yield page
    page.close()


@pytest.fixture
def report_page(browser):
    """A fresh tab for make check's reports (local files): nothing of Airflow's pages can reach it."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    yield page
    page.close()


@pytest.fixture(scope="module")
def check_reports(tmp_path_factory) -> Path:
    """The folder of make check's reports of both verdicts, written by the harness's own report code."""
    folder = tmp_path_factory.mktemp("check-reports")
    check_report.write_all([check_verdicts.two_flaws()], folder)
    check_report.write_all([check_verdicts.behind_a_wall(folder / "fix-forward")], folder)
    return folder


def opened(page, folder: Path, name: str) -> dict:
    """Opens make check's HTML report of `name` in the page; returns the JSON verdict it renders."""
    page.goto((folder / f"check-{name}.html").as_uri())
    return json.loads((folder / f"check-{name}-{check_verdicts.VERSION}.json").read_text())


@pytest.fixture(scope="module")
def newcomer_dag():
    """The id of a DAG file the test saves into dags/ (a copy of the toy DAG); removed afterwards."""
    dag_id = f"xcom_newcomer_{os.getpid()}"
    yield dag_id
    TOY_DAG.with_name(f"{dag_id}.py").unlink(missing_ok=True)


def xcom_tab_url(base_url: str, major: int, dag_id: str, run_id: str) -> str:
    if major >= 3:
        return f"{base_url}/dags/{dag_id}/runs/{quote(run_id, safe='')}/tasks/{PUSH_TASK}/xcom"
    return f"{base_url}/dags/{dag_id}/grid?dag_run_id={quote(run_id, safe='')}&task_id={PUSH_TASK}&tab=xcom"


def test_newcomer_sees_both_values_in_the_xcom_tab(stack, airflow, stores, settings, base_url, page, newcomer_dag, report):
    stack.start(BACKEND="xcomlab-s3")  # the sandbox's own settings (an earlier module may have left MWAA mode)
    TOY_DAG.with_name(f"{newcomer_dag}.py").write_text(TOY_DAG.read_text().replace("xcom_push_pull", newcomer_dag))
    saved = time.monotonic()
    airflow.wait_for_dag(newcomer_dag, timeout=APPEARS_WITHIN)
    appeared = time.monotonic() - saved
    run_id = airflow.trigger(newcomer_dag)
    airflow.wait_for_run(newcomer_dag, run_id)

    prefix = f"airflow-{settings['AIRFLOW_VERSION']}/xcomlab/{newcomer_dag}/"
    objects = [key for key in stores["s3"].list(prefix) if "/big_obj" in key]
    assert len(objects) == 1, f"expected big_obj's one object under s3://xcom/{prefix}: {objects}"
    big_size = len(stores["s3"].read(objects[0]))

    major = airflow_major(settings)
    page.goto(xcom_tab_url(base_url, major, newcomer_dag, run_id))
    big_row = page.locator("tr", has_text="big_obj")
    small_row = page.locator("tr", has_text="small_obj")
    expect(big_row).to_contain_text(f"s3://xcom_s3@xcom/{objects[0]}")
    if major >= 3:  # a JSON viewer, collapsed: open it as a person would
        page.get_by_role("button", name="Expand all extra JSON").click()
    else:  # xcomlab's orm_deserialize_value: what the 2.x UI lists for an offloaded value
        expect(big_row).to_contain_text(f"({big_size} bytes)")
    expect(small_row).to_contain_text(re.compile(r'"a":\s*23'))
    REPORTS.mkdir(exist_ok=True)
    shot = REPORTS / f"ui-xcom-tab-{settings['AIRFLOW_VERSION']}.png"
    page.screenshot(path=str(shot), full_page=True)
    report.add_ui("XCom tab", f"a new DAG file listed after {appeared:.1f} s; small_obj's JSON and big_obj's "
                  f"reference read in Chromium ({shot.name})")


def test_check_report_shows_its_matrix(report_page, check_reports, settings, report):
    """make check's HTML report, opened in the browser: each scenario's cell says what the JSON report says, and
    the page fetches nothing from anywhere."""
    version = check_verdicts.VERSION
    requested = []
    report_page.on("request", lambda request: requested.append(request.url))
    verdict = opened(report_page, check_reports, "long_list_files")
    assert [url for url in requested if not url.startswith("file://")] == []
    for scenario in verdict["scenarios"]:
        cell = report_page.locator(f'#matrix td[data-scenario="{scenario["id"]}"][data-version="{version}"]')
        expect(cell).to_have_attribute("data-status", scenario["status"])
        expect(cell).to_be_visible()
    types = next(s for s in verdict["scenarios"] if s["id"] == "types")  # each type's own outcome
    table = f'[id="details-types-{version}"]'  # the version's dots are no CSS id
    rows = report_page.locator(f"{table} tr[data-item]")
    expect(rows).to_have_count(len(types["details"]))
    for detail in types["details"]:
        expect(report_page.locator(f'{table} tr[data-item="{detail["item"]}"]')).to_have_attribute(
            "data-status", detail["status"])
    shot = REPORTS / f"ui-check-report-{settings['AIRFLOW_VERSION']}.png"
    report_page.screenshot(path=str(shot), full_page=True)
    report.add_ui("make check report", f"{len(verdict['scenarios'])} scenario cells match the JSON ({shot.name})")


def test_check_report_leads_with_root_causes(report_page, check_reports, settings, report):
    """A backend with two independent flaws (long_list_files: no purge, and [] for a missing file): the page
    opens on its two root causes, above the matrix, and the scenarios they block point at them."""
    version = check_verdicts.VERSION
    verdict = opened(report_page, check_reports, "long_list_files")
    causes = report_page.locator("#root-causes article.cause")
    expect(causes).to_have_count(2)
    assert len(verdict["causes"]) == 2, verdict["causes"]
    first_cause = report_page.locator("#root-causes").bounding_box()["y"]
    assert first_cause < report_page.locator("#matrix").bounding_box()["y"], "the root causes come after the matrix"
    for shown, cause in zip(causes.all(), verdict["causes"]):
        expect(shown.locator("h3")).to_contain_text(cause["title"])
        expect(shown).to_contain_text(cause["fix"][:60])
    blocked = report_page.locator(f'#matrix td[data-version="{version}"].blocked')
    expect(blocked.first).to_contain_text("blocked by")
    shot = REPORTS / f"ui-check-causes-{settings['AIRFLOW_VERSION']}.png"
    report_page.screenshot(path=str(shot), full_page=True)
    report.add_ui("make check root causes", f"{len(verdict['causes'])} causes above the matrix ({shot.name})")


def test_check_report_shows_the_layers_behind_the_wall(report_page, check_reports, settings, report):
    """The Airflow-2-era backend of test_check_layers: below its root cause (the signature), each layer in
    order with what failed after the fix before it, then the patch to apply."""
    version = check_verdicts.VERSION
    verdict = opened(report_page, check_reports, "stacked_airflow2")
    section = report_page.locator(f'section[id="layers-{version}"]')
    layers = section.locator("div.layer")
    expect(layers).to_have_count(len(verdict["layers"]))
    for n, (shown, layer) in enumerate(zip(layers.all(), verdict["layers"]), start=1):
        expect(shown).to_have_attribute("data-layer", str(n))
        expect(shown).to_contain_text(", ".join(layer["fixed"]))
        for cause in layer["causes"]:
            expect(shown).to_contain_text(cause["title"])
    assert report_page.locator("#root-causes").bounding_box()["y"] < section.bounding_box()["y"]
    patch = report_page.locator(f'pre[id="patch-{version}"]')
    expect(patch).to_contain_text("def serialize_value(value, **kwargs):")
    shot = REPORTS / f"ui-check-layers-{settings['AIRFLOW_VERSION']}.png"
    report_page.screenshot(path=str(shot), full_page=True)
    report.add_ui("make check layers", f"{len(verdict['layers'])} layers and the patch ({shot.name})")
