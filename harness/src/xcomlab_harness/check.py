"""`make check`: judge a user's own XCom backend on each Airflow version, observed from outside Airflow.

    make check XCOM_BACKEND=my_xcom.S3XComBackend BACKEND_SRC=path/to/my_xcom.py \\
               [BACKEND_ENV=my.env] [REQUIREMENTS=requirements.txt] [CONNECTIONS=my_s3=s3] \\
               [AIRFLOW_VERSIONS=2.11.2,3.3.1] [SCENARIOS=toy,types] [CHECK_NAME=mine] [FIX_FORWARD=0]
    make check BACKEND=xcomlab-s3        # one of the built-in backends (compose/backends/), judged alike

Per version: the stack comes up with the backend mounted into every Airflow component (REQUIREMENTS installed,
CONNECTIONS pointed at the emulators), each scenario runs in turn (xcomlab_harness.scenarios), and when a root
cause has a mechanical fix the affected scenarios run again on a patched copy, layer after layer
(see_past_walls); reports/check-<name>-<version>.json records the verdict; the Markdown, JUnit and HTML
reports put the versions side by side, led by the root causes. Exit 0 when every
scenario passes (or is n/a), 1 when one fails or was not exercised (ALLOW_UNEXERCISED=1: only failures), 2 on
bad settings or when the harness itself broke (its traceback is in the report).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console

from xcomlab_harness import causes, loading, patches, report
from xcomlab_harness.airflow_api import AirflowAPI, DagRunFailed
from xcomlab_harness.dag_runs import Context, written
from xcomlab_harness.observer import Observer
from xcomlab_harness.own_code import OwnCode
from xcomlab_harness.probes import all_probes
from xcomlab_harness.probes.metadata import MetadataDB
from xcomlab_harness.scenarios import by_id, having, ids
from xcomlab_harness.stack import mwaa_packages
from xcomlab_harness.stack.console import SandboxError, say
from xcomlab_harness.stack.custom_backend import (
    prepare_custom_backend,
    write_check_bucket,
)
from xcomlab_harness.stack.health import start_and_wait
from xcomlab_harness.stack.lifecycle import prepare
from xcomlab_harness.stack.mwaa_wheels import fetch_mwaa_requirements
from xcomlab_harness.stack.paths import CACHE, REPORTS, ROOT
from xcomlab_harness.stack.prerequisites import check_docker
from xcomlab_harness.stack.project import backend_environment, image_python, runs_celery
from xcomlab_harness.stack.registry import is_offline
from xcomlab_harness.stack.requirements import RequirementsFailed
from xcomlab_harness.stack.settings import load_settings
from xcomlab_harness.verdict import (
    ERROR,
    FAIL,
    NOT_APPLICABLE,
    Layer,
    ScenarioResult,
    Verdict,
    exit_code,
)

# Fix-forward stops after this many layers of mechanical fixes, whatever remains.
MAX_LAYERS = 4
FIX_FORWARD = CACHE / "fix-forward"  # the patched copies of BACKEND_SRC each layer runs


def selected(environ: dict[str, str]) -> list[str]:
    wanted = [s.strip() for s in environ.get("SCENARIOS", "").split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(ids()))
    if unknown:
        raise SandboxError(f"SCENARIOS: unknown {', '.join(unknown)}; choose among {', '.join(ids())}")
    if set(wanted) & set(having("recipe")):
        wanted.append("shapes")  # they push what shapes found this backend offloads
    return [s for s in ids() if not wanted or s in wanted or s == "loads"]


def check_name(environ: dict[str, str]) -> str:
    """CHECK_NAME ("" when not given): it names the report files and the fix-forward folder, which is emptied."""
    name = environ.get("CHECK_NAME", "")
    if name and not report.file_name_part(name):
        raise SandboxError(f"CHECK_NAME={name!r} cannot name the report files: use {report.FILE_NAME_RULE}, "
                                   "e.g. CHECK_NAME=my-backend")
    return name


def backend_under_test(settings: dict[str, str]) -> tuple[str, str]:
    """(class, report name): XCOM_BACKEND's, or the built-in BACKEND's."""
    if settings.get("XCOM_BACKEND"):
        return settings["XCOM_BACKEND"], settings["XCOM_BACKEND"].rsplit(".", 1)[-1]
    env = backend_environment(settings, settings["BACKEND"])
    return env.get("AIRFLOW__CORE__XCOM_BACKEND", "airflow's BaseXCom (the metadata DB)"), settings["BACKEND"]


# Progress on stderr: a line per scenario as it ends, and in a terminal a live line for the one running.
CONSOLE = Console(stderr=True, highlight=False, soft_wrap=True)


def progress(version: str, result: ScenarioResult) -> None:
    CONSOLE.print(f"xcom-lab check {version:<7} {result.id:<20} {result.status:<4} {result.seconds:6.1f} s  "
                  f"{result.evidence[:150]}", markup=False)


def check_version(version: str, environ: dict[str, str], offline: dict, layer: int = 0) -> Verdict:
    environ = dict(environ, AIRFLOW_VERSION=version)
    if environ.get("MWAA") == "1":  # the bucket first: the settings check that MWAA_DIR is one
        if not environ.get("XCOM_BACKEND"):
            raise SandboxError("MWAA=1 judges your own backend (XCOM_BACKEND=module.Class): in MWAA mode the "
                                       "bucket's options, not BACKEND, configure XComs")
        environ["MWAA_DIR"] = str(write_check_bucket(environ))
    settings = load_settings(environ=environ)
    backend, name = backend_under_test(settings)
    verdict = Verdict(backend, check_name(environ) or name, version)
    scenarios = selected(environ)
    if "mode" not in offline:
        offline["mode"] = is_offline(settings)
    env = prepare(settings, offline["mode"])
    if settings.mwaa:
        verdict.mwaa = mwaa_packages.describe(version, image_python(settings, offline["mode"]))
        fetch_mwaa_requirements(settings, offline["mode"])
    own_code = OwnCode(settings)

    def record(result: ScenarioResult, started: float) -> None:
        result.seconds = result.seconds or round(time.monotonic() - started, 1)  # set: it ran beside the others
        own_code.record(result)
        verdict.scenarios.append(result)
        progress(f"{version}+{layer}" if layer else version, result)

    started = time.monotonic()
    refused = None
    try:
        if settings.get("XCOM_BACKEND"):
            prepare_custom_backend(settings, env)
    except RequirementsFailed as err:
        refused = ScenarioResult("loads", FAIL, str(err), err.FIX)
    found = loading.loads_before_up(env, settings.mwaa) if refused is None else {}
    if refused is None and not found["loaded"]:
        refused = loading.not_loaded("airflow-scheduler", found, backend)
    restarted: tuple[str, ...] = ()  # () restarts every component
    if refused is None:
        try:
            restarted = loading.restarted(settings, env)
            start_and_wait(env, timeout=int(environ.get("WAIT_TIMEOUT", "240")), services=restarted)
        except SandboxError as err:
            refused = loading.stack_failed(str(err))
    if refused:
        record(refused, started)
        for scenario in scenarios[1:]:
            verdict.scenarios.append(ScenarioResult(scenario, NOT_APPLICABLE, "the backend does not load on this version"))
        return finished(verdict, own_code)
    record(loading.loads_in_components(found, settings, restarted), started)

    api = AirflowAPI.of_sandbox(settings)
    task_services = loading.components(settings)[1:2] if not runs_celery(settings) else \
        ["airflow-worker-a", "airflow-worker-b"]  # LocalExecutor runs tasks in the scheduler's container
    probes = all_probes(settings, env, task_services)
    observer = Observer(probes[:-len(task_services)], probes[-len(task_services):], MetadataDB(settings))
    ctx = Context(api, observer, verdict, settings, env)
    run_scenarios(ctx, scenarios[1:], record)
    return finished(verdict, own_code, written(ctx))


def run_scenarios(ctx: Context, scenarios: list[str], record) -> None:
    """Each in turn, mwaa-placement beside them (it touches no store: throwaway MWAA containers). Once every
    push has met one failure, the scenarios that push are blocked by it, not run."""
    wall = None
    with ThreadPoolExecutor(1) as pool:
        beside = {s: pool.submit(run_timed, ctx, s) for s in scenarios if "stack" not in by_id(s).needs}
        for scenario in scenarios:
            started = time.monotonic()
            if scenario in beside:
                record(beside[scenario].result(), started)
            elif wall and "push" in by_id(scenario).needs:
                record(ScenarioResult(scenario, FAIL, wall.evidence, wall.fix), started)
            else:
                with CONSOLE.status(f"{scenario} running", spinner="line"):  # shown in a terminal only
                    result = run_scenario(ctx, scenario)
                record(result, started)
                wall = wall or every_push_fails(ctx.verdict, scenario)


def finished(verdict: Verdict, own_code: OwnCode, written_keys: set[str] = frozenset()) -> Verdict:
    """The verdict with its root causes and the backend's source as it ran."""
    causes.group(verdict, written_keys)
    verdict.sources = own_code.sources()
    return verdict


def run_scenario(ctx: Context, scenario: str) -> ScenarioResult:
    """One scenario's result; a run that never ends is the backend's failure, any other exception the harness's."""
    entry = by_id(scenario)
    if "stack" in entry.needs:  # one at a time: the id its results are born with
        ctx.scenario = scenario
    try:
        result = entry.run(ctx)
    except DagRunFailed as err:
        forget_state(ctx, scenario)
        result = ScenarioResult(scenario, FAIL, f"did not finish: {(str(err).splitlines() or [''])[0][:300]}")
    except Exception as err:  # noqa: BLE001 - one scenario's trouble must not hide the others' verdicts
        forget_state(ctx, scenario)
        lines = traceback.format_exception_only(err)
        result = ScenarioResult(scenario, ERROR, f"harness error (xcom-lab's, not your backend's): {lines[-1].strip()[:300]}",
                                traceback="".join(traceback.format_exception(err))[-4000:])
    return result


def forget_state(ctx: Context, scenario: str) -> None:
    """After a scenario broke off, the stores are in an unknown state: the next scenario snapshots afresh
    (not for one running beside the others, which touches no store)."""
    if "stack" in by_id(scenario).needs:
        ctx.state = None


def run_timed(ctx: Context, scenario: str) -> ScenarioResult:
    started = time.monotonic()
    result = run_scenario(ctx, scenario)
    result.seconds = round(time.monotonic() - started, 1)
    return result


def every_push_fails(verdict: Verdict, scenario: str) -> ScenarioResult | None:
    """The push probes' shared failure once each has failed at its push task alike (e.g. Airflow 3's keyword
    signature): then every later push would too."""
    if scenario != having("probe")[-1]:
        return None
    probes = [verdict.scenario(s) for s in having("probe")]
    if not all(p and p.status == FAIL and p.evidence.startswith("push") for p in probes):
        return None
    errors = {p.evidence.split(" failed: ", 1)[-1] for p in probes}
    return probes[0] if len(errors) == 1 else None


def see_past_walls(verdict: Verdict, environ: dict[str, str], offline: dict) -> None:
    """Fix-forward: while root causes have a mechanical fix (xcomlab_harness.patches), apply it to a copy of
    BACKEND_SRC (the user's files are never edited), re-run the scenarios they failed (and those that judge what
    the others wrote) on the copy, and record what fails next as a Layer; verdict.patch is every fix as one diff."""
    if not environ.get("XCOM_BACKEND") or not environ.get("BACKEND_SRC") or environ.get("FIX_FORWARD") == "0":
        return
    source = copy = Path(environ["BACKEND_SRC"]).expanduser().resolve()
    causes_now = verdict.causes
    for layer in range(1, MAX_LAYERS + 1):
        fixable = [c for c in causes_now if c.fix_id in patches.PATCHABLE]
        if not fixable:
            break
        # a folder per layer: a new mount, so every component restarts and imports the patched code afresh
        copy = patches.copy_source(copy, FIX_FORWARD / verdict.name / verdict.airflow_version / f"layer-{layer}")
        if not patches.apply(copy, [(c.fix_id, c.evidence) for c in fixable]):
            break
        rerun = [s for s in selected(environ) if any(s in c.scenarios for c in fixable) or s in having("others")]
        found = check_version(verdict.airflow_version, dict(environ, BACKEND_SRC=str(copy), SCENARIOS=",".join(rerun)),
                              offline, layer=layer)
        verdict.layers.append(Layer(fixed=[c.title for c in fixable], patch=patches.unified_diff(source, copy),
                                    scenarios=found.scenarios, causes=found.causes))
        causes_now = found.causes
    verdict.patch = verdict.layers[-1].patch if verdict.layers else ""


def main(argv: list[str] | None = None) -> int:
    environ = dict(os.environ)
    if not environ.get("XCOM_BACKEND") and not environ.get("BACKEND"):
        print(__doc__, file=sys.stderr)
        say("error: XCOM_BACKEND is not set: name your class, e.g. XCOM_BACKEND=my_xcom.S3XComBackend "
                    "(or BACKEND=<built-in> to check one of compose/backends/)")
        return 2
    try:
        check_name(environ)
        versions = [v.strip() for v in environ.get("AIRFLOW_VERSIONS", "").split(",") if v.strip()] or \
            [load_settings(environ=environ)["AIRFLOW_VERSION"]]
        selected(environ)
        check_docker()
        offline: dict = {}
        verdicts = []
        for version in versions:
            verdicts.append(check_version(version, environ, offline))
            see_past_walls(verdicts[-1], environ, offline)
    except SandboxError as err:
        say(f"error: {err}")
        return 2
    paths = report.write_all(verdicts, REPORTS)
    print(report.summary_line(verdicts))
    for path in paths:
        print(f"  {path.relative_to(ROOT)}")
    return exit_code(verdicts, environ)


if __name__ == "__main__":
    sys.exit(main())
