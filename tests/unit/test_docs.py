"""The README and docs/ show commands that work as shown: every `make` command names a target the Makefile
has and settings `make help` or .env documents, with values the sandbox accepts; every link resolves.
(`make up`, `make e2e` and `make test` themselves are what CI runs.)"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess

import pytest

from xcomlab_harness import sandbox

ROOT = sandbox.ROOT
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Settings whose values are paths or placeholders in the docs: their names are checked, not their values.
PATH_VALUED = {"BACKEND_SRC", "BACKEND_ENV", "MWAA_DIR", "FILES", "ARGS", "CHECK_NAME", "SCENARIOS", "XCOM_BACKEND",
               "SERVICE", "BASELINE"}


def make_commands(text: str) -> list[tuple[str, str]]:
    """(command, the error the docs show it printing, or ""): `make ...` in inline code, and the lines of
    code blocks that are (or follow `$ `) a make command, with the `xcom-lab: error:` line under it."""
    found = [(cmd, "") for cmd in re.findall(r"`(make [^`]+)`", text)]
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        lines = block.splitlines()
        for n, line in enumerate(lines):
            if line.removeprefix("$ ").startswith("make "):
                shown = lines[n + 1] if n + 1 < len(lines) else ""
                found.append((line.removeprefix("$ ").split("#", 1)[0].strip(),
                              shown.split("xcom-lab: error: ", 1)[1] if "xcom-lab: error: " in shown else ""))
    return [(" ".join(cmd.replace("\\", " ").split()), error) for cmd, error in found]


@functools.cache
def documented() -> tuple[set[str], set[str]]:
    """(targets, settings) as `make help` prints them, plus .env's keys."""
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout
    targets = set(re.findall(r"^  make (\S+)", shown, re.M))
    settings = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", shown)) | set(sandbox.read_dotenv(sandbox.DOTENV))
    return targets, settings


CASES = [(doc.name, cmd, error) for doc in DOCS for cmd, error in make_commands(doc.read_text())]


def test_the_docs_show_make_commands():
    assert len([c for c in CASES if c[0] == "README.md"]) >= 10


@pytest.mark.parametrize("doc, command, error", CASES, ids=[f"{d}: {c}" for d, c, _ in CASES])
def test_make_command_works_as_shown(doc, command, error):
    targets, settings = documented()
    words = shlex.split(re.sub(r"<[^>]*>|…", "PLACEHOLDER", re.sub(r"[\[\]]|\.\.\.", " ", command)))[1:]
    given = dict(word.split("=", 1) for word in words if "=" in word)
    named = [word for word in words if "=" not in word]
    assert named and all(target in targets for target in named), f"{doc}: `{command}`: no such target in `make help`"
    unknown = sorted(set(given) - settings)
    assert not unknown, f"{doc}: `{command}`: {unknown} are not settings `make help` or .env documents"
    checked = {k: v for k, v in given.items() if k not in PATH_VALUED and v != "PLACEHOLDER"}
    if error and checked:  # shown failing on purpose: with the very message the docs print
        with pytest.raises(sandbox.SandboxError) as raised:
            sandbox.load_settings(environ=checked)
        assert str(raised.value) == error
    else:
        sandbox.load_settings(environ=checked)  # raises SandboxError on a value the sandbox refuses


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_links_resolve(doc):
    for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
        if not re.match(r"[a-z]+://", target):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"
