"""MWAA mode's container entrypoint: what an MWAA container does before Airflow starts, then `airflow ARGS`.

1. read the configuration options (refused as MWAA's API refuses them);
2. deploy plugins.zip (or plugins/) into $AIRFLOW_HOME/plugins;
3. source startup.sh (5-minute limit) and keep what it exports, reserved variables excepted;
4. pip install requirements.txt with MWAA's essential constraints and the version's constraints forced (9-minute
   limit); a failure is logged in MWAA's words and Airflow starts anyway, as on MWAA;
5. exec Airflow with the environment in MWAA's priority order, from $AIRFLOW_HOME, with nothing added to
   sys.path (no PYTHONPATH).
Usage: python -m xcomlab_tools.mwaa.entrypoint ui|scheduler|dag-processor|triggerer|... (ui: this version's
api-server or webserver)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from xcomlab import compat
from xcomlab_tools.mwaa import options, plugins, requirements

BUCKET = Path("/mwaa")  # MWAA_DIR, read-only: what the environment's S3 bucket holds
HOME = Path(os.environ.get("AIRFLOW_HOME", "/usr/local/airflow"))
OPTIONS_FILE = BUCKET / "airflow-configuration-options.json"
# The constraints MWAA forces on requirements.txt: MWAA's own for the version (compose/mwaa.yml mounts MWAA's package
# set and names the file); without it, the image's lock stands in.
CONSTRAINTS = Path(os.environ.get("MWAA_CONSTRAINTS_FILE") or "/opt/xcom-lab/requirements.txt")
# MWAA's essential constraints: pins no requirements.txt may override, applied even when it has its own -c. Set
# by MWAA's own variable; unset, only CONSTRAINTS applies.
ESSENTIAL_CONSTRAINTS = (Path(os.environ["MWAA_ESSENTIAL_CONSTRAINTS_FILE"])
                         if os.environ.get("MWAA_ESSENTIAL_CONSTRAINTS_FILE") else None)
WHEELS = Path("/mwaa-wheels")  # requirements fetched on the host (containers here reach no index)
STARTUP_TIMEOUT = 5 * 60 - 5  # seconds; amazon-mwaa-docker-images stops the script 5 s short of 5 minutes
USER_REQUIREMENTS_MAX_INSTALL_TIME = 9 * 60  # seconds: MWAA's constant of that name stops pip after 9 minutes


def say(message: str) -> None:
    print(f"mwaa: {message}", file=sys.stderr, flush=True)


def run_startup_script(env: dict[str, str]) -> dict[str, str]:
    """Source startup.sh as MWAA does (an `exit` in it only ends the script) and return its exports."""
    source = BUCKET / "startup.sh"
    if not source.exists():
        return {}
    script = HOME / "startup" / "startup.sh"
    script.parent.mkdir(exist_ok=True)
    shutil.copy(source, script)
    with tempfile.NamedTemporaryFile() as dump:
        try:
            subprocess.run(
                ["bash", "-c", 'shopt -s expand_aliases; alias exit=return; source "$1"; env -0 > "$2"',
                 "startup.sh", str(script), dump.name],
                env=env, cwd=HOME, timeout=STARTUP_TIMEOUT, check=False,
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"mwaa: startup.sh did not finish within {STARTUP_TIMEOUT} s: MWAA stops the "
                             f"container (move long work out of the startup script)") from None
        after = dict(item.split("=", 1) for item in Path(dump.name).read_text().split("\0") if "=" in item)
    exports = {k: v for k, v in after.items() if env.get(k) != v and k not in ("_", "SHLVL", "PWD", "OLDPWD")}
    for name in sorted(exports):
        say(f"startup.sh exported {name}" + (": a reserved variable, so MWAA keeps its own value"
                                              if options.reserved(name) else ""))
    return exports


def deploy_requirements() -> Path | None:
    """The bucket's requirements.txt where MWAA downloads it, alone: $AIRFLOW_HOME/requirements/. pip reads its
    `-r`/`-c` files relative to it there, so a file beside it in the bucket is not found, as on MWAA."""
    source = BUCKET / "requirements.txt"
    if not source.exists():
        return None
    target = HOME / "requirements" / "requirements.txt"
    target.parent.mkdir(exist_ok=True)
    shutil.copy(source, target)
    return target


def install_requirements(env: dict[str, str]) -> bool:
    """pip as MWAA runs it; False when it failed (MWAA logs FAILURE and starts Airflow anyway)."""
    target = deploy_requirements()
    if target is None or not any(
        line.strip() and not line.lstrip().startswith("#") for line in target.read_text().splitlines()
    ):
        return True
    # MWAA's command: safe-pip-install puts the essential constraints first, then `-r file [-c constraints]`
    essential = ["--constraint", str(ESSENTIAL_CONSTRAINTS)] if ESSENTIAL_CONSTRAINTS else []
    forced = [] if requirements.has_own_constraints(target.read_text()) else ["-c", str(CONSTRAINTS)]
    command = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(WHEELS),
               *essential, "-r", str(target), *forced]
    say("$ " + " ".join(command))
    try:
        result = subprocess.run(command, env=env, timeout=USER_REQUIREMENTS_MAX_INSTALL_TIME)
        failed = result.returncode != 0
    except subprocess.TimeoutExpired:
        say(f"pip did not finish within {USER_REQUIREMENTS_MAX_INSTALL_TIME // 60} minutes, MWAA's limit: stopped")
        failed = True
    if failed:
        say(requirements.FAILURE)
        say("MWAA starts Airflow without these packages (tasks importing them fail); `make mwaa-validate` names "
            "the conflicts")
    return not failed


def main(argv: list[str]) -> None:
    try:
        config = options.load(OPTIONS_FILE)
        say(f"plugins: {plugins.install(BUCKET, HOME / 'plugins')}")
    except (options.OptionsError, plugins.PluginsError) as err:
        raise SystemExit(f"mwaa: {err}") from None
    container = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    exports = run_startup_script({**container, **options.to_environ(config)})
    env = options.merge(container, exports, config)
    install_requirements(env)
    os.chdir(HOME)
    if argv[:1] in (["bash"], ["python"]):
        os.execvpe(argv[0], argv, env)
    if argv[:1] == ["ui"]:
        argv = [compat.UI_COMMAND, *argv[1:]]
    os.execvpe("airflow", ["airflow", *argv], env)


if __name__ == "__main__":
    main(sys.argv[1:])
