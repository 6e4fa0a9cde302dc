"""Bringing the stack up, and stopping another Airflow version's stack before this one starts."""

from __future__ import annotations

from collections.abc import Mapping

from xcomlab_harness.stack.airflow_image import build_airflow_image
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.console import say
from xcomlab_harness.stack.custom_backend import prepare_custom_backend
from xcomlab_harness.stack.health import start_and_wait
from xcomlab_harness.stack.project import compose_env
from xcomlab_harness.stack.settings import Settings, mwaa_dir
from xcomlab_harness.stack.state import offline_from_state, with_last_up


def bring_up(settings: Mapping[str, str], env: dict[str, str], timeout: int) -> None:
    """Build the Airflow image if its inputs changed, start everything, wait until healthy.

    `up` without --build: the other images are official ones or stand-ins built by prepare_standins.
    Switching BACKEND this way recreates only the services whose configuration changed.
    """
    settings = Settings(settings)
    # One service builds the image all Airflow services share (its context is small: a cached build is ~1 s).
    build_airflow_image(env, quiet=False)
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
