"""How the driver talks to the user: one prefix on stderr, errors the user can act on, commands echoed."""

from __future__ import annotations

import subprocess
import sys


class SandboxError(Exception):
    """Something the user must fix (a setting, a missing tool, an unhealthy stack); the message says what."""


def say(message: str) -> None:
    print(f"xcom-lab: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], **kwargs) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)
