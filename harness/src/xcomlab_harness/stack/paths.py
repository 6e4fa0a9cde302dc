"""Where the repository keeps what the stack is made of, and the host-side cache of what it builds."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]  # harness/src/xcomlab_harness/stack/ -> the repo
COMPOSE_DIR = ROOT / "compose"
STANDINS = COMPOSE_DIR / "standins"
CACHE = ROOT / ".cache"
DOTENV = ROOT / ".env"
REPORTS = ROOT / "reports"  # what make check and make e2e write
