"""MWAA mode on the session's Airflow version: the preflight's verdict and what really happens when the
stack starts with the same bucket.

Three places for the same small custom S3 backend (tests/e2e/mwaa/s3_xcom_backend.py):
- include/ (the seed case, `include.s3_xcom_backend.S3XComBackend`): refused, and every component exits,
  even with a startup.sh exporting PYTHONPATH (reserved: MWAA ignores it);
- dags/: loads on Airflow 2.x (dags/ is on sys.path first), fails on 3.x like real Airflow;
- plugins/: loads on both; push/pull then lands in the S3 emulator, and requirements.txt is installed.
And the provider's backend configured with a misspelt option and a codec that does not exist: MWAA would
deploy it (AVAILABLE) and then fail every offloaded push; the preflight says DEPLOYS_THEN_FAILS.
`make check MWAA=1` on the correct backend, on MWAA's package set (whose `pip freeze` every component shows), and
the common-io provider's verdict there against the sandbox's newer lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from xcomlab_harness import check, sandbox
from xcomlab_harness.polling import poll
from xcomlab_harness.stack import mwaa_packages, project
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.health import start_and_wait
from xcomlab_harness.stack.paths import CACHE, COMPOSE_DIR, ROOT
from xcomlab_harness.stack.settings import airflow_major, load_settings, version_folder

pytestmark = pytest.mark.e2e

HERE = ROOT / "tests" / "e2e"
PROJECTS = CACHE / "e2e-mwaa"  # bind-mounted: must be readable by the container's uid 50000
DAG_ID, PUSH_TASK = "xcom_push_pull", "push_objects"
PUSHED = {"small_obj": {"a": 23}, "big_obj": {f"key{i}": "x" * 100 for i in range(100)}}
LOAD_ERROR = ('The object could not be loaded. Please check "xcom_backend" key in "core" section. '
              'Current value: "{}".')
# The usual attempt to rescue the seed case; PYTHONPATH is reserved, so MWAA ignores it.
RESCUE_ATTEMPT = 'export PYTHONPATH="/mwaa:/usr/local/airflow"\n'
# A requirement outside the image's lock: it must get installed at start.
EXTRA_REQUIREMENT = "cowsay==6.1"
# Where the backend module goes in the bucket, and the core.xcom_backend value that names it.
CASES = {
    "include": ("include/s3_xcom_backend.py", "include.s3_xcom_backend.S3XComBackend"),
    "dags": ("dags/s3_xcom_backend.py", "s3_xcom_backend.S3XComBackend"),
    "plugins": ("plugins/s3_xcom_backend.py", "s3_xcom_backend.S3XComBackend"),
}


def make_bucket(case: str) -> tuple[str, str]:
    """An MWAA bucket for the case; returns (MWAA_DIR, core.xcom_backend)."""
    module_path, value = CASES[case]
    files = {f"dags/{DAG_ID}.py": ROOT / "dags" / f"{DAG_ID}.py", module_path: HERE / "mwaa" / "s3_xcom_backend.py",
             "startup.sh": RESCUE_ATTEMPT if case == "include" else "export XCOM_LAB_STARTUP=ran\n"}
    if case == "plugins":
        files["requirements.txt"] = EXTRA_REQUIREMENT + "\n"
    return write_bucket(case, {"core.xcom_backend": value}, files), value


def write_bucket(name: str, options: dict[str, str], files: dict[str, Path | str]) -> str:
    """An MWAA bucket folder: the options JSON and files (a Path is copied, a str written); returns MWAA_DIR."""
    bucket = PROJECTS / name
    shutil.rmtree(bucket, ignore_errors=True)
    (bucket / "dags").mkdir(parents=True)
    (bucket / "airflow-configuration-options.json").write_text(json.dumps(options))
    for target, source in files.items():
        (bucket / target).parent.mkdir(parents=True, exist_ok=True)
        (bucket / target).write_text(source.read_text() if isinstance(source, Path) else source)
    for path in [bucket, *bucket.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return str(bucket)


def works_on(case: str, major: int) -> bool:
    return case == "plugins"


def only_the_web_server_fails(case: str, major: int) -> bool:
    """2.x puts dags/ on sys.path, but MWAA's web server has no dags/."""
    return case == "dags" and major == 2


@pytest.fixture(scope="module")
def major(settings) -> int:
    return airflow_major(settings)


def preflight(settings, bucket: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, MWAA_DIR=bucket, AIRFLOW_VERSION=settings["AIRFLOW_VERSION"])
    return subprocess.run([sys.executable, sandbox.__file__, "mwaa-validate"],
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("case", CASES)
def test_preflight_verdict(case, settings, major, report):
    bucket, value = make_bucket(case)
    result = preflight(settings, bucket)
    print(result.stdout, result.stderr[-2000:])
    verdict = result.stdout.rpartition("Verdict: ")[2].strip() or f"no verdict (exit {result.returncode})"
    report.add_mwaa(case, value=value, preflight=f"{verdict} (exit {result.returncode})")
    if works_on(case, major):
        assert result.returncode == 0, result.stdout + result.stderr[-2000:]
        assert "Verdict: AVAILABLE" in result.stdout
        assert f"core.xcom_backend: {value} loads" in result.stdout
        return
    assert result.returncode == 1
    assert "Verdict: UPDATE_FAILED" in result.stdout
    if only_the_web_server_fails(case, major):
        assert "MWAA's web server has no dags/" in result.stdout and "would crash: webserver " in result.stdout
        assert f"move dags/{CASES[case][0].removeprefix('dags/')} to plugins/" in result.stdout, result.stdout
        return
    assert LOAD_ERROR.format(value) in result.stdout
    components = "api-server, scheduler, dag-processor, triggerer" if major >= 3 else "webserver, scheduler, triggerer"
    assert f"would crash: {components}" in result.stdout
    module_file = value.rpartition(".")[0].replace(".", "/") + ".py"
    assert f"plugins/{module_file}" in result.stdout.split("fix:", 1)[1]


def state_once_stopped(env: dict[str, str], service: str) -> str:
    """"<state> <exit code>" once the service no longer runs: start_and_wait gives up at the first component that
    fails, while the others may still be booting towards the same error."""
    return poll(lambda: compose(env, "ps", "--all", "--format", "{{.State}} {{.ExitCode}}", service,
                                capture_output=True, text=True).stdout.strip(),
                lambda state: not state.startswith(("running", "created", "restarting")), 180,
                lambda state: AssertionError(f"{service} still {state!r} after 180 s"))


@pytest.mark.parametrize("case", CASES)
def test_started_anyway(case, stack, settings, major, airflow, stores, report):
    bucket, value = make_bucket(case)
    if works_on(case, major):
        env = stack.start(MWAA="1", MWAA_DIR=bucket)
        airflow.wait_for_dag(DAG_ID)
        run_id = airflow.trigger(DAG_ID)
        airflow.wait_for_run(DAG_ID, run_id)
        prefix = f"mwaa-custom/{DAG_ID}/{run_id}/{PUSH_TASK}/"
        listed = stores["s3"].list(prefix)
        assert sorted(listed) == sorted(f"{prefix}{key}.json" for key in PUSHED)
        for key, pushed in PUSHED.items():
            assert json.loads(stores["s3"].read(f"{prefix}{key}.json")) == pushed
        logs = compose(env, "logs", "--no-color", "airflow-scheduler", capture_output=True, text=True).stdout
        assert "mwaa: startup.sh exported XCOM_LAB_STARTUP" in logs
        if case == "plugins":  # requirements.txt was installed at start
            module = EXTRA_REQUIREMENT.split("==")[0]
            imported = compose(env, "exec", "-T", "airflow-scheduler", "python", "-c", f"import {module}",
                                       check=False, capture_output=True, text=True)
            assert imported.returncode == 0, f"{EXTRA_REQUIREMENT} from requirements.txt is not installed: {imported.stderr}"
        report.add_mwaa(case, started=f"healthy; push/pull ok, objects `s3://xcom/{prefix}<key>.json`")
        return
    env = stack.env_with(MWAA="1", MWAA_DIR=bucket)
    with pytest.raises(SandboxError):
        start_and_wait(env, timeout=180)
    components = ["airflow-apiserver", "airflow-scheduler", "airflow-triggerer"]
    components += ["airflow-dag-processor"] if major >= 3 else []
    if only_the_web_server_fails(case, major):  # the scheduler and workers load it from dags/
        components = ["airflow-apiserver"]
        state = compose(env, "ps", "--format", "{{.State}}", "airflow-scheduler", capture_output=True,
                                text=True).stdout.strip()
        assert state == "running", f"the scheduler (which has dags/) should run, is {state!r}"
    for service in components:
        state = state_once_stopped(env, service)
        logs = compose(env, "logs", "--no-color", service, capture_output=True, text=True).stdout
        assert state == "exited 1", f"{service} should have exited with 1, is {state!r}"
        assert LOAD_ERROR.format(value) in logs, f"{service} did not log the load error:\n{logs[-1500:]}"
        if case == "include":
            assert "startup.sh exported PYTHONPATH: a reserved variable, so MWAA keeps its own value" in logs
    report.add_mwaa(case, started=f"{', '.join(components)} exited 1 with the load error")


CORRECT = ROOT / "tests" / "check_backends" / "correct"
PROVIDER = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
# The provider's backend as test_check judges BACKEND=s3 on the sandbox's lock (its upstream bugs), against MWAA's
# package set: the same report name and scenarios, so the two verdicts merge side by side.
PROVIDER_CHECK = {"CHECK_NAME": "e2e-s3", "SCENARIOS": "toy,types,reference-lookalike,missing-object"}


def make_check(**settings: str) -> subprocess.CompletedProcess:
    args = [f"{k}={v}" for k, v in {"WAIT_TIMEOUT": "300", **settings}.items()]
    return subprocess.run(["make", "--no-print-directory", "check", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=1800)


def statuses_of(verdict) -> dict[str, str]:
    return {s.id: s.status for s in verdict.scenarios}


def test_make_check_mwaa_passes_the_correct_backend_on_mwaas_package_set(checked, stack, settings, report):
    """`make check MWAA=1`: the correct backend deployed as an MWAA user deploys a module (plugins/, requirements.txt),
    judged on MWAA's package set and topology (Celery workers without a shared disk): every scenario passes or is
    n/a, the report names the package set beside the version, and `pip freeze` in every component it ran on equals
    MWAA's constraints for the packages both list, but for the pins named as having no release for Python 3.11."""
    version = settings["AIRFLOW_VERSION"]
    requirements = PROJECTS / "check-requirements.txt"
    requirements.parent.mkdir(parents=True, exist_ok=True)
    requirements.write_text(EXTRA_REQUIREMENT + "\n")
    done = make_check(MWAA="1", AIRFLOW_VERSIONS=version, XCOM_BACKEND="backend.AcmeS3XComBackend",
                      BACKEND_SRC=str(CORRECT / "src" / "acme_xcom" / "backend.py"), REQUIREMENTS=str(requirements),
                      BACKEND_ENV=str(CORRECT / "backend.env"), CHECK_NAME="e2e-mwaa-correct")
    verdict = check.report.read_shard(check.REPORTS / f"check-e2e-mwaa-correct-{version}-mwaa.json")
    table = "\n".join(f"  {s.id}: {s.status}: {s.evidence[:200]}" for s in verdict.scenarios)
    report.add_check(f"correct, MWAA {version}", version, statuses_of(verdict))
    assert done.returncode == 0, f"{table}\n{done.stderr[-3000:]}"
    assert verdict.mwaa.startswith(f"MWAA's package set for Airflow {version}"), verdict.mwaa
    md = (check.REPORTS / "check-e2e-mwaa-correct.md").read_text()
    assert f"| scenario | Airflow {version} (MWAA) |" in md and verdict.mwaa.split(";")[0] in md
    assert verdict.scenario("toy").lines_run, "coverage did not reach the components through MWAA's entrypoint"

    env = project.compose_env(load_settings(environ=dict(os.environ, MWAA="1")), stack.offline)  # the check's
    components = [s for s in compose(env, "ps", "--services", "--status", "running", capture_output=True,
                                             text=True).stdout.split() if s.startswith("airflow-")]
    assert {"airflow-apiserver", "airflow-scheduler", "airflow-worker-a", "airflow-worker-b"} <= set(components)
    # the image's site-packages: not the check's own coverage.py, which its .pth puts on sys.path
    freeze_image = 'python -m pip freeze --path "$(python -c "import sysconfig; print(sysconfig.get_paths()[\'purelib\'])")"'
    for service in components:
        freeze = compose(env, "exec", "-T", service, "sh", "-c", freeze_image, capture_output=True, text=True).stdout
        assert mwaa_packages.freeze_mismatches(version, "3.11", freeze) == [], service
        assert EXTRA_REQUIREMENT in freeze.splitlines(), f"{service}: requirements.txt's {EXTRA_REQUIREMENT} missing"
    named = mwaa_packages.differences(version, "3.11")
    report.add_mwaa("pip freeze vs MWAA's constraints", value=f"{len(components)} components",
                    preflight="not run", started="equal" + (f", except as named: {'; '.join(named)}" if named else ""))


def test_provider_versions_change_the_verdict(checked, settings, report):
    """The common-io provider's backend on MWAA's package set against the sandbox's lock, through the same
    scenarios, side by side in one report; MWAA's outcome expected strictly (compose/backends/s3.toml)."""
    version = settings["AIRFLOW_VERSION"]
    expected = tomllib.loads((COMPOSE_DIR / "backends" / "s3.toml").read_text())["check"].get("mwaa", {})
    if version not in expected:
        pytest.skip(f"compose/backends/s3.toml expects nothing of the provider on MWAA's {version}")
    if "s3" not in report.checks:  # test_check judges BACKEND=s3 in the same session; alone, judge it here
        make_check(BACKEND="s3", AIRFLOW_VERSIONS=version, **PROVIDER_CHECK)
    env_file = PROJECTS / "provider.env"  # the provider's path as an MWAA user writes it: aws_default
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH="
                        f"s3://aws_default@xcom/{version_folder(settings)}/mwaa-provider\n")
    make_check(MWAA="1", AIRFLOW_VERSIONS=version, XCOM_BACKEND=PROVIDER, BACKEND_ENV=str(env_file), **PROVIDER_CHECK)
    shards = [check.REPORTS / f"check-e2e-s3-{v}.json" for v in (version, f"{version}-mwaa")]
    here, there = (statuses_of(check.report.read_shard(path)) for path in shards)
    assert check.REPORTS / "check-e2e-s3.md" in check.report.merge(shards, check.REPORTS)
    differ = {s: f"{here.get(s)} -> {there.get(s)}" for s in there if here.get(s) != there.get(s)}
    report.add_check(f"s3 (the provider), MWAA {version}", version, there)
    report.add_mwaa(f"common-io provider on MWAA's {version} set vs the sandbox's", value=PROVIDER,
                    preflight="not run", started="; ".join(f"{s}: {d}" for s, d in differ.items()) or "same verdict")
    failed = sorted(s for s, status in there.items() if status == "fail")
    assert failed == sorted(expected[version]["fails"]), f"sandbox {here}\nMWAA {there}"


HANDOFF_DAG = "xcom_celery_handoff"  # produce on worker A's queue, consume on worker B's
LOCAL_FILES = "tmp_xcom_backend.TmpFileXComBackend"


def test_local_file_backend_fails_across_mwaa_workers(stack, airflow, report):
    """MWAA runs tasks on Celery workers with a disk each, and its web server has no dags/: a backend that
    keeps XComs in local files pushes on one worker and cannot pull on the other, as on MWAA."""
    bucket = write_bucket("local-files", {"core.xcom_backend": LOCAL_FILES},
                          {f"dags/{HANDOFF_DAG}.py": ROOT / "dags" / f"{HANDOFF_DAG}.py",
                           "plugins/tmp_xcom_backend.py": HERE / "mwaa" / "tmp_xcom_backend.py"})
    env = stack.start(MWAA="1", MWAA_DIR=bucket)
    web = compose(env, "exec", "-T", "airflow-apiserver", "ls", "/usr/local/airflow",
                          capture_output=True, text=True).stdout.split()
    assert "dags" not in web and "plugins" in web, f"MWAA's web server has plugins/ and no dags/: {web}"
    airflow.wait_for_dag(HANDOFF_DAG)
    run_id = airflow.trigger(HANDOFF_DAG)
    assert airflow.wait_for_end(HANDOFF_DAG, run_id) == "failed", airflow.explain(HANDOFF_DAG, run_id)
    files = {service: compose(env, "exec", "-T", service, "sh", "-c", "ls /tmp/xcom-files 2>/dev/null",
                                      check=False, capture_output=True, text=True).stdout.split()
             for service in ("airflow-worker-a", "airflow-worker-b", "airflow-scheduler")}
    assert len(files["airflow-worker-a"]) == 1 and not files["airflow-worker-b"] and not files["airflow-scheduler"], files
    log = " ".join(airflow.failed_task_log(HANDOFF_DAG, run_id, "consume").split())
    assert f"No such file or directory: '/tmp/xcom-files/{files['airflow-worker-a'][0]}'" in log, log[-3000:]
    report.add_mwaa("local files, handed to another worker", value=LOCAL_FILES, preflight="not run",
                    started="produce wrote /tmp/xcom-files/ on worker A; consume on worker B failed: "
                            "FileNotFoundError")


# The provider's backend as users configure it from its docs: a misspelt path key, and `gz` for gzip.
MISCONFIGURED = {"core.xcom_backend": "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend",
                 "common.io.xcom_objectstore_path": "s3://aws_default@xcom/xcom",
                 "common.io.xcom_objectstorage_threshold": "1000", "common.io.xcom_objectstorage_compression": "gz"}
CORRECTED = {**{k: v for k, v in MISCONFIGURED.items() if k != "common.io.xcom_objectstore_path"},
             "common.io.xcom_objectstorage_path": "s3://aws_default@xcom/xcom",
             "common.io.xcom_objectstorage_compression": "gzip"}


@pytest.mark.parametrize("options", [MISCONFIGURED, CORRECTED], ids=["misconfigured", "corrected"])
def test_preflight_catches_settings_that_deploy_then_fail(options, settings, report):
    result = preflight(settings, write_bucket("provider-options", options, {}))
    verdict = result.stdout.rpartition("Verdict: ")[2].strip()
    report.add_mwaa("provider options, " + ("misconfigured" if options is MISCONFIGURED else "corrected"),
                    value=options["core.xcom_backend"], preflight=f"{verdict} (exit {result.returncode})")
    if options is CORRECTED:
        assert (verdict, result.returncode) == ("AVAILABLE", 0), result.stdout + result.stderr[-2000:]
        return
    assert (verdict, result.returncode) == ("DEPLOYS_THEN_FAILS", 1), result.stdout + result.stderr[-2000:]
    out = " ".join(result.stdout.split())
    assert "common.io.xcom_objectstore_path error: no such option" in out and \
        "did you mean common.io.xcom_objectstorage_path" in out, result.stdout
    assert "'gz' is not a codec the provider knows" in out and "gzip" in out.split("'gz'", 1)[1], result.stdout


@pytest.mark.parametrize("case", ["example", "broken"])
def test_smoke_pushes_and_pulls_through_the_configured_backend(case, stack, settings, stores, report):
    """`make mwaa-validate SMOKE=1`: passes on the example bucket (mwaa/), saying where the big value
    landed; fails on the same settings with `gz` for gzip, with the run-time cause."""
    broken = {**json.loads((ROOT / "mwaa" / "airflow-configuration-options.json").read_text()),
              "common.io.xcom_objectstorage_compression": "gz"}
    bucket = str(ROOT / "mwaa") if case == "example" else write_bucket("smoke-broken", broken, {})
    result = subprocess.run(["make", "--no-print-directory", "mwaa-validate"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600,
                            env=dict(os.environ, SMOKE="1", MWAA_DIR=bucket, AIRFLOW_VERSION=settings["AIRFLOW_VERSION"]))
    out = result.stdout
    report.add_mwaa(f"SMOKE=1, {case} bucket", value=broken["core.xcom_backend"],
                    preflight=out.rpartition("Verdict: ")[2].split()[0] if "Verdict: " in out else "none",
                    started=" ".join(out.rpartition("Smoke: ")[2].split("\n", 2)[:2]))
    if case == "broken":
        assert result.returncode != 0 and "Smoke: FAIL" in out, out + result.stderr[-2000:]
        assert "push_objects failed" in out and "cause: ValueError: Compression gz is not supported" in out, out
        return
    assert result.returncode == 0 and "Smoke: PASS" in out, out + result.stderr[-2000:]
    assert "small_obj: the metadata DB" in out, out
    landed = re.search(r"big_obj: s3://xcom/(\S+), ([\d,]+) bytes, json", out)
    assert landed, out
    assert json.loads(stores["s3"].read(landed.group(1))) == PUSHED["big_obj"]
