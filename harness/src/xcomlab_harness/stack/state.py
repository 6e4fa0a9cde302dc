"""What the last up/run chose (.cache/last-up.json): down, ps, logs and the tests address that same stack
without probing the registry again."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from xcomlab_harness.stack.paths import CACHE
from xcomlab_harness.stack.settings import Settings

STATE_FILE = CACHE / "last-up.json"
STATE_KEYS = ("AIRFLOW_VERSION", "MWAA", "MWAA_DIR", "PROFILE", "WORKERS")


def remember(settings: Mapping[str, str], offline: bool) -> None:
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({"offline": offline, **{k: settings[k] for k in STATE_KEYS}}) + "\n")


def last_up() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def with_last_up(settings: Mapping[str, str], environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of the running stack: the last up's version and MWAA mode, unless given explicitly."""
    environ = os.environ if environ is None else environ
    state = last_up()
    return Settings(settings, **{k: state[k] for k in STATE_KEYS if k in state and k not in environ})


def offline_from_state(settings: Mapping[str, str]) -> bool:
    """The mode the last `up` chose, so `down` uses the same files; an explicit OFFLINE wins."""
    choice = Settings(settings).offline_choice
    return last_up().get("offline", False) if choice is None else choice
