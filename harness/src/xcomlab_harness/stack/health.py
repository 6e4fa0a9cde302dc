"""Starting the stack and waiting until it is healthy; when it is not, saying which services and why.

Docker runs the Airflow components' healthchecks rarely (compose/docker-compose.yml: at one probe a second, they
took nearly half of an idle stack's CPU). So while the harness waits, it runs each service's own probe
itself, every second, until the service passes it once: `up --wait` would wait for Docker's next probe, and
Engine 20.10 has no start_interval.
"""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from xcomlab_harness.stack.compose import compose, containers
from xcomlab_harness.stack.console import SandboxError, say

CELERY_WORKERS = ("airflow-worker-a", "airflow-worker-b", "airflow-worker")  # the celery profile's services
EVERY = 1.0  # seconds between two rounds of probes


def failing_services(summaries: list[dict]) -> list[str]:
    """Services not running healthy; a one-shot (storage-init, airflow-init) that exited 0 did its job."""
    failing = []
    for container in summaries:
        state, health = container.get("State", ""), container.get("Health", "")
        one_shot_ok = state == "exited" and container.get("ExitCode") == 0
        if not one_shot_ok and (state != "running" or health not in ("", "healthy")):
            failing.append(container.get("Service", ""))
    return failing


def diagnose(env: dict[str, str], failing: list[str] | None = None) -> list[str]:
    """Print `ps` and the logs of the failing services (by default: every one not running healthy); return
    their names."""
    compose(env, "ps", "--all", check=False)
    failing = failing_services(containers(env)) if failing is None else failing
    for service in failing:
        say(f"--- last logs of {service} ---")
        compose(env, "logs", "--no-color", "--tail", "60", service, check=False)
    return failing


def settled(inspected: dict) -> bool | None:
    """From `docker inspect`: True when the container is done starting (running healthy or without a
    healthcheck, or a one-shot that exited 0), False when it has failed (exited otherwise, dead, unhealthy),
    None while its probe has yet to pass."""
    state = inspected["State"]
    if state["Status"] in ("exited", "dead"):
        return state["Status"] == "exited" and state["ExitCode"] == 0
    health = (state.get("Health") or {}).get("Status")
    if state["Status"] != "running" or health == "starting":
        return None  # created, restarting, or running with a probe that has not passed yet
    return health != "unhealthy"


def probe_command(inspected: dict) -> list[str]:
    """The container's healthcheck as a command line for `docker exec`."""
    test = inspected["Config"]["Healthcheck"]["Test"]
    return ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]


def passes_probe(inspected: dict) -> bool:
    timeout = inspected["Config"]["Healthcheck"].get("Timeout") or 30e9  # nanoseconds
    try:
        return subprocess.run(["docker", "exec", inspected["Id"], *probe_command(inspected)], capture_output=True,
                              timeout=timeout / 1e9).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def inspect_containers(ids: list[str]) -> list[dict]:
    done = subprocess.run(["docker", "inspect", *ids], capture_output=True, text=True)
    return json.loads(done.stdout or "[]")


def service(inspected: dict) -> str:
    return inspected["Config"]["Labels"]["com.docker.compose.service"]  # every id comes from `compose ps`


def unhealthy_after(env: dict[str, str], timeout: float) -> list[str]:
    """Wait until every container of the project has settled, probing those not yet healthy each second; the
    services that failed (at once) or had not passed their probe when the timeout came ([]: all healthy)."""
    # --orphans=false: as `up --wait`, not the containers of services the project no longer declares
    ids = compose(env, "ps", "--all", "--quiet", "--orphans=false", capture_output=True, text=True).stdout.split()
    deadline = time.monotonic() + timeout
    with ThreadPoolExecutor(4) as pool:
        while ids:
            started = time.monotonic()
            found = inspect_containers(ids)
            states = [settled(inspected) for inspected in found]
            if False in states or len(found) < len(ids):  # failed, or removed under us
                return [service(c) for c, state in zip(found, states) if state is False] or ["(a removed container)"]
            starting = [inspected for inspected, state in zip(found, states) if state is None]
            passed = list(pool.map(lambda c: c["State"]["Status"] == "running" and passes_probe(c), starting))
            if not all(passed) and time.monotonic() + EVERY > deadline:
                return [service(c) for c, ok in zip(starting, passed) if not ok]
            ids = [inspected["Id"] for inspected, ok in zip(starting, passed) if not ok]
            time.sleep(max(0.0, EVERY - (time.monotonic() - started)) if ids else 0)
    return []


def start_and_wait(env: dict[str, str], timeout: int, services: tuple[str, ...] = ()) -> None:
    """`up` (of the services named alone, without their dependencies, leaving the rest as it runs, when some
    are), then wait until every service is healthy; when one is not, show what and why, in one sentence."""
    if not services and env.get("COMPOSE_PROFILES") != "celery":  # an earlier PROFILE=celery up's workers go
        # --volumes: the extra replicas' anonymous XCom folders go with them (the named ones of A and B stay)
        compose(dict(env, COMPOSE_PROFILES="celery"), "rm", "--force", "--stop", "--volumes", *CELERY_WORKERS,
                check=False, capture_output=True)
    if compose(env, "up", "--detach", *(("--no-deps", *services) if services else ()), check=False).returncode != 0:
        failing = diagnose(env)
    elif failing := unhealthy_after(env, timeout):
        diagnose(env, failing)
    else:
        return
    raise SandboxError(
        f"the stack did not become healthy within {timeout} s"
        + (f"; not healthy: {', '.join(failing)} (their logs are above)" if failing else "")
        + ". Fix the cause, then `make up` again (`make clean` starts from empty volumes)."
    )
