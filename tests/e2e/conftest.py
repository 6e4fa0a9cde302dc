"""The e2e stack: brought up once per session with pytest-docker, torn down even when bring-up fails.

Run through `make e2e`, which prepares the registry-less stand-ins first. KEEP_STACK=1 leaves the stack
running afterwards for debugging.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

import pytest
from report import Report
from stores import xcom_views
from xcomlab.tables import table
from xcomlab_harness.airflow_api import AirflowAPI
from xcomlab_harness.loading import task_side
from xcomlab_harness.probes.metadata import MetadataDB
from xcomlab_harness.stack import project
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.health import start_and_wait
from xcomlab_harness.stack.lifecycle import bring_up, prepare
from xcomlab_harness.stack.mwaa_wheels import fetch_mwaa_requirements
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.stack.state import offline_from_state

REPORTS = ROOT / "reports"
LOG_TAIL = "400"  # scheduler log lines attached to a failed test (a DAG run stuck in queued is its story)


@pytest.fixture(scope="session")
def settings() -> dict[str, str]:
    return load_settings()


@pytest.fixture(scope="session")
def compose_env(request, settings) -> dict[str, str]:
    """The environment `make` gives docker compose; pytest-docker's calls inherit it."""
    env = project.compose_env(settings, offline_from_state(settings))  # the mode `make e2e` chose
    os.environ.update(env)
    request.session.xcomlab_compose_env = env  # for pytest_runtest_makereport
    request.session.xcomlab_settings = settings
    return env


def pytest_collection_modifyitems(config, items):
    """test_session_end judges what every other module left behind: it runs last. E2E_SCOPE=version
    (`make e2e SCOPE=version`, a second Airflow version in CI) keeps only what can differ by version."""
    items.sort(key=lambda item: item.module.__name__ == "test_session_end")
    if os.environ.get("E2E_SCOPE") == "version":
        skipped = [item for item in items if item.get_closest_marker("version_independent")]
        config.hook.pytest_deselected(items=skipped)
        items[:] = [item for item in items if not item.get_closest_marker("version_independent")]


# --- progress: a line per test as it ends (on a terminal, or E2E_PROGRESS=1), a per-module summary always ---

class Progress:
    """Through pytest's own terminal reporter, not a rich Live region: pytest owns the terminal (and its capture)
    while tests run. The summary table is rich's (xcomlab.tables)."""

    def __init__(self, config):
        self.config, self.started, self.total = config, time.monotonic(), 0
        self.modules: dict[str, Counter] = {}  # module -> outcome counts and "seconds"
        self.live = os.environ.get("E2E_PROGRESS", "1" if sys.stdout.isatty() and not os.environ.get("CI") else "0") == "1"

    def pytest_collection_finish(self, session):
        self.total = len(session.items)

    def pytest_runtest_logreport(self, report):
        module = self.modules.setdefault(report.nodeid.split("::")[0].rsplit("/", 1)[-1], Counter())
        module["seconds"] += report.duration
        if report.when == "call" or report.outcome != "passed":  # a failed or skipped setup ends the test too
            if report.when != "teardown" or report.outcome == "failed":
                module[report.outcome] += 1
                if self.live:
                    done = sum(m["passed"] + m["failed"] + m["skipped"] for m in self.modules.values())
                    elapsed = time.strftime("%M:%S", time.gmtime(time.monotonic() - self.started))
                    self.config.pluginmanager.get_plugin("terminalreporter").write_line(
                        f"xcom-lab e2e {done:>3}/{self.total} {elapsed}  {report.nodeid.split('/')[-1]}  "
                        f"{report.outcome} ({report.duration:.1f} s)")

    def pytest_terminal_summary(self, terminalreporter):
        rows = [[name, c["passed"], c["failed"], c["skipped"], round(c["seconds"])]
                for name, c in sorted(self.modules.items(), key=lambda kv: -kv[1]["seconds"])]
        terminalreporter.write_sep("-", "xcom-lab e2e: modules by time")
        terminalreporter.write_line(table(["module", "passed", "failed", "skipped", "seconds"], rows))


def pytest_configure(config):
    config.pluginmanager.register(Progress(config), "xcomlab-progress")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """The first failed test of a module carries the scheduler's last log lines and the metadata DB's
    scheduling state: CI keeps only what the run printed. (Once per module: a failed module fixture fails
    every test after it the same way.)"""
    outcome = yield
    result = outcome.get_result()
    env = getattr(item.session, "xcomlab_compose_env", None)  # set once the stack's environment is known
    logged = item.session.__dict__.setdefault("xcomlab_logged_modules", set())
    if result.failed and env and item.module not in logged:
        logged.add(item.module)
        done = compose(env, "logs", "--no-color", "--tail", LOG_TAIL, "airflow-scheduler", check=False,
                               capture_output=True, text=True)
        result.sections.append(("airflow-scheduler log (tail)", done.stdout + done.stderr))
        try:
            result.sections.append(("metadata DB: scheduling state", MetadataDB(item.session.xcomlab_settings)
                                    .scheduling_state()))
        except Exception as err:  # noqa: BLE001 - the DB may be what is down
            result.sections.append(("metadata DB: scheduling state", f"unavailable: {err}"))


# --- pytest-docker's overridable fixtures ---------------------------------------------------------------

@pytest.fixture(scope="session")
def docker_compose_file(compose_env) -> list[str]:
    return compose_env["COMPOSE_FILE"].split(compose_env["COMPOSE_PATH_SEPARATOR"])


@pytest.fixture(scope="session")
def docker_compose_project_name() -> str:
    return "xcom-lab"  # the project `make up` runs: e2e reuses a running stack


@pytest.fixture(scope="session")
def docker_setup() -> list[str]:
    return []  # the `stack` fixture runs `up` itself, so that a failed bring-up is still torn down


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    # With the celery profile: the workers' own volumes go too, whether or not a test started them.
    return [] if os.environ.get("KEEP_STACK") == "1" else ["--profile celery down --volumes --remove-orphans"]


# --- the stack ---------------------------------------------------------------------------------------

class Stack:
    def __init__(self, env: dict[str, str], settings: dict[str, str]):
        self.env, self.settings = env, settings
        self.offline = offline_from_state(settings)

    def up(self) -> None:
        """As `make up`: the images readied (the Airflow image rebuilt if its inputs changed), then healthy."""
        self._fail_clearly(lambda: bring_up(self.settings, prepare(self.settings, self.offline),
                                                    timeout=300))

    def switch(self, backend: str) -> None:
        """As `make up BACKEND=...` on the running stack: compose recreates only the Airflow components."""
        self.start(BACKEND=backend)

    def switch_task_side(self, backend: str, **overrides: str) -> dict[str, str]:
        """The backend where tasks push and pull (loading.task_side: what runs the tasks, and 2.x's webserver,
        whose XCom views read through it) is recreated; the rest keeps running with the previous backend. A third
        to half of a full switch, for tests that look only at where the tasks' values land; `make check` and
        `switch` recreate every component, as a deployment would. Returns the compose environment."""
        return self.start(task_side(dict(self.settings, **overrides)), BACKEND=backend, **overrides)

    def start(self, services: tuple[str, ...] = (), **overrides: str) -> dict[str, str]:
        """As `make up KEY=value...` on the running stack (of the services named alone, when some are); returns
        the compose environment it used."""
        env = self.env_with(**overrides)
        self._fail_clearly(start_and_wait, env, timeout=300, services=services)
        return env

    def restore_after(self, request) -> None:
        """Back to the session's settings after a module that left them, unless the next module runs checks
        (its tests use `checked`): each check starts with a switch of its own, and a switch costs 15-25 s."""
        items = request.session.items
        last = max(i for i, item in enumerate(items) if item.module is request.module)
        if last + 1 == len(items) or "checked" not in items[last + 1].fixturenames:
            self.start()

    def env_with(self, **overrides: str) -> dict[str, str]:
        settings = dict(self.settings, **overrides)
        if settings["MWAA"] != "1":  # the image the stack runs already
            return dict(project.compose_env(settings, self.offline), **overrides)
        env = prepare(settings, self.offline, takes_over=False)  # its own image: MWAA's package set
        fetch_mwaa_requirements(settings, self.offline)
        return dict(env, **overrides)

    @staticmethod
    def _fail_clearly(step, *args, **kwargs) -> None:
        try:
            step(*args, **kwargs)
        except SandboxError as err:
            pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def stack(docker_services, compose_env, settings) -> Stack:
    stack = Stack(compose_env, settings)
    stack.up()
    return stack


@pytest.fixture(scope="module")
def checked(stack, request):
    """A module of `make check` runs: each switches the stack to the backend under test; back to the session's
    after (Stack.restore_after)."""
    yield
    stack.restore_after(request)


@pytest.fixture(scope="session")
def airflow(stack, settings) -> AirflowAPI:
    return AirflowAPI.of_sandbox(settings)


@pytest.fixture(scope="session")
def stores(stack, settings, compose_env) -> dict[str, object]:
    return xcom_views(settings, compose_env)


@pytest.fixture(scope="session")
def metadata_db(stack, settings) -> MetadataDB:
    return MetadataDB(settings)


@pytest.fixture(scope="session")
def report(settings):
    report = Report(settings["AIRFLOW_VERSION"])
    yield report
    REPORTS.mkdir(exist_ok=True)
    report.write(REPORTS / f"e2e-report-{settings['AIRFLOW_VERSION']}.md")
