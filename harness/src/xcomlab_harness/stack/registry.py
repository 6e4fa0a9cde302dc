"""OFFLINE=auto: whether this machine can pull images, or must build the registry-less stand-ins."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping

from xcomlab_harness.stack.compose import pinned_image
from xcomlab_harness.stack.console import say
from xcomlab_harness.stack.settings import Settings


def registry_answers(image: str) -> bool:
    """Can this machine pull? Pulls one pinned image the stack needs anyway."""
    try:
        result = subprocess.run(["docker", "pull", "--quiet", image], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def is_offline(settings: Mapping[str, str]) -> bool:
    choice = Settings(settings).offline_choice
    if choice is not None:
        return choice
    image = pinned_image("postgres")
    if registry_answers(image):
        return False
    say(f"registry-less mode: `docker pull {image}` failed, so the stand-in images are built from packages")
    return True
