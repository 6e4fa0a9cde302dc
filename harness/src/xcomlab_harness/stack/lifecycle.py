"""The one way to this version's stack (make up, make check, the e2e, the smoke, the bench, the throwaway checks):
prepare its images, then bring it up; another Airflow version's stack is stopped first."""

from __future__ import annotations

from collections.abc import Mapping

from xcomlab_harness.stack.airflow_image import build_airflow_image
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import say
from xcomlab_harness.stack.custom_backend import prepare_custom_backend
from xcomlab_harness.stack.health import start_and_wait
from xcomlab_harness.stack.project import compose_env
from xcomlab_harness.stack.settings import Settings, mwaa_dir
from xcomlab_harness.stack.standins import prepare_standins
from xcomlab_harness.stack.state import offline_from_state, remember, with_last_up


def prepare(settings: Mapping[str, str], offline: bool, *, takes_over: bool = True, quiet: bool = True) -> dict[str, str]:
    """The compose environment, with every image it names ready: the registry-less stand-ins when offline, then the
    Airflow image (rebuilt only when its inputs changed: a cached build is about a second). takes_over: this
    version's stack is about to run, so another version's stops and this one is remembered as the last up."""
    env = compose_env(settings, offline)
    if offline:
        prepare_standins(settings, env)
    if takes_over:
        stop_other_version(settings)
        remember(settings, offline)
    build_airflow_image(env, quiet=quiet)
    return env


def bring_up(settings: Mapping[str, str], env: dict[str, str], timeout: int) -> None:
    """Start everything prepare() readied and wait until healthy. `up` without --build: compose recreates only the
    services whose configuration changed (switching BACKEND recreates the Airflow components)."""
    settings = Settings(settings)
    if settings.xcom_backend:
        prepare_custom_backend(settings, env)
    start_and_wait(env, timeout)
    say(
        f"xcom-lab is up (Airflow {settings.version}, "
        + (f"MWAA mode, bucket {mwaa_dir(settings)}" if settings.mwaa else f"BACKEND={settings['BACKEND']}")
        + "): "
        f"http://127.0.0.1:{settings.port} "
        f"login {settings['AIRFLOW_ADMIN_USER']} / {settings['AIRFLOW_ADMIN_PASSWORD']}"
    )


def stop_other_version(settings: Mapping[str, str]) -> None:
    """Each Airflow version keeps its own metadata DB volume; their services differ, so stop the old set."""
    previous = with_last_up(settings, environ={})
    if previous.version != settings["AIRFLOW_VERSION"]:
        say(f"switching Airflow {previous.version} -> {settings['AIRFLOW_VERSION']}: stopping the old stack")
        compose(compose_env(previous, offline_from_state(previous)), "down", "--remove-orphans", check=False)
