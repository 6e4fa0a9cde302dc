"""`make mwaa-validate`: would an MWAA update with this bucket succeed? Checks, in seconds, what MWAA finds
out in a 10-30 minute update: the configuration options, plugins.zip, requirements.txt against the forced
constraints, and whether core.xcom_backend loads, resolved by this very Airflow version with MWAA's
sys.path. Prints an MWAA-style verdict; exits 1 unless the update would succeed. A connection the options
leave to their secrets backend (e.g. SecretsManagerBackend) cannot be seen from here: it is noted as "cannot
verify", not failed.
Runs inside the MWAA-mode Airflow image (sandbox.py starts it with `docker compose run`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from xcomlab import compat
from xcomlab_tools import lint
from xcomlab_tools.mwaa import options, plugins, requirements
from xcomlab_tools.mwaa.entrypoint import (BUCKET, CONSTRAINTS, ESSENTIAL_CONSTRAINTS, HOME, OPTIONS_FILE,
                                    deploy_requirements, install_requirements)

# Run in a fresh interpreter, as a component starts: `import airflow` sets up sys.path as that version
# does (config/ and plugins/; 2.x also dags/), then the module every component imports resolves the class.
# -P: no script directory or cwd on sys.path, as for the `airflow` command.
RESOLVE = """
import importlib, json, sys

def describe(e):
    return None if e is None else f"{type(e).__module__}.{type(e).__name__}: {e}".removeprefix("builtins.")

try:
    import airflow
    xcom = importlib.import_module(sys.argv[1]).XCom
    print(json.dumps({"loaded": f"{xcom.__module__}.{xcom.__qualname__}"}))
except Exception as err:
    print(json.dumps({"error": describe(err), "cause": describe(err.__cause__ or err.__context__)}))
"""


# MWAA downloads requirements.txt alone, into $AIRFLOW_HOME/requirements/; dags/ and plugins/ are synced beside it.
INCLUDES_FIX = ("; MWAA downloads requirements.txt alone (to /usr/local/airflow/requirements/): put the included "
                "lines into it, or name a file MWAA deploys by its path, e.g. `-r /usr/local/airflow/plugins/extra.txt`")

# Verdicts, worst first. DEPLOYS_THEN_FAILS is no MWAA state: MWAA reports AVAILABLE, and then settings are
# ignored or every offloaded XCom push fails.
VERDICTS = ("ValidationException", "UPDATE_FAILED", "REQUIREMENTS_NOT_INSTALLED", "DEPLOYS_THEN_FAILS")


def mwaa_python(airflow_version: str) -> str:
    """The Python MWAA runs this Airflow version on."""
    return "3.11" if airflow_version.startswith("2.10.") else "3.12"


@dataclass
class Problem:
    verdict: str  # what MWAA would report
    what: str
    error: str
    fix: str = ""
    crashes: tuple[str, ...] = ()


def resolve_backend(env: dict[str, str]) -> dict:
    result = subprocess.run([sys.executable, "-P", "-c", RESOLVE, compat.XCOM_RESOLVER], env=env, cwd=HOME,
                            capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": f"the check itself failed: {result.stderr.strip()[-500:]}", "cause": None}
    return json.loads(lines[-1])


def locate(module: str) -> str | None:
    """Where in the bucket the module's source lies: '' (outside dags/ and plugins/), 'dags', 'plugins'."""
    relative = module.replace(".", "/")
    for place, root in (("dags", BUCKET / "dags"), ("plugins", HOME / "plugins"), ("", BUCKET)):
        if (root / f"{relative}.py").exists() or (root / relative / "__init__.py").exists():
            return place
    return None


def backend_fix(value: str, outcome: dict) -> str:
    module = value.rpartition(".")[0]
    relative = module.replace(".", "/") + ".py"
    if "not a subclass" in outcome["error"]:
        return f"make the class subclass {compat.BASE_XCOM} (the base class of Airflow {compat.AIRFLOW_MAJOR})"
    if "partially initialized module" in (outcome.get("cause") or ""):
        return (f"{relative} imports, at module level, something that imports Airflow's XCom module while "
                f"Airflow is loading the backend (a circular import): import hooks and operators inside the "
                f"methods that use them")
    place = locate(module)
    if compat.AIRFLOW_MAJOR >= 3:
        keep = (f"plugins/{relative} (core.xcom_backend stays {value!r}) or ship it as a package "
                f"in requirements.txt")
        if place == "dags":
            return f"Airflow 3 loads the XCom backend before dags/ is on sys.path: move dags/{relative} to {keep}"
        if place == "":
            return f"{relative} is outside dags/ and plugins/, which is all MWAA deploys: move it to {keep}"
    elif place == "":
        return (f"{relative} is outside dags/ and plugins/, which is all MWAA deploys: move it to "
                f"plugins/{relative} (core.xcom_backend stays {value!r}; dags/ would not reach the web server)")
    if place is None and (outcome.get("cause") or "").startswith("ModuleNotFoundError"):
        return (f"no module {module!r} in dags/, plugins/ or the installed packages: check the spelling of "
                f"core.xcom_backend (the provider's class is "
                f"airflow.providers.common.io.xcom.backend.XComObjectStorageBackend)")
    return "fix the error above in the backend module"


def lint_options(path) -> tuple[list[Problem], list[str]]:
    """The settings lint on the options: what deploys and then fails, and notes for what it cannot verify from
    here (a connection kept in the options' secrets backend, e.g. SecretsManagerBackend)."""
    # MWAA defines aws_default itself (the execution role's credentials).
    findings = lint.lint(options_files=[path], environ={"AIRFLOW_CONN_AWS_DEFAULT": "aws://"})
    problems = [Problem("DEPLOYS_THEN_FAILS", f.where, f.rule, f.fix) for f in findings if not f.unverified]
    notes = [f"  note: {f.where}: {f.rule}; {f.fix}" for f in findings if f.unverified]
    return problems, notes


def package_set_notes() -> list[str]:
    """Which package set this image holds, and each pin that differs from MWAA's (marked in the forced constraints)."""
    if "MWAA_CONSTRAINTS_FILE" not in os.environ:
        return ["  note: this image holds xcom-lab's own lock, not MWAA's package set"]
    differ = [line.split(requirements.DIFFERS)[0].strip() + " (MWAA: " + line.split(requirements.DIFFERS)[1].strip() + ")"
              for line in CONSTRAINTS.read_text().splitlines() if requirements.DIFFERS in line]
    return [f"packages: MWAA's package set for this version ({CONSTRAINTS.name})"
            + (f", except: {'; '.join(differ)}" if differ else ", every pin as MWAA's")]


def check(airflow_version: str) -> tuple[list[Problem], list[str]]:
    problems, notes = [], []
    try:
        config = options.load(OPTIONS_FILE)
    except options.OptionsError as err:
        return [Problem("ValidationException", f"{OPTIONS_FILE.name} (the API refuses the update; the "
                        f"environment stays as it is)", "\n".join(err.problems))], notes
    notes.append(f"configuration options: {len(config)} accepted by MWAA's API")
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if here != mwaa_python(airflow_version):
        notes.append(f"  note: MWAA runs Airflow {airflow_version} on Python {mwaa_python(airflow_version)}; this "
                     f"sandbox on {here} (no {mwaa_python(airflow_version)} is packaged for the registry-less "
                     f"images): a wheel built for one Python only is not caught here")
    notes += package_set_notes()
    found, cannot_verify = lint_options(OPTIONS_FILE)
    problems += found
    notes += cannot_verify
    notes += [f"  note: {key} is set by MWAA itself; your value is ignored" for key in options.overridden(config)]

    try:
        notes.append(f"plugins: {plugins.install(BUCKET, HOME / 'plugins')}")
    except plugins.PluginsError as err:
        problems.append(Problem("UPDATE_FAILED", "plugins", str(err), crashes=compat.COMPONENTS))

    deployed = deploy_requirements()  # read where MWAA puts it: its includes relative to that folder
    if deployed is not None:
        found = requirements.conflicts(deployed, CONSTRAINTS, airflow_version,
                                       essential=ESSENTIAL_CONSTRAINTS, python_version=mwaa_python(airflow_version))
        problems += [Problem("REQUIREMENTS_NOT_INSTALLED", "requirements.txt", c,
                             "MWAA logs the pip failure and starts without these packages"
                             + (INCLUDES_FIX if "Could not open" in c else "")) for c in found]
        if not found and install_requirements(dict(os.environ)):  # as each component does before the import
            notes.append("requirements.txt: compatible with the constraints MWAA applies")
        elif not found:  # no pin excludes a line, yet pip cannot resolve them all (a dependency's own range)
            problems.append(Problem("REQUIREMENTS_NOT_INSTALLED", "requirements.txt",
                                    "pip cannot install them under the constraints MWAA applies (its output above: "
                                    "a dependency needs a version the constraints exclude, or has no wheel for "
                                    "MWAA's Python)", "MWAA logs the pip failure and starts without these packages"))

    value = config.get("core.xcom_backend")
    if value:
        env = options.merge({k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, {}, config)
        outcome = resolve_backend(env)
        if "error" in outcome:
            error = outcome["error"] + (f" (caused by {outcome['cause']})" if outcome.get("cause") else "")
            problems.append(Problem("UPDATE_FAILED", f"core.xcom_backend = {value}", error,
                                    backend_fix(value, outcome), compat.COMPONENTS))
        elif compat.AIRFLOW_MAJOR < 3 and locate(value.rpartition(".")[0]) == "dags":
            # 2.x puts dags/ on sys.path, but MWAA syncs dags/ to the scheduler and workers only.
            relative = value.rpartition(".")[0].replace(".", "/") + ".py"
            problems.append(Problem("UPDATE_FAILED", f"core.xcom_backend = {value}",
                                    "loads from dags/ in the scheduler and workers, but MWAA's web server has no "
                                    "dags/: ModuleNotFoundError there",
                                    f"move dags/{relative} to plugins/{relative} (core.xcom_backend stays {value!r})",
                                    (compat.UI_COMMAND,)))
        else:
            notes.append(f"core.xcom_backend: {value} loads ({outcome['loaded']}, a subclass of {compat.BASE_XCOM})")
    else:
        notes.append("core.xcom_backend: not set (Airflow's default, the metadata DB)")
    return problems, notes


def report(airflow_version: str, problems: list[Problem], notes: list[str]) -> str:
    lines = [f"MWAA preflight: Airflow {airflow_version}, bucket {os.environ.get('MWAA_DIR', BUCKET)}"]
    lines += [f"  {note}" for note in notes]
    for problem in problems:
        lines.append(f"  {problem.verdict}: {problem.what}")
        errors = problem.error.split("\n")
        lines += [f"    error: {errors[0]}"] if len(errors) == 1 else [f"    - {error}" for error in errors]
        if problem.crashes:
            lines.append(f"    would crash: {', '.join(problem.crashes)} (each loads it at start; the update "
                         f"rolls back after 10-30 minutes)")
        if problem.fix:
            lines.append(f"    fix: {problem.fix}")
    verdicts = [p.verdict for p in problems]
    worst = next((v for v in VERDICTS if v in verdicts), "AVAILABLE")
    if worst == "DEPLOYS_THEN_FAILS":
        lines.append("  (MWAA would accept the update and report AVAILABLE; the settings above then fail at run time)")
    lines.append(f"Verdict: {worst}")
    return "\n".join(lines)


def main() -> int:
    problems, notes = check(compat.AIRFLOW_VERSION)
    print(report(compat.AIRFLOW_VERSION, problems, notes), flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
