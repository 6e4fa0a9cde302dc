#!/usr/bin/env python3
"""xcom-lab's driver behind the Makefile: checks .env, picks the compose files, builds the registry-less
stand-ins when no registry answers, and runs docker compose with clear messages when something is wrong.

It needs only the standard library, python-dotenv and packaging (`make setup` sees that python3 has them), so it
runs before `uv sync`. The work lives in xcomlab_harness.stack, one module per job, which the harness and the
tests import; this module is only its command line.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

if not __package__:  # run as a script (the Makefile): sys.path[0] is this folder, not the one holding the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xcomlab_harness.stack.compose import compose, containers
from xcomlab_harness.stack.console import SandboxError, say
from xcomlab_harness.stack.health import diagnose
from xcomlab_harness.stack.lifecycle import bring_up, prepare
from xcomlab_harness.stack.mwaa_wheels import fetch_mwaa_requirements
from xcomlab_harness.stack.prerequisites import check_docker
from xcomlab_harness.stack.project import compose_env, image_python
from xcomlab_harness.stack.registry import is_offline
from xcomlab_harness.stack.settings import (
    Settings,
    check_mwaa_dir,
    check_mwaa_version,
    load_settings,
    mwaa_dir,
)
from xcomlab_harness.stack.state import offline_from_state, with_last_up
from xcomlab_harness.stack.throwaway import lint, mwaa_freeze, mwaa_validate

COMMANDS = {  # command -> what it does; PASSTHROUGH ones hand the rest of the line on as it is
    "check": "validate .env and the environment, print the settings in force",
    "up": "build what is missing and start the stack, waiting until every service is healthy",
    "down": "stop the stack (the rest goes to `docker compose down`, e.g. --volumes)",
    "diagnose": "show ps and the logs of every service that is not healthy",
    "mwaa-validate": "MWAA preflight of MWAA_DIR on this Airflow version (no stack needed)",
    "mwaa-freeze": "pip freeze of MWAA mode's image against MWAA's pins, per MWAA version (no stack needed)",
    "lint": "settings Airflow ignores or that fail XComs at run time (.env, airflow.cfg, options .json)",
    "run": "run `-- CMD...` with the compose environment (COMPOSE_FILE, ...) after preparing images",
    "compose": "any docker compose command on this project",
    "exec": "`exec SERVICE CMD...` in a running component (make doctor, make bench); says to `make up` first if it is not",
}
PASSTHROUGH = ("down", "run", "compose", "exec")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="sandbox.py", description="xcom-lab's driver behind make (`make help`).")
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, summary in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary, add_help=name not in PASSTHROUGH)
        if name == "mwaa-freeze":
            command.add_argument("versions", nargs="?", default="", help="MWAA versions, comma-separated (default: all)")
        elif name == "lint":
            command.add_argument("files", nargs="*", default=[".env"], help="files to lint (default: .env)")
    return cli


CHECK_KEYS = ("AIRFLOW_VERSION", "BACKEND", "S3_EMULATOR", "OFFLINE", "XCOM_THRESHOLD", "MWAA", "MWAA_DIR",
              "PROFILE", "WORKERS")
PROBING = ("up", "run", "mwaa-validate", "mwaa-freeze", "lint")  # the commands that decide the mode; the others ask the last up


def main(argv: list[str]) -> int:
    cli = parser()
    parsed, args = cli.parse_known_args(argv)
    command = parsed.command
    if args and command not in PASSTHROUGH:
        cli.error(f"{command}: unrecognized arguments: {' '.join(args)}")
    if command == "mwaa-freeze" and len(versions := [v for v in parsed.versions.split(",") if v]) != 1:
        from xcomlab_harness.stack.mwaa_packages import mwaa_versions

        # each version in turn, with its own settings and image
        return max([main(["mwaa-freeze", version]) for version in versions or mwaa_versions()])
    try:
        # MWAA's commands validate as MWAA mode (MWAA's lock, not the sandbox's: 2.9.2 has only the former)
        overrides = {"AIRFLOW_VERSION": parsed.versions} if command == "mwaa-freeze" else {}
        settings = load_settings(dict(os.environ, MWAA="1", **overrides)
                                 if command in ("mwaa-validate", "mwaa-freeze") else None)
        if command == "check":
            for key in CHECK_KEYS:
                print(f"{key}={settings[key]}")
            return 0
        check_docker()  # every command below drives Docker
        if command in ("mwaa-validate", "mwaa-freeze"):
            settings = Settings(settings, MWAA="1")
            check_mwaa_version(settings.version)
            check_mwaa_dir(mwaa_dir(settings))
        if command in PROBING:
            offline = is_offline(settings)
        else:  # down/compose/diagnose address the stack of the last up, without probing again
            settings = with_last_up(settings)
            offline = offline_from_state(settings)
        # the throwaway checks start no stack: they take over nothing
        env = prepare(settings, offline, takes_over=command in ("up", "run"), quiet=command != "up") \
            if command in PROBING else compose_env(settings, offline)
        if command in ("up", "run", "mwaa-validate") and settings.mwaa:
            fetch_mwaa_requirements(settings, offline)  # the preflight installs them too, as MWAA would
        if command == "up":
            bring_up(settings, env, timeout=int(os.environ.get("WAIT_TIMEOUT", "300")))
        elif command == "run":
            return subprocess.run(args[1:] if args[:1] == ["--"] else args, env=env).returncode
        elif command == "mwaa-validate":
            return mwaa_validate(env)
        elif command == "mwaa-freeze":
            return mwaa_freeze(settings, env, image_python(settings, offline))
        elif command == "lint":
            return lint(env, parsed.files)
        elif command == "down":
            return compose(env, "down", *args, check=False).returncode
        elif command == "diagnose":
            diagnose(env)
        elif command == "compose":
            return compose(env, *args, check=False).returncode
        elif command == "exec":
            if not args or not any(c["Service"] == args[0] and c["State"] == "running" for c in containers(env)):
                raise SandboxError(f"{(args or ['the component'])[0]} is not running: `make up` starts the stack first")
            return compose(env, "exec", "-T", *args, check=False).returncode
    except SandboxError as err:
        say(f"error: {err}")
        return 1
    except subprocess.CalledProcessError as err:
        say(f"error: `{' '.join(map(str, err.cmd))}` failed with exit code {err.returncode} (output above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
