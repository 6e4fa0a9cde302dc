"""The scenarios that need no DAG: `loads` (does every component resolve the class on this version?) and
`mwaa-placement` (where in an MWAA bucket may the module go: the preflight's verdict for dags/, plugins/
and include/).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xcomlab_harness import sandbox
from xcomlab_harness.fixes import fix_for, fix_line
from xcomlab_harness.stack.compose import compose, containers
from xcomlab_harness.stack.custom_backend import (
    custom_backend_env,
    custom_backend_source,
    write_mwaa_bucket,
)
from xcomlab_harness.stack.env_files import read_dotenv
from xcomlab_harness.stack.health import CELERY_WORKERS, failing_services
from xcomlab_harness.stack.lifecycle import prepare
from xcomlab_harness.stack.mwaa_wheels import fetch_mwaa_requirements
from xcomlab_harness.stack.paths import CACHE, ROOT
from xcomlab_harness.stack.private_files import shell_exports, write_private
from xcomlab_harness.stack.project import runs_celery
from xcomlab_harness.stack.settings import CUSTOM_KEYS, Settings, airflow_major
from xcomlab_harness.stack.state import offline_from_state
from xcomlab_harness.verdict import FAIL, NOT_APPLICABLE, PASS, ScenarioResult

PROBE = Path(__file__).parent / "incontainer" / "load_probe.py"
MARKER = "xcom-lab-load-probe "


def components(settings: dict[str, str]) -> list[str]:
    """The long-running services that import the backend at start (the UI's too: 3.x's api-server)."""
    names = ["airflow-apiserver", "airflow-scheduler", "airflow-triggerer"]
    names += ["airflow-dag-processor"] if airflow_major(settings) >= 3 else []
    names += ["airflow-worker-a", "airflow-worker-b"] if runs_celery(settings) else []
    return names


def task_side(settings: dict[str, str]) -> tuple[str, ...]:
    """The components a task's XComs go through: those that run the tasks (the scheduler under LocalExecutor,
    Celery's workers A and B), and 2.x's webserver, whose XCom views read values through the backend (3.x's API
    server shows the rows)."""
    runners = ("airflow-worker-a", "airflow-worker-b") if runs_celery(settings) else ("airflow-scheduler",)
    return runners + (("airflow-apiserver",) if airflow_major(settings) < 3 else ())


def check_side(settings: dict[str, str]) -> tuple[str, ...]:
    """What a check restarts on a stack already running in its mode: the components its XComs go through
    (task_side) and, on Airflow 3, the dag-processor, whose DAG files import the backend (TaskFlow's XComArg
    resolves it). The others (3.x's API server, which shows the rows as stored; the triggerer, which no XCom goes
    through) get the same image, environment and mounts, so the probe's import stands for theirs."""
    return task_side(settings) + (("airflow-dag-processor",) if airflow_major(settings) >= 3 else ())


def restarted(settings: dict[str, str], env: dict[str, str]) -> tuple[str, ...]:
    """The services a check starts: () for all, unless a stack runs healthy in the check's mode (LocalExecutor,
    no Celery workers left running), when check_side and storage-init (the buckets the user's env file names) do."""
    running = containers(env)
    services = {c.get("Service") for c in running}
    # Docker probes a component twice a minute: one the last check started (and probed itself) is still "starting"
    settled = [dict(c, Health="") if c.get("Health") == "starting" else c for c in running]
    if runs_celery(settings) or services & set(CELERY_WORKERS) or failing_services(settled) \
            or not set(components(settings)) <= services:
        return ()
    return check_side(settings) + ("storage-init",)


def probe(env: dict[str, str], *compose_args: str) -> dict:
    """Run load_probe.py in a container (`exec` into a running one, or `run` a throwaway one)."""
    done = compose(env, *compose_args, "python", "-", input=PROBE.read_bytes(), check=False, capture_output=True)
    out = done.stdout.decode(errors="replace")
    if MARKER not in out:
        lines = [line for line in (out + done.stderr.decode(errors="replace")).splitlines() if line.strip()]
        return {"loaded": False, "error": lines[-1] if lines else f"exit {done.returncode}", "errors": lines[-6:]}
    return json.loads(out.split(MARKER, 1)[1].splitlines()[0])


def loads_before_up(env: dict[str, str], mwaa: bool = False) -> dict:
    """A throwaway scheduler container (the scheduler's image, environment and mounts) resolves the class: a
    backend that cannot load fails here in seconds, instead of after a stack that never becomes healthy. In MWAA
    mode through MWAA's entrypoint: plugins deployed, requirements installed, options applied, MWAA's sys.path."""
    entrypoint = ["python", "-m", "xcomlab_tools.mwaa.entrypoint"] if mwaa else []
    return probe(env, "run", "--rm", "--no-deps", "-T", "airflow-scheduler", *entrypoint)


def not_loaded(service: str, found: dict, backend: str) -> ScenarioResult:
    errors = " ".join(found.get("errors", []))
    missing = re.search(r"No module named '([\w.]+)'", found["error"] + errors)
    if missing and not backend.startswith(missing.group(1).split(".")[0] + "."):
        fix = (f"the image has no module {missing.group(1)!r}, which the backend imports: name its package in a "
               "requirements file and give it as REQUIREMENTS=requirements.txt (MWAA's own requirements.txt will do)")
    else:
        fix = fix_for(found["error"] + " " + errors)
    return ScenarioResult("loads", FAIL, f"{service} cannot load it: {found['error'][:300]}", fix)


def loads_in_components(found: dict, settings: dict[str, str], services: tuple[str, ...] = ()) -> ScenarioResult:
    """Every component imports the backend at start, so a healthy one has loaded it; the scheduler's probe
    (loads_before_up) says from where, whether Airflow 3 can call serialize_value with its keywords, and stands for
    the components the check left running (services: those it restarted; () for all)."""
    if not found["loaded"]:
        return not_loaded("airflow-scheduler", found, settings.get("XCOM_BACKEND", ""))
    where = f"{found['class']} from {found['file'] or 'an installed package'}"
    healthy = [s.removeprefix("airflow-") for s in components(settings) if not services or s in services]
    others = [s.removeprefix("airflow-") for s in components(settings) if services and s not in services]
    if found.get("problem"):
        return ScenarioResult("loads", FAIL, f"{where} loads, but {found['problem']}",
                              fix_line("keyword-signature"))
    alike = f"; {', '.join(others)}: the same image, environment and mounts" if others else ""
    return ScenarioResult("loads", PASS, f"{where} loads; healthy with it: {', '.join(healthy)}{alike}")


def stack_failed(error: str) -> ScenarioResult:
    return ScenarioResult("loads", FAIL, f"the stack did not become healthy with this backend: {error[:300]}",
                          fix_for(error))


# --- mwaa-placement ------------------------------------------------------------------------------------

PLACES = ("plugins", "dags", "include")
VERDICT = re.compile(r"Verdict: (\w+)")
# A preflight finding: "  DEPLOYS_THEN_FAILS: <where>" (verdicts are capitalised; notes such as "  plugins: ..." not)
PROBLEM = re.compile(r"^  ([A-Z][A-Za-z_]+): (.+)$")
# Airflow's own schema turns AIRFLOW__SECTION__OPTION into section.option: sections may hold dots
# ("common.io" is AIRFLOW__COMMON_IO__...), so only the schema can tell where one ends.
OPTION_KEYS = """
import json, sys
from xcomlab_tools import lint
sections = lint.schema()
found = {}
for name in json.load(sys.stdin):
    setting = lint.from_env(name, "", name, sections)
    if isinstance(setting, lint.Setting):
        found[name] = f"{setting.section}.{setting.option}"
print("xcom-lab-option-keys " + json.dumps(found))
"""


def mwaa_placement(settings: dict[str, str], env: dict[str, str]) -> ScenarioResult:
    """The preflight on three MWAA buckets that differ only in where the module lies."""
    if custom_backend_source(settings) is None:
        return ScenarioResult("mwaa-placement", NOT_APPLICABLE,
                              "the backend is installed as a package: on MWAA it comes from requirements.txt or plugins.zip")
    options = user_options(settings, env)
    if settings.get("REQUIREMENTS"):  # once, here: the three preflights below would race for the same folder
        folder = CACHE / "check-mwaa" / "requirements"
        folder.mkdir(parents=True, exist_ok=True)
        write_private(folder / "requirements.txt", Path(settings["REQUIREMENTS"]).expanduser().read_text())
        fetch_mwaa_requirements(dict(settings, MWAA_DIR=str(folder)), offline=True)
    prepare_mwaa_image(settings)
    exports = startup_exports(settings)  # once, here: each thread below only writes its bucket and runs its preflight
    with ThreadPoolExecutor(len(PLACES)) as pool:
        found = dict(zip(PLACES, pool.map(lambda place: preflight(settings, place, options, exports), PLACES)))
    evidence = "; ".join(f"{place}/: {verdict}" + (f" ({why})" if why and verdict != "AVAILABLE" else "")
                         for place, (verdict, why) in found.items())
    if found["plugins"][0] != "AVAILABLE":
        return ScenarioResult("mwaa-placement", FAIL, f"no place in the bucket works: {evidence}", fix_for(evidence))
    return ScenarioResult("mwaa-placement", PASS, evidence)


def prepare_mwaa_image(settings: dict[str, str]) -> None:
    """MWAA mode's image (MWAA's package set), built once here: the three preflights would each build it at once."""
    mwaa = Settings(settings, MWAA="1")
    prepare(mwaa, offline_from_state(mwaa), takes_over=False)


def user_options(settings: dict[str, str], env: dict[str, str]) -> dict[str, str]:
    """What MWAA's configuration options would hold: core.xcom_backend and the AIRFLOW__ settings of the
    user's own BACKEND_ENV (not the sandbox's defaults), keyed as Airflow's schema names them."""
    backend_env = read_dotenv(Path(settings["BACKEND_ENV"]).expanduser()) if settings.get("BACKEND_ENV") else {}
    names = [k for k in backend_env if k.startswith("AIRFLOW__") and k != "AIRFLOW__CORE__XCOM_BACKEND"]
    keys = option_keys(env, names) if names else {}
    return {keys.get(name, name): backend_env[name] for name in names}


def option_keys(env: dict[str, str], names: list[str]) -> dict[str, str]:
    """AIRFLOW__SECTION__OPTION -> section.option, by this version's schema (providers' sections included)."""
    done = compose(env, "exec", "-T", "airflow-scheduler", "python", "-c", OPTION_KEYS,
                           input=json.dumps(names).encode(), capture_output=True)
    out = done.stdout.decode(errors="replace")
    return json.loads(out.split("xcom-lab-option-keys ", 1)[1].splitlines()[0])


def startup_exports(settings: dict[str, str]) -> dict[str, str]:
    """What a bucket's startup.sh exports: the backend's environment but its AIRFLOW__ settings (those are options)."""
    return {k: v for k, v in custom_backend_env(settings).items() if not k.startswith("AIRFLOW__")}


def mwaa_bucket(settings: dict[str, str], place: str, options: dict[str, str],
                exports: dict[str, str]) -> tuple[Path, str]:
    """An MWAA bucket with the toy DAG, the backend's module under place/, REQUIREMENTS as requirements.txt, and
    the user's settings as configuration options (AIRFLOW__ ones) or startup.sh exports (everything else)."""
    bucket = CACHE / "check-mwaa" / place
    value = write_mwaa_bucket(settings, bucket, [ROOT / "dags" / "xcom_push_pull.py"], place, options)
    write_private(bucket / "startup.sh", shell_exports(exports), group=True)  # the user's values, the emulators' keys
    return bucket, value


def preflight(settings: dict[str, str], place: str, options: dict[str, str],
              exports: dict[str, str]) -> tuple[str, str]:
    """(verdict, the first finding behind it) of `make mwaa-validate` on a bucket with the module in place/."""
    bucket, _ = mwaa_bucket(settings, place, options, exports)
    env = {k: v for k, v in os.environ.items() if k not in CUSTOM_KEYS}
    env.update(MWAA_DIR=str(bucket), AIRFLOW_VERSION=settings["AIRFLOW_VERSION"])
    done = subprocess.run([sys.executable, sandbox.__file__, "mwaa-validate"], env=env, capture_output=True,
                          text=True, timeout=300)
    found = VERDICT.findall(done.stdout)
    if not found:
        return f"no verdict (exit {done.returncode}: {done.stderr.strip()[-120:]})", ""
    return found[-1], first_finding(done.stdout)


def first_finding(output: str) -> str:
    """The preflight's first finding, with its error: why the place did not get AVAILABLE."""
    lines = output.splitlines()
    for number, line in enumerate(lines):
        match = PROBLEM.match(line)
        if match:
            detail = next((rest.strip()[len("error: "):] for rest in lines[number + 1:number + 3]
                           if rest.strip().startswith("error: ")), "")
            return f"{match[2]}: {detail}" if detail else match[2]
    return ""
