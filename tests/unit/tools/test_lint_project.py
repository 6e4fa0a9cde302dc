"""The settings lint on the sandbox's own settings: .env, every compose file's environment and every
compose/backends/*.env, as Compose puts them together, under this venv's Airflow. Zero findings.

Excused, and only where this venv truly lacks what the sandbox's image installs (its lock,
compose/airflow/requirements-<version>.txt): a store's filesystem package (s3fs, gcsfs, adlfs), and the
options of a provider's section (celery) the lint cannot verify without that provider.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from xcomlab import compat
from xcomlab_tools import lint

ROOT = Path(__file__).resolve().parents[3]
COMPOSE = ROOT / "compose"
BASE = COMPOSE / "docker-compose.yml"
# Added by sandbox.py on Airflow 2 only: its names are Airflow 2's.
AIRFLOW_2_ONLY = {COMPOSE / "airflow-2.yml"}
MISSING_PACKAGE = re.compile(r"needs the (\S+) package, which is not installed here")
MISSING_PROVIDER = re.compile(r"\[(\S+)\] belongs to a provider that is not installed here")
IMAGE_LOCK = COMPOSE / "airflow" / f"requirements-{compat.AIRFLOW_VERSION}.txt"
VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")  # Compose's ${...} forms


class ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's !reset and !override tags (a reset scalar is None: the variable is removed)."""


def _tagged(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return None if node.value in ("", "null", "~") else node.value


for _tag in ("!reset", "!override"):
    ComposeLoader.add_constructor(_tag, _tagged)


@pytest.fixture(scope="module")
def sections():
    return lint.schema()


@pytest.fixture(scope="module")
def dotenv():
    return lint.read_env_file(ROOT / ".env")


def interpolate(value: str, env: dict[str, str], where: str) -> str:
    """A compose file's value as Compose expands it from .env: ${V}, ${V:-default}, ${V-default}, ${V:?error}."""
    def one(match):
        name, op, arg = match["name"], match["op"] or "", match["arg"]
        if env.get(name) or (name in env and not op.startswith(":")):
            return env[name]
        if op.endswith("?"):
            pytest.fail(f"{where}: Compose stops here: {arg}")
        return arg if op else ""
    return VARIABLE.sub(one, value)


def services(path: Path) -> dict[str, dict]:
    return (yaml.load(path.read_text(encoding="utf-8"), ComposeLoader) or {}).get("services") or {}


# Variables the harness gives compose besides .env's (stack/project.py), as it sets them by default.
HARNESS_SET = {"XCOM_LAB_COMMON_IO_THRESHOLD": "XCOM_THRESHOLD", "XCOM_LAB_XCOMLAB_THRESHOLD": "XCOM_THRESHOLD"}


def environment(path: Path, service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """The AIRFLOW variables the service's environment: sets, interpolated; an overlay file's over the base's."""
    dotenv = {**dotenv, **{name: dotenv[default] for name, default in HARNESS_SET.items()}}
    merged = {}
    for source in dict.fromkeys([BASE, path]):
        env = services(source).get(service, {}).get("environment") or {}
        assert isinstance(env, dict), f"{source.name}: {service}'s environment as a list: read it as KEY=VALUE"
        merged.update(env)
    return {name: interpolate(str(value), dotenv, f"{path.name}: {service}: {name}")
            for name, value in merged.items() if name.startswith("AIRFLOW") and value is not None}


def compose_files() -> list[Path]:
    return sorted({*COMPOSE.glob("*.yml"), *COMPOSE.glob("**/*.yml")})


def airflow_services() -> list[tuple[Path, str]]:
    """(file, service) for every service whose environment: sets an AIRFLOW variable, in every compose file."""
    return [(path, name) for path in compose_files() for name, spec in services(path).items()
            if any(key.startswith("AIRFLOW") for key in (spec.get("environment") or {}))]


def backend_files() -> list[list[Path]]:
    """Each BACKEND's env file, and after it the one an Airflow version adds (backends/<version>/<BACKEND>.env)."""
    files = [[path] for path in sorted((COMPOSE / "backends").glob("*.env"))]
    files += [[COMPOSE / "backends" / path.name, path] for path in sorted((COMPOSE / "backends").glob("*/*.env"))]
    return files


def in_image_only(finding: lint.Finding) -> bool:
    """A finding about what this venv lacks and the image's lock installs."""
    lock = IMAGE_LOCK.read_text(encoding="utf-8")
    if package := MISSING_PACKAGE.search(finding.rule):
        return importlib.util.find_spec(package[1]) is None and f"\n{package[1]}==" in lock
    if section := MISSING_PROVIDER.search(finding.rule):
        provider = section[1].replace("_", "-")
        return (importlib.util.find_spec(f"airflow.providers.{section[1]}") is None
                and f"\napache-airflow-providers-{provider}==" in lock)
    return False


def real_findings(findings: list[lint.Finding]) -> list[str]:
    return [str(finding) for finding in findings if not in_image_only(finding)]


def test_every_compose_file_and_backend_is_covered():
    names = {path.name for path, _ in airflow_services()}
    assert {"docker-compose.yml", "mwaa.yml", "custom-backend.yml", "airflow-2.yml"} <= names
    assert len(backend_files()) >= 10


def test_the_compose_files_environments_have_no_finding(sections, dotenv):
    """Every service's environment: in every compose file (an overlay's over the base's), with .env."""
    found = {}
    for path, service in airflow_services():
        if path in AIRFLOW_2_ONLY and compat.AIRFLOW_MAJOR >= 3:
            continue  # its names are Airflow 2's; this venv's schema is Airflow 3's
        environ = environment(path, service, dotenv)
        for finding in real_findings(lint.lint(env_files=[ROOT / ".env"], environ=environ, sections=sections)):
            found.setdefault(finding, []).append(f"{path.name}: {service}")
    assert [f"{finding}\n    in {', '.join(where)}" for finding, where in found.items()] == []


def test_each_backend_env_file_has_no_finding(sections, dotenv):
    """As Compose starts a component: .env, BACKEND's env file(s), the base environment: block over them
    (whose own findings are the test above's)."""
    environ = environment(BASE, "airflow-scheduler", dotenv)
    found = []
    for files in backend_files():
        findings = lint.lint(env_files=[ROOT / ".env", *files], environ=environ, sections=sections)
        found += [f"{'/'.join(p.name for p in files)}: {finding}" for finding in real_findings(findings)
                  if not finding.startswith("environment: ")]
    assert found == []
