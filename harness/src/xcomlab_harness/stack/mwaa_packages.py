"""MWAA's package sets, per MWAA version, as aws/amazon-mwaa-docker-images keeps them: the constraints MWAA forces
on requirements.txt, the pins a user may never override, the image's bill of materials, and its Python.

compose/mwaa-packages/<version>/ holds three files, each a `#` header naming its source and then the constraints
files byte for byte, or the bill of materials as `name==version` lines (its licence texts, 0.9 MB a version, left
out); versions.toml holds what is not a file. The rest of xcom-lab reads them through this module only.
`make mwaa-packages MWAA_IMAGES=<checkout>` (`python -m xcomlab_harness.stack.mwaa_packages refresh <checkout>`) rewrites
them from a checkout or bare git dir of that repository, and docs/mwaa.md's table with them.

MWAA mode's Airflow image installs, per version and Python, `lock-python<X.Y>.txt`: MWAA's image (its bill of
materials) plus the providers the sandbox's stores need, resolved under MWAA's constraints and essential pins. Where
a pin has no release for that Python (MWAA runs 3.12; the registry-less stand-ins Debian 12's 3.11), python<X.Y>.toml
names it and the resolver picks the package; `constraints-python<X.Y>.txt` is what MWAA mode forces on
requirements.txt there: MWAA's constraints, those pins replaced by the lock's versions, each marked. `make
mwaa-packages` (`... lock`) writes both.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from xcomlab_harness.stack.paths import COMPOSE_DIR, ROOT

# The stand-ins' Python (Debian 12's 3.11.2) and the official images' 3.12; `uv pip compile` resolves for them.
LOCK_PYTHONS = {"3.11": "3.11.2", "3.12": "3.12"}
COMPILE = ["uv", "pip", "compile", "--quiet", "--python-platform", "x86_64-manylinux_2_36", "--no-header",
           "--no-annotate"]
# What MWAA mode's image needs on top of MWAA's own: the providers of every store the sandbox runs (the same file as
# the sandbox's lock reads).
SANDBOX_NEEDS = COMPOSE_DIR / "airflow" / "requirements.in"

REPOSITORY = "https://github.com/aws/amazon-mwaa-docker-images"
DATA = COMPOSE_DIR / "mwaa-packages"
DOC = ROOT / "docs" / "mwaa.md"
REFRESH = "make mwaa-packages MWAA_IMAGES=<checkout of aws/amazon-mwaa-docker-images>"
IMAGES = "images/airflow"
# Each version directory's files: name here -> path under images/airflow/<version>/ there (the plain image's BOM,
# not the -dev or -explorer variants').
CONSTRAINTS, ESSENTIAL, BOM = "airflow_constraints.txt", "mwaa_essential_constraints.txt", "installed.txt"
FILES = {
    CONSTRAINTS: "etc/airflow_constraints.txt",
    ESSENTIAL: "etc/mwaa_essential_constraints.txt",
    BOM: "BillOfMaterials/{version}/Python-Packages-BOM.txt",
}
PYTHON_FROM = "Dockerfile.base.j2"  # MWAA builds Python from source at the version this file sets
PYTHON_VERSION = re.compile(r"^ENV PYTHON_VERSION=(\S+)$", re.MULTILINE)
# Below this line a data file is the source's, byte for byte (the BOM: its packages, name==version).
HEADER_END = "# ---- below: the file exactly as it is at that commit ----\n"
BOM_HEADER_END = "# ---- below: name==version of each package it lists, its licence texts left out ----\n"
# docs/mwaa.md's table: column -> the packages it shows, from the constraints (fsspec and s3fs move together).
COLUMNS = {
    "common-io": ("apache-airflow-providers-common-io",),
    "amazon": ("apache-airflow-providers-amazon",),
    "redis provider": ("apache-airflow-providers-redis",),
    "pandas": ("pandas",),
    "universal_pathlib": ("universal-pathlib",),
    "fsspec/s3fs": ("fsspec", "s3fs"),
}
BOM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
DIST_INFO = re.compile(r"site-packages/([A-Za-z0-9_.]+?)-([0-9][^/-]*)\.dist-info/")


@dataclass(frozen=True)
class PackageSet:
    airflow: str
    python: str
    constraints_file: Path
    essential_file: Path
    bom_file: Path  # installed.txt: name==version of what the image has
    constraints: dict[str, str]  # canonical name -> version MWAA forces on requirements.txt
    essential: dict[str, str]  # what requirements.txt may never change
    bom: dict[str, str]  # what the image has installed


def _versions_toml(data: Path) -> dict:
    return tomllib.loads((data / "versions.toml").read_text())


def mwaa_versions(data: Path = DATA) -> list[str]:
    return sorted(_versions_toml(data)["versions"], key=Version)


def source(data: Path = DATA) -> dict[str, str]:
    """repository, commit and date the data was read at."""
    return _versions_toml(data)["source"]


def package_set(version: str, data: Path = DATA) -> PackageSet:
    facts = _versions_toml(data)["versions"].get(version)
    if facts is None:
        raise KeyError(f"MWAA does not run Airflow {version}; nearest: {', '.join(nearest(version, data))}")
    from xcomlab_tools.mwaa.requirements import pins  # imported on use: the sandbox runs without the tools package

    folder = data / version
    return PackageSet(version, facts["python"], folder / CONSTRAINTS, folder / ESSENTIAL, folder / BOM,
                      pins(folder / CONSTRAINTS), pins(folder / ESSENTIAL), pins(folder / BOM))


def lock_file(version: str, python: str, data: Path = DATA) -> Path:
    """The image lock MWAA mode installs for `version` on `python` ("3.11" or "3.12")."""
    return data / version / f"lock-python{python}.txt"


def forced_constraints_file(version: str, python: str, data: Path = DATA) -> Path:
    """What MWAA mode forces on requirements.txt: MWAA's own constraints where every pin installs on `python`."""
    written = data / version / f"constraints-python{python}.txt"
    return written if written.exists() else data / version / CONSTRAINTS


def left_free(version: str, python: str, data: Path = DATA) -> dict[str, str]:
    """name -> why, for MWAA's pins with no release for `python` (python<X.Y>.toml, measured when the lock failed)."""
    path = data / f"python{python}.toml"
    return tomllib.loads(path.read_text()).get(version, {}) if path.exists() else {}


def overrides(version: str, data: Path = DATA) -> dict[str, dict[str, str]]:
    """name -> {require, why}, for MWAA's pins the image cannot keep on any Python (overrides.toml): MWAA's own
    constraints contradict a package the sandbox's stores need. MWAA mode's forced constraints keep MWAA's pin, so a
    requirements.txt that needs the package fails as it would on MWAA."""
    return tomllib.loads((data / "overrides.toml").read_text()).get(version, {})


def named(version: str, python: str, data: Path = DATA) -> dict[str, str]:
    """name -> why, for every pin the image installs at another version than MWAA's."""
    return left_free(version, python, data) | {name: o["why"] for name, o in overrides(version, data).items()}


def plain_pins(path: Path) -> dict[str, str]:
    """name -> version of a uv-written lock's `name==version` lines (no includes, no options), read without xcomlab:
    the sandbox reads these on a Python that has only `packaging`."""
    return pins_in(path.read_text())


def pins_in(text: str) -> dict[str, str]:
    """name -> version of the `name==version` lines of a lock or of `pip freeze`'s output."""
    found = {}
    for line in text.splitlines():
        pin = line.split("#", 1)[0].strip()
        if "==" in pin and not pin.startswith("-"):
            requirement = Requirement(pin)
            found[canonicalize_name(requirement.name)] = next(iter(requirement.specifier)).version
    return found


def differences(version: str, python: str, data: Path = DATA) -> list[str]:
    """Each package MWAA mode installs at another version than MWAA pins, with why ([] when none)."""
    lock = plain_pins(lock_file(version, python, data))
    mwaa = plain_pins(data / version / CONSTRAINTS)
    return [f"{name} {lock.get(name, '(not installed)')} (MWAA pins {mwaa[name]}: {why})"
            for name, why in sorted(named(version, python, data).items()) if name in mwaa]


def describe(version: str, python: str, data: Path = DATA) -> str:
    """One line for reports: MWAA's package set for the version, where it was read, what matters to a backend."""
    origin, installed = source(data), plain_pins(lock_file(version, python, data))
    shown = ", ".join(f"{label} {' / '.join(dict.fromkeys(installed.get(p, '-') for p in packages))}"
                      for label, packages in COLUMNS.items())
    differ = differences(version, python, data)
    return (f"MWAA's package set for Airflow {version} ({origin['repository'].removeprefix('https://github.com/')} at "
            f"{origin['commit'][:12]}, {origin['date']}), on Python {python}: {shown}"
            + (f"; differs from MWAA's: {'; '.join(differ)}" if differ else ""))


def freeze_mismatches(version: str, python: str, freeze: str, data: Path = DATA) -> list[str]:
    """Each package `pip freeze` shows at another version than MWAA pins ([] when all agree): MWAA's constraints
    for the packages both list, with the lock's version for a pin left free on this Python (named by differences)."""
    found, expected = pins_in(freeze), plain_pins(forced_constraints_file(version, python, data))
    installed = plain_pins(lock_file(version, python, data))
    expected |= {name: installed[name] for name in overrides(version, data) if name in installed}
    return [f"{name} {found[name]} (MWAA: {expected[name]})" for name in sorted(set(found) & set(expected))
            if found[name] != expected[name]]


def lock(version: str, python: str, data: Path = DATA) -> Path:
    """Resolve MWAA mode's image lock and forced constraints for `version` on `python`; raise RefreshError naming
    what does not resolve."""
    folder, free, overridden = data / version, left_free(version, python, data), overrides(version, data)
    mwaa = (folder / CONSTRAINTS).read_text().splitlines(keepends=True)
    kept = [line for line in mwaa if _pinned_name(line) not in free | overridden]
    kept += [f"\n{name}{o['require']}\n" for name, o in overridden.items()]
    with tempfile.TemporaryDirectory() as tmp:
        wanted, constraints = Path(tmp) / "wanted.in", Path(tmp) / "constraints.txt"
        wanted.write_text("".join(f"{name}=={v}\n" for name, v in plain_pins(folder / BOM).items())
                          + SANDBOX_NEEDS.read_text())
        constraints.write_text("".join(kept))
        out = lock_file(version, python, data)
        done = subprocess.run([*COMPILE, "--python-version", LOCK_PYTHONS[python], str(wanted), "-c", str(constraints),
                               "-c", str(folder / ESSENTIAL), "-o", str(out)], capture_output=True, text=True)
    if done.returncode:
        raise RefreshError(f"MWAA {version}'s package set does not resolve on Python {python}:\n{done.stderr.strip()}\n"
                           f"a pin with no release for Python {python}: name it in {data.name}/python{python}.toml")
    out.write_text(f"# MWAA mode's image for Airflow {version} on Python {python}: MWAA's image ({BOM}) and "
                   f"{SANDBOX_NEEDS.name}, under {CONSTRAINTS}\n# and {ESSENTIAL}"
                   + (f"; left to the resolver: {', '.join(free)}" if free else "")
                   + "".join(f"; {name}{o['require']} (overrides.toml)" for name, o in overridden.items())
                   + ". Written by `make mwaa-packages`.\n" + out.read_text())
    written = folder / f"constraints-python{python}.txt"
    from xcomlab_tools.mwaa.requirements import DIFFERS  # imported on use: the sandbox runs without the tools package

    if free:
        installed = plain_pins(out)
        written.write_text("".join(
            f"{name}=={installed[name]}  {DIFFERS}{line.strip()}, {free[name]}\n" if (name := _pinned_name(line)) in free
            and name in installed else line for line in mwaa))
    else:
        written.unlink(missing_ok=True)
    return out


def _pinned_name(line: str) -> str:
    text = line.split("#", 1)[0].strip()
    return canonicalize_name(re.split(r"[=<>!~;\[ ]", text, maxsplit=1)[0]) if text and not text.startswith("-") else ""


def nearest(version: str, data: Path = DATA) -> list[str]:
    """The MWAA versions nearest to `version`: itself if MWAA runs it, else the closest below and above within its
    major.minor, or across all versions when MWAA runs none of that major.minor."""
    wanted, known = Version(version), [Version(v) for v in mwaa_versions(data)]
    if wanted in known:
        return [str(wanted)]
    pool = [v for v in known if v.release[:2] == wanted.release[:2]] or known
    below, above = [v for v in pool if v < wanted], [v for v in pool if v > wanted]
    return [str(v) for v in (below[-1:] + above[:1])]


def installed(bom: str) -> str:
    """A bill of materials as `name==version` lines, sorted by name."""
    return "".join(f"{name}=={version}\n" for name, version in sorted(bom_pins(bom).items()))


def bom_pins(text: str) -> dict[str, str]:
    """name -> version of each package of a bill of materials (pip-licenses' plain-vertical format: name, version,
    license, URL, license file, license text, notice file, notice text, one per line; texts span lines, even blank
    ones, so a package is recognised by its first five lines; one whose license field spans lines is still named by
    its license file's path, site-packages/<name>-<version>.dist-info)."""
    lines, found = text.splitlines(), {}
    for i in range(1, len(lines) - 4):
        name, version, _, url, license_file = lines[i:i + 5]
        if (lines[i - 1] == "" or i == 1) and BOM_NAME.fullmatch(name) and _is_version(version) \
                and (url == "UNKNOWN" or url.startswith(("http://", "https://"))) \
                and (license_file == "UNKNOWN" or license_file.startswith("/")):
            found[canonicalize_name(name)] = version
    for name, version in DIST_INFO.findall(text):
        found.setdefault(canonicalize_name(name), version)
    return found


def _is_version(text: str) -> bool:
    try:
        Version(text)
    except InvalidVersion:
        return False
    return True


def _git(checkout: Path, *args: str) -> bytes:
    done = subprocess.run(["git", "-C", str(checkout), *args], capture_output=True)
    if done.returncode:
        raise RefreshError(f"git {' '.join(args)} in {checkout}: {done.stderr.decode().strip()}")
    return done.stdout


class RefreshError(Exception):
    pass


def header(path: str, commit: str, date: str, end: str = HEADER_END) -> str:
    return f"# From {REPOSITORY}\n# path: {path}\n# commit: {commit} ({date})\n# refresh: {REFRESH}\n" + end


def read_source(checkout: Path) -> tuple[dict[str, str], dict[str, dict[str, bytes]], dict[str, str]]:
    """(source, version -> file name -> content with its header, version -> Python) at the checkout's HEAD."""
    commit, date = _git(checkout, "log", "-1", "--format=%H%n%cs", "HEAD").decode().split()
    listed = _git(checkout, "ls-tree", "-d", "--name-only", "HEAD", f"{IMAGES}/").decode().split()
    versions = sorted((Path(p).name for p in listed if _is_version(Path(p).name)), key=Version)
    if not versions:
        raise RefreshError(f"{checkout} has no {IMAGES}/<version>/ at HEAD: not a checkout of {REPOSITORY}?")
    files, pythons = {}, {}
    for version in versions:
        files[version] = {}
        for name, where in FILES.items():
            path = f"{IMAGES}/{version}/{where.format(version=version)}"
            content = _git(checkout, "show", f"HEAD:{path}")
            if name == BOM:
                files[version][name] = (header(path, commit, date, BOM_HEADER_END)
                                        + installed(content.decode())).encode()
            else:
                files[version][name] = header(path, commit, date).encode() + content
        build = f"{IMAGES}/{version}/{PYTHON_FROM}"
        match = PYTHON_VERSION.search(_git(checkout, "show", f"HEAD:{build}").decode())
        if not match:
            raise RefreshError(f"{build} sets no PYTHON_VERSION: where does MWAA {version} get its Python now?")
        pythons[version] = match.group(1)
    return {"repository": REPOSITORY, "commit": commit, "date": date}, files, pythons


def versions_toml(origin: dict[str, str], pythons: dict[str, str]) -> str:
    lines = [f"# MWAA's package sets: what is not a file. Written by `{REFRESH}`;",
             f"# python is ENV PYTHON_VERSION in {IMAGES}/<version>/{PYTHON_FROM}.", "", "[source]",
             *(f'{key} = "{value}"' for key, value in origin.items())]
    for version, python in pythons.items():
        lines += ["", f'[versions."{version}"]', f'python = "{python}"']
    return "\n".join(lines) + "\n"


def refresh(checkout: Path, data: Path = DATA) -> list[str]:
    """Rewrite `data` from the checkout; return what changed, one line each."""
    origin, files, pythons = read_source(checkout)
    before = {v: package_set(v, data) for v in mwaa_versions(data)} if (data / "versions.toml").exists() else {}
    old_source = source(data) if before else None
    for version, contents in files.items():
        (data / version).mkdir(parents=True, exist_ok=True)
        for stale in set(p.name for p in (data / version).iterdir()) - set(contents):
            (data / version / stale).unlink()
        for name, content in contents.items():
            (data / version / name).write_bytes(content)
    for gone in set(before) - set(files):
        shutil.rmtree(data / gone)
    (data / "versions.toml").write_text(versions_toml(origin, pythons))

    changes = []
    if old_source and old_source["commit"] != origin["commit"]:
        changes.append(f"source: {old_source['commit'][:12]} ({old_source['date']}) -> "
                       f"{origin['commit'][:12]} ({origin['date']})")
    for version in sorted(set(before) | set(files), key=Version):
        if version not in files:
            changes.append(f"{version}: removed (no longer in {IMAGES}/)")
            continue
        new = package_set(version, data)
        if version not in before:
            changes.append(f"{version}: new (Python {new.python}, {len(new.constraints)} constraints, "
                           f"{len(new.essential)} essential pins, {len(new.bom)} packages in the image)")
            continue
        old = before[version]
        if old.python != new.python:
            changes.append(f"{version}: Python {old.python} -> {new.python}")
        for name, attr in ((CONSTRAINTS, "constraints"), (ESSENTIAL, "essential"), (BOM, "bom")):
            moved = pin_changes(getattr(old, attr), getattr(new, attr))
            if moved:
                changes.append(f"{version} {name}: {'; '.join(moved)}")
    return changes


def pin_changes(old: dict[str, str], new: dict[str, str]) -> list[str]:
    return [f"{name} {old[name]} -> {new[name]}" if name in old and name in new
            else f"+{name} {new[name]}" if name in new else f"-{name} {old[name]}"
            for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]


def table(data: Path = DATA) -> str:
    """docs/mwaa.md's table of the versions, from the data: what the constraints pin, which of those packages the
    image does not have (requirements.txt installs them, at that version), and where MWAA mode's image differs."""
    rows = ["| Airflow | Python | " + " | ".join(COLUMNS) + " | not in MWAA's image | MWAA mode on Python 3.11 |",
            "|---" * (len(COLUMNS) + 4) + "|"]
    for version in mwaa_versions(data):
        found = package_set(version, data)
        cells, missing = [], []
        for label, packages in COLUMNS.items():
            cells.append(" / ".join(dict.fromkeys(found.constraints.get(p, "-") for p in packages)))
            absent = [p for p in packages if p not in found.bom]
            missing += [label] if len(absent) == len(packages) else absent
        differ = "; ".join(differences(version, "3.11", data)) if lock_file(version, "3.11", data).exists() else ""
        rows.append(f"| {version} | {found.python} | " + " | ".join(cells) + f" | {', '.join(missing) or '-'} | "
                    + (differ or "every pin as MWAA's") + " |")
    return "\n".join(rows) + "\n"


def update_doc(doc: Path = DOC, data: Path = DATA) -> bool:
    """Replace the table in `doc` (found by its header row) with what the data renders; True if it changed."""
    text, rendered = doc.read_text(), table(data)
    head = rendered.splitlines()[0]
    if head + "\n" not in text:
        raise RefreshError(f"{doc} has no table headed {head!r}: put `python -m {__spec__.name} table`'s output in it")
    start = text.index(head + "\n")
    end = start
    while end < len(text) and text.startswith("|", end):
        end = text.index("\n", end) + 1
    new = text[:start] + rendered + text[end:]
    doc.write_text(new)
    return new != text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcomlab_harness.stack.mwaa_packages", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("refresh", help=f"rewrite {DATA.relative_to(ROOT)}/ from a checkout").add_argument(
        "checkout", nargs="?", default="", help=f"a checkout or bare git dir of {REPOSITORY}")
    commands.add_parser("table", help="print docs/mwaa.md's table of the versions")
    locking = commands.add_parser("lock", help="resolve MWAA mode's image locks and forced constraints")
    locking.add_argument("versions", nargs="*", help="MWAA versions (default: all)")
    freeze = commands.add_parser("compare-freeze", help="`pip freeze` (stdin) against MWAA's pins for VERSION")
    freeze.add_argument("version")
    freeze.add_argument("--python", default="3.11", choices=LOCK_PYTHONS)
    args = parser.parse_args(argv)
    if args.command == "table":
        print(table(), end="")
        return 0
    if args.command == "compare-freeze":
        mismatches = freeze_mismatches(args.version, args.python, sys.stdin.read())
        print("\n".join(mismatches) or f"pip freeze = MWAA {args.version}'s constraints for every package both list"
              + "".join(f"; differs as named: {d}" for d in differences(args.version, args.python)))
        return 1 if mismatches else 0
    if args.command == "lock":
        try:
            for version in args.versions or mwaa_versions():
                for python in LOCK_PYTHONS:
                    print(f"{lock(version, python).relative_to(ROOT)}", *differences(version, python), sep="\n  ")
        except RefreshError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0
    if not args.checkout:
        print(f"error: give MWAA_IMAGES=<path to a checkout or bare git dir of {REPOSITORY}>", file=sys.stderr)
        return 2
    try:
        changes = refresh(Path(args.checkout).expanduser())
    except RefreshError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        for version in mwaa_versions():
            for python in LOCK_PYTHONS:
                lock(version, python)
    except RefreshError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if update_doc():
        changes.append(f"{DOC.relative_to(ROOT)}: the table of versions")
    print("\n".join(changes) if changes else f"no changes: {DATA.relative_to(ROOT)}/ already matches that commit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
