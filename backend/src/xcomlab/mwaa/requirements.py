"""requirements.txt as MWAA installs it: `pip install -r` with the Airflow version's constraints forced,
unless the file names its own constraints (`-c`/`--constraint`, even commented out, as MWAA matches it)."""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

OWN_CONSTRAINTS = re.compile(r"(^|\s)(-c|--constraint)[\s=]", re.MULTILINE)


def has_own_constraints(text: str) -> bool:
    return bool(OWN_CONSTRAINTS.search(text))


def pins(constraints: Path) -> dict[str, str]:
    """name -> version of every `name==version` line of a constraints/lock file."""
    found = {}
    for line in constraints.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;#]+)", line)
        if match:
            found[canonicalize_name(match.group(1))] = match.group(3)
    return found


def conflicts(requirements: Path, constraints: Path, airflow_version: str) -> list[str]:
    """What pip would refuse (ResolutionImpossible) because a forced constraint excludes it."""
    text = requirements.read_text()
    if has_own_constraints(text):
        return []
    pinned, found = pins(constraints), []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement as err:
            found.append(f"requirements.txt line {number}: {line!r} is not a requirement ({err})")
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version and not requirement.specifier.contains(version, prereleases=True):
            found.append(
                f"requirements.txt line {number}: {line!r} conflicts with {requirement.name}=={version}, which "
                f"MWAA's constraints for Airflow {airflow_version} force: drop the version or pick one they allow"
            )
    return found
