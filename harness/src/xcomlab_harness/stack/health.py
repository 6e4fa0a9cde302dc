"""Starting the stack and waiting until it is healthy; when it is not, saying which services and why."""

from __future__ import annotations

from xcomlab_harness.stack.compose import compose, containers
from xcomlab_harness.stack.console import SandboxError, say

CELERY_WORKERS = ("airflow-worker-a", "airflow-worker-b", "airflow-worker")  # the celery profile's services


def failing_services(summaries: list[dict]) -> list[str]:
    """Services not running healthy; a one-shot (storage-init, airflow-init) that exited 0 did its job."""
    failing = []
    for container in summaries:
        state, health = container.get("State", ""), container.get("Health", "")
        one_shot_ok = state == "exited" and container.get("ExitCode") == 0
        if not one_shot_ok and (state != "running" or health not in ("", "healthy")):
            failing.append(container.get("Service", ""))
    return failing


def diagnose(env: dict[str, str]) -> list[str]:
    """Print `ps` and the logs of every service that is not running healthy; return their names."""
    compose(env, "ps", "--all", check=False)
    failing = failing_services(containers(env))
    for service in failing:
        say(f"--- last logs of {service} ---")
        compose(env, "logs", "--no-color", "--tail", "60", service, check=False)
    return failing


def start_and_wait(env: dict[str, str], timeout: int) -> None:
    """`up --wait`; when it fails, show what is unhealthy and why, and say so in one sentence."""
    if env.get("COMPOSE_PROFILES") != "celery":  # workers of an earlier PROFILE=celery up: not ours to keep
        # --volumes: the extra replicas' anonymous XCom folders go with them (the named ones of A and B stay)
        compose(dict(env, COMPOSE_PROFILES="celery"), "rm", "--force", "--stop", "--volumes", *CELERY_WORKERS,
                check=False, capture_output=True)
    result = compose(env, "up", "--detach", "--wait", "--wait-timeout", str(timeout), check=False)
    if result.returncode != 0:
        failing = diagnose(env)
        raise SandboxError(
            f"the stack did not become healthy within {timeout} s"
            + (f"; not healthy: {', '.join(failing)} (their logs are above)" if failing else "")
            + ". Fix the cause, then `make up` again (`make clean` starts from empty volumes)."
        )
