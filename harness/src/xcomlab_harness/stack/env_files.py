"""KEY=VALUE files (.env, compose/backends/*.env, BACKEND_ENV) read as docker compose reads them, with python-dotenv's
parser: the one .env reader of the harness (xcomlab_tools.lint reads with the same parser inside the components)."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from pathlib import Path

from dotenv.parser import parse_stream

from xcomlab_harness.stack.console import SandboxError


def interpolate(value: str, settings: Mapping[str, str]) -> str:
    """${NAME} as compose substitutes it in .env and env files: the store roots name ${AIRFLOW_VERSION}, so
    each version's XComs live under their own root, beside its own metadata DB (the lifecycle tools of one
    version never see another's objects as orphans)."""
    return string.Template(value).safe_substitute(settings)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them (python-dotenv's parser: comments, inline ones too, quotes,
    `export`), ${...} left for interpolate(); a line that is not KEY=VALUE stops with its number."""
    values = {}
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            if binding.error or (binding.key is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", binding.key)):
                # the line itself is not shown: it may be a secret that lost its KEY=
                raise SandboxError(f"{path.name} line {binding.original.line} is not KEY=VALUE (KEY: letters, digits, "
                                   "_; not a digit first)")
            if binding.key is not None:
                values[binding.key] = binding.value or ""
    return values
