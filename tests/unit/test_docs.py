"""The README and docs/ show commands that work as shown: every `make` command names a target the Makefile
has and settings `make help` or .env documents, with values the sandbox accepts; every link resolves, every
repository path they name exists and every section they refer to is a heading of the file they mean.
(`make up`, `make e2e` and `make test` themselves are what CI runs.)"""

from __future__ import annotations

import functools
import re
import shlex
import subprocess

import pytest
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.env_files import read_dotenv
from xcomlab_harness.stack.paths import DOTENV, ROOT
from xcomlab_harness.stack.settings import load_settings

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
    settings = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", shown)) | set(read_dotenv(DOTENV))
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
        with pytest.raises(SandboxError) as raised:
            load_settings(environ=checked)
        assert str(raised.value) == error
    else:
        load_settings(environ=checked)  # raises SandboxError on a value the sandbox refuses


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: d.name)
def test_links_resolve(doc):
    for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text()):
        if not re.match(r"[a-z]+://", target):
            assert (doc.parent / target).exists(), f"{doc.name} links to {target}, which does not exist"


# The repository's own top-level folders and files, as git tracks them: reports/ and .cache/ hold what runs write,
# so paths there are not checked.
TRACKED = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
REPO_FOLDERS = tuple(sorted({path.split("/")[0] + "/" for path in TRACKED if "/" in path}))
REPO_FILES = {path for path in TRACKED if "/" not in path}
DOC_PATH = r"README\.md|docs/[\w/.-]+\.md"
# How the docs point at a section: `docs/f.md's "X"`, `(docs/f.md, "X")`, `"X" in docs/f.md` (that file's);
# `see "X"`, `"X" above` or `below` (the same file's).
SECTION_REFERENCES = [rf"(?P<doc>{DOC_PATH})(?:'s |, )\"(?P<name>[^\"]+)\"",
                      rf"\"(?P<name>[^\"]+)\" in (?P<doc>{DOC_PATH})",
                      rf"\bsee \"(?P<name>[^\"]+)\"(?! in (?:{DOC_PATH}))",
                      r"\"(?P<name>[^\"]+)\" (?:above|below)\b"]


def prose(text: str) -> str:
    """The text outside fenced code blocks: a `# comment` there is no heading, and a fence's backticks would pair
    with inline code's."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def repository_paths(text: str) -> list[str]:
    """Inline code that names a file or folder of the repository: in one of REPO_FOLDERS, or one of REPO_FILES."""
    return list(dict.fromkeys(code for code in re.findall(r"`([^`]+)`", prose(text))
                              if not re.search(r"\s", code) and (code.startswith(REPO_FOLDERS) or code in REPO_FILES)))


def section_references(text: str) -> list[tuple[str, str]]:
    """(the doc referred to, or "" for the same one; the section's name) of every reference to a section, code
    blocks included: docs/layout.md's tree is one."""
    flowing = " ".join(text.split())  # a reference may wrap onto the next line
    return sorted({(found.groupdict().get("doc") or "", found["name"])
                   for pattern in SECTION_REFERENCES for found in re.finditer(pattern, flowing)})


def headings(doc) -> set[str]:
    return set(re.findall(r"^#+ +(.+?) *$", prose(doc.read_text()), re.M))


PATHS = [(doc.name, path) for doc in DOCS for path in repository_paths(doc.read_text())]
REFERENCES = [(doc, *ref) for doc in DOCS for ref in section_references(doc.read_text())]


def test_the_docs_name_repository_paths_and_sections():
    assert len({path for _, path in PATHS}) >= 30 and len(REFERENCES) >= 5


@pytest.mark.parametrize("doc, path", PATHS, ids=[f"{d}: {p}" for d, p in PATHS])
def test_repository_path_exists(doc, path):
    pattern = re.sub(r"<[^>]*>|…", "*", path).rstrip("/")  # a <placeholder> or … stands for any name
    assert any(ROOT.glob(pattern)), f"{doc} names `{path}`, which is not in the repository"


@pytest.mark.parametrize("doc, target, name", REFERENCES, ids=[f"{d.name}: {t} {n}" for d, t, n in REFERENCES])
def test_section_reference_resolves(doc, target, name):
    referred = ROOT / target if target else doc
    assert referred.exists() and name in headings(referred), \
        f'{doc.name} refers to "{name}", which is no heading of {target or doc.name}'
