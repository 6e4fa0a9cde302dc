"""requirements.txt as MWAA installs it (amazon-mwaa-docker-images: python/mwaa/utils/user_requirements.py and
bin/airflow-user/safe-pip-install): `pip3 install --constraint <essential constraints> -r requirements.txt`, plus
`-c <Airflow's constraints>` unless the file names its own; on failure MWAA logs FAILURE and starts Airflow
without the packages. The file is read as pip reads it: `\\` continuations, ` #` comments, `-r`/`-c` files and
environment markers, evaluated for MWAA's containers. Includes given as URLs cannot be read here and are skipped.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

# MWAA's own test, line by line: it also matches a commented-out `# -c x` (MWAA's way to lift its constraints
# without giving any), and not `--constraint=x` or `-c=x`, which pip still reads as constraints.
MWAA_OWN_CONSTRAINTS = re.compile(r"-c |--constraint ")

# MWAA's log line when pip fails, verbatim (user_requirements.install_user_requirements).
FAILURE = ("ERROR: pip installation exited with a non-zero error code. This could be the result of package conflict. "
           "Notice that MWAA enforces a list of critical packages, e.g. Airflow, Celery, among others, whose version "
           "cannot be overridden by the customer as that can break our setup. Please double check your "
           "requirements.txt file.")

# Marks a pin MWAA mode forces in place of MWAA's own, which has no release for the stand-ins' Python (3.11):
# `name==installed  # differs from MWAA: name==mwaa's, why` (xcomlab_harness.stack.mwaa_packages writes these lines).
DIFFERS = "# differs from MWAA: "

COMMENT = re.compile(r"(^|\s+)#.*$")  # pip's COMMENT_RE: a `#` at the start or after whitespace
URL_SCHEMES = ("http:", "https:", "file:")  # pip fetches includes with these instead of opening a file
ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar")
INCLUDES = {"-r": False, "--requirement": False, "-c": True, "--constraint": True}  # option -> is a constraints file


def has_own_constraints(text: str) -> bool:
    return any(MWAA_OWN_CONSTRAINTS.search(line) for line in text.splitlines())


def mwaa_environment(python_version: str) -> dict[str, str]:
    """Marker values on MWAA's containers: Linux x86_64, CPython `python_version` ("3.12" or "3.12.13")."""
    full = python_version if python_version.count(".") >= 2 else f"{python_version}.0"
    return {"python_version": ".".join(full.split(".")[:2]), "python_full_version": full,
            "implementation_version": full, "implementation_name": "cpython",
            "platform_python_implementation": "CPython", "os_name": "posix", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64"}


@dataclass(frozen=True)
class Line:
    where: str  # "requirements.txt line 3": the file relative to the first file's folder
    text: str  # a requirement as written, without its options and comment
    constraint: bool  # read from a constraints file (`-c`)


def logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's lines: one ending in `\\` joined with the next (numbered as the first), comments and blanks dropped."""
    joined, first, found = "", None, []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.endswith("\\") and not COMMENT.match(line):
            joined, first = joined + line.strip("\\"), first or number
            continue
        found.append((first or number, joined + (" " + line if COMMENT.match(line) else line)))
        joined, first = "", None
    if joined:
        found.append((first, joined))
    return [(number, COMMENT.sub("", line).strip()) for number, line in found if COMMENT.sub("", line).strip()]


def included(options: str) -> tuple[bool, str] | None:
    """(is constraints, file) for a `-r`/`-c` line, in every form pip's option parser takes (`-r f`, `-rf`,
    `--requirement f`, `--requirement=f`; `-c=f` names the file `=f`, as there); None for other options."""
    tokens = shlex.split(options)
    for i, token in enumerate(tokens):
        flag, _, value = token.partition("=") if token.startswith("--") else (token[:2], "", token[2:])
        if flag in INCLUDES:
            return INCLUDES[flag], value or (tokens[i + 1] if i + 1 < len(tokens) else "")
    return None


def shown(path: Path, base: Path) -> str:
    """A file's name in findings: relative to the first file's folder when inside it, else in full."""
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def read(path: Path, problems: list[str], constraint: bool = False, base: Path | None = None,
         chain: tuple[Path, ...] = ()) -> list[Line]:
    """Every requirement line of the file and of the files it includes (`-r` relative to the including file,
    as pip resolves it; `-c` files too, as constraints); what pip would refuse to read goes to problems."""
    path = path.resolve()
    base, chain = base or path.parent, (*chain, path)
    lines = []
    for number, text in logical_lines(path.read_text()):
        where = f"{shown(path, base)} line {number}"
        tokens = text.split(" ")  # pip's split: the requirement, then the options from the first `-` token
        start = next((i for i, token in enumerate(tokens) if token.startswith("-")), len(tokens))
        requirement, options = " ".join(tokens[:start]).strip(), " ".join(tokens[start:])
        if requirement:
            lines.append(Line(where, requirement, constraint))
            continue
        try:
            include = included(options)
        except ValueError as err:
            problems.append(f"{where}: {text!r}: pip cannot parse this line ({err})")
            continue
        if include is None or include[1].startswith(URL_SCHEMES):
            continue
        nested_constraint, name = include
        target = Path(os.path.normpath(path.parent / name))  # pip: relative to the including file
        kind = "constraint" if nested_constraint else "requirements"
        if target.resolve() in chain:
            cycle = " -> ".join(shown(p, base) for p in (*chain, target.resolve()))
            problems.append(f"{where}: {text!r}: {name} recursively references itself ({cycle}): pip refuses the "
                            f"file, so nothing in it is installed")
        elif not target.is_file():
            problems.append(f"{where}: {text!r}: Could not open {kind} file {shown(target, base)} (pip "
                            f"stops there, so nothing in requirements.txt is installed)")
        else:
            lines += read(target, problems, nested_constraint, base, chain)
    return lines


def pin(requirement: Requirement) -> str | None:
    """The version a constraint pins (`name==version`), if it pins one."""
    exact = [spec.version for spec in requirement.specifier if spec.operator in ("==", "===")]
    return exact[0] if len(exact) == 1 and "*" not in exact[0] else None


def pins(constraints: Path, environment: dict[str, str] | None = None) -> dict[str, str]:
    """name -> version of every `name==version` line of a constraints/lock file (markers evaluated for
    environment when one is given, else ignored)."""
    found = {}
    for line in read(constraints, [], constraint=True):
        try:
            requirement = Requirement(line.text)
        except InvalidRequirement:
            continue
        if environment is not None and requirement.marker and not requirement.marker.evaluate(environment):
            continue
        if version := pin(requirement):
            found[canonicalize_name(requirement.name)] = version
    return found


def by_location(text: str) -> bool:
    """A requirement pip installs from a path or URL (`./pkg`, `https://…/x.whl`): its name is known once built."""
    return "/" in text or "\\" in text or text.startswith(".") or text.endswith(ARCHIVES)


def conflicts(requirements: Path, constraints: Path, airflow_version: str, essential: Path | None = None,
              python_version: str = "3.12") -> list[str]:
    """What pip, run as MWAA runs it, would refuse, each with its line: a file it cannot read, a line that is no
    requirement, a requirement a pin excludes (ResolutionImpossible). The pins: `essential` (MWAA's essential
    constraints, always), the file's own `-c` files, and `constraints` (forced unless the file has its own -c
    line, as MWAA reads it). Markers are evaluated for MWAA's Linux x86_64 on `python_version`."""
    environment = mwaa_environment(python_version)
    found: list[str] = []
    parsed = []
    for line in read(requirements, found):
        try:
            requirement = Requirement(line.text)
        except InvalidRequirement as err:
            if not by_location(line.text):
                found.append(f"{line.where}: {line.text!r} is not a requirement ({err})")
            continue
        if not requirement.marker or requirement.marker.evaluate(environment):
            parsed.append((line, requirement))

    applied: list[dict[str, tuple[str, str]]] = []  # name -> (version, why it applies), the first that excludes wins
    if essential is not None:
        why = (f"which MWAA's essential constraints pin (they apply even when the file has its own -c). MWAA logs: "
               f"{FAILURE}")
        applied.append({name: (version, why) for name, version in pins(essential, environment).items()})
    applied.append({canonicalize_name(r.name): (pin(r), f"which {line.where} pins (the file's own constraints)")
                    for line, r in parsed if line.constraint and pin(r)})
    if not has_own_constraints(requirements.read_text()):
        why = f"which MWAA's constraints for Airflow {airflow_version} force: drop the version or pick one they allow"
        applied.append({name: (version, why) for name, version in pins(constraints, environment).items()})

    for line, requirement in parsed:
        if line.constraint:
            continue
        for rule in applied:
            version, why = rule.get(canonicalize_name(requirement.name), (None, ""))
            if version and not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{line.where}: {line.text!r} conflicts with {requirement.name}=={version}, {why}")
                break
    return found
