"""KEY=VALUE files (.env, compose/backends/*.env, BACKEND_ENV) read as docker compose reads them."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path

from xcomlab_harness.stack.console import SandboxError


def interpolate(value: str, settings: Mapping[str, str]) -> str:
    """${NAME} as compose substitutes it in .env and env files: the store roots name ${AIRFLOW_VERSION}, so
    each version's XComs live under their own root, beside its own metadata DB (the lifecycle tools of one
    version never see another's objects as orphans)."""
    return string.Template(value).safe_substitute(settings)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them: comments, blank lines, single/double quotes."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            # the line itself is not shown: it may be a secret that lost its KEY=
            raise SandboxError(f"{path.name} line {number} is not KEY=VALUE (KEY: letters, digits, _; not a digit first)")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values
