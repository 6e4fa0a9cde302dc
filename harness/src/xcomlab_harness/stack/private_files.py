"""Files that hold settings or secrets (BACKEND_ENV's values, the emulators' keys, MWAA options, startup scripts,
connections): never readable by the machine's other users, and quoted so every value comes back unchanged.

Owner only (0600) for a file only the host reads (compose reads an env_file itself); 0640 with the writer's group
for one a container reads: its processes (uid 50000) get that group through compose's group_add (XCOM_LAB_FILES_GID
in compose/custom-backend.yml and compose/mwaa.yml). The mode is set before a byte is written, also on a file an
earlier run left wider.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path

OWNER_ONLY = 0o600
GROUP_READABLE = 0o640
SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what `export NAME=...` accepts


def write_private(path: Path, text: str, *, group: bool = False) -> bool:
    """Write text to path, 0600 (group: 0640, group = the writer's); whether it changed. In place: a container
    that bind-mounts the file (its inode) sees the new text."""
    mode = GROUP_READABLE if group else OWNER_ONLY
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, mode)  # created so: the umask can only narrow it
    with os.fdopen(fd, "r+", encoding="utf-8", errors="surrogateescape", newline="") as f:
        os.fchmod(fd, mode)  # an earlier run's file, before it gets this text
        if group:
            os.fchown(fd, -1, os.getegid())  # a setgid folder would have given the folder's group
        if f.read() == text:
            return False
        f.seek(0)
        f.truncate()
        f.write(text)
    return True


def env_file(values: Mapping[str, str]) -> str:
    """KEY="value" lines docker compose's env_file reader turns back into exactly these values: backslash, quote
    and dollar escaped (no interpolation), line breaks as \\n and \\r."""
    def quoted(value: str) -> str:
        for char, escaped in (("\\", "\\\\"), ('"', '\\"'), ("$", "\\$"), ("\n", "\\n"), ("\r", "\\r")):
            value = value.replace(char, escaped)
        return f'"{value}"'
    return "".join(f"{key}={quoted(value)}\n" for key, value in values.items())


def shell_exports(values: Mapping[str, str]) -> str:
    """`export KEY=value` lines for sh and bash, each value quoted whole (shlex.quote). A name the shell cannot
    export (a dot, a dash) is left out: no startup script could set it either."""
    return "".join(f"export {key}={shlex.quote(value)}\n" for key, value in values.items() if SHELL_NAME.fullmatch(key))
