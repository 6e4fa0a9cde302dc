"""Settings lint: options Airflow would silently ignore, and XCom settings that deploy fine and then fail
every offloaded push. Names are checked against this Airflow's own configuration schema (its config.yml
plus every installed provider's), values by the schema's type and, for the XCom options, by meaning.

    python -m xcomlab.lint [--env FILE]... [--cfg FILE]... [--options FILE]... [--environ]

--env: KEY=VALUE lines (.env, docker-compose env_file); --cfg: an airflow.cfg; --options: MWAA's
configuration options JSON; --environ: this process's AIRFLOW__* variables. Exit 1 on any finding.
"""

from __future__ import annotations

import argparse
import configparser
import difflib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from xcomlab import codec

ENV_NAME = re.compile(r"AIRFLOW__(?P<section>.+?)__(?P<option>.+?)(?P<suffix>_CMD|_SECRET)?")
BOOLEANS = ("true", "false", "t", "f", "1", "0", "yes", "no", "y", "n", "on", "off")  # what getboolean takes
PROVIDER = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
# xcomlab's options ([xcomlab] in the backend package's docs): name -> schema type.
XCOMLAB_OPTIONS = {
    "threshold": "integer", "compression": "string", "objectstorage_path": "string", "localfs_path": "string",
    "redis_conn_id": "string", "redis_prefix": "string", "redis_max_bytes": "integer", "redis_ttl": "integer",
    "stores": "string", "metadata_conn_id": "string", "cleanup_schedule": "string",
}
# The settings each backend reads that have no working default: (section, option, what happens without it).
REQUIRED = {
    PROVIDER: [("common.io", "xcom_objectstorage_path", "every XCom above the threshold fails to push"),
               ("common.io", "xcom_objectstorage_threshold", "the default -1 keeps every XCom in the metadata DB")],
    "xcomlab.objectstorage.XComObjectStorageBackend": [
        ("xcomlab", "objectstorage_path", "every XCom above the threshold fails to push")],
    "xcomlab.localfs.XComLocalFsBackend": [("xcomlab", "localfs_path", "every XCom above the threshold fails to push")],
}
PATH_OPTIONS = {("common.io", "xcom_objectstorage_path"), ("xcomlab", "objectstorage_path")}


@dataclass(frozen=True)
class Finding:
    where: str  # the option as the user wrote it, with its file
    rule: str  # what is wrong, and what Airflow does with it
    fix: str

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}\n    fix: {self.fix}"


@dataclass(frozen=True)
class Setting:
    section: str
    option: str
    value: str
    where: str  # e.g. ".env: AIRFLOW__CORE__XCOM_BACKEND"
    env_form: bool = False  # written as an AIRFLOW__ variable (suggest names in that form)


def schema() -> dict[str, dict[str, dict]]:
    """section -> option -> {type, default, ...}: this Airflow's config.yml, its providers', xcomlab's, and
    the deprecated names Airflow still maps to their new place."""
    from airflow.configuration import conf  # the core's parser carries the schema on both majors
    from airflow.providers_manager import ProvidersManager

    known = {section: dict(spec.get("options", {})) for section, spec in conf.configuration_description.items()}
    for _provider, config in ProvidersManager().provider_configs:  # 2.x leaves these out of the description
        for section, spec in config.items():
            known.setdefault(section, {}).update(spec.get("options", {}))
    known.setdefault("xcomlab", {}).update({name: {"type": kind, "default": None} for name, kind in XCOMLAB_OPTIONS.items()})
    for (section, option), (old_section, old_option, _since) in conf.deprecated_options.items():
        spec = known.get(section, {}).get(option, {"type": "string", "default": None})
        known.setdefault(old_section, {}).setdefault(old_option, dict(spec, moved_to=f"{section}.{option}"))
    return known


def env_name(section: str, option: str) -> str:
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{option.upper()}"


def from_env(name: str, value: str, where: str, sections: dict) -> Setting | Finding | None:
    """An AIRFLOW__SECTION__OPTION variable as Airflow reads it; None for other variables."""
    match = ENV_NAME.fullmatch(name)
    if not match:
        return None
    if "." in name:
        return Finding(f"{where}: {name}", "a variable name with a dot: Airflow looks sections up as "
                       "AIRFLOW__<SECTION with dots as _>__<OPTION>, so it ignores this one",
                       f"write {name.replace('.', '_')}")
    by_env = {section.replace(".", "_").upper(): section for section in sections}
    section = by_env.get(match["section"], match["section"].lower())
    option = match["option"].lower()
    return Setting(section, option, value, f"{where}: {name}", env_form=True)


def nearest(setting: Setting, sections: dict) -> list[str]:
    names = [f"{s}.{o}" for s, options in sections.items() for o in options]
    close = difflib.get_close_matches(f"{setting.section}.{setting.option}", names, n=2, cutoff=0.75)
    return [env_name(*name.rsplit(".", 1)) if setting.env_form else name for name in close]


def name_findings(setting: Setting, sections: dict) -> list[Finding]:
    spec = sections.get(setting.section, {}).get(setting.option)
    if spec is None:
        close = nearest(setting, sections)
        what = "section" if setting.section not in sections else "option"
        return [Finding(setting.where, f"no such {what} in Airflow's configuration (or its installed providers'): "
                        f"Airflow ignores it", f"did you mean {' or '.join(close)}?" if close else
                        f"see `airflow config list --defaults` for the {setting.section!r} section's options")]
    if spec.get("moved_to"):
        return [Finding(setting.where, f"deprecated: Airflow reads it as {spec['moved_to']} for now (with a warning)",
                        f"write {spec['moved_to']}")]
    return []


def value_findings(setting: Setting, sections: dict) -> list[Finding]:
    spec = sections.get(setting.section, {}).get(setting.option)
    if spec is None:
        return []
    kind, value = spec.get("type"), setting.value.strip()
    if kind == "integer" and not re.fullmatch(r"[+-]?\d+", value):
        return [Finding(setting.where, f"{value!r} is not an integer: Airflow's getint fails where it is read",
                        "write a whole number, e.g. 1000 (no units, no quotes inside the value)")]
    if kind == "float" and not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", value):
        return [Finding(setting.where, f"{value!r} is not a number", "write a number, e.g. 5.0")]
    boolean = kind == "boolean" or str(spec.get("default")) in ("True", "False")
    if boolean and value.lower() not in BOOLEANS:
        return [Finding(setting.where, f"{value!r} is not a boolean: Airflow's getboolean fails where it is read",
                        "write True or False")]
    return meaning_findings(setting)


def meaning_findings(setting: Setting) -> list[Finding]:
    key, value = (setting.section, setting.option), setting.value.strip()
    if key == ("common.io", "xcom_objectstorage_compression") and value:
        import fsspec.utils

        accepted = sorted(set(fsspec.utils.compressions.values()))
        if value not in accepted:
            return [Finding(setting.where, f"{value!r} is not a codec the provider knows: every offloaded push "
                            f"fails with 'Compression {value} is not supported'",
                            f"use one of {', '.join(accepted)} (fsspec's names; 'gz' is a suffix, write gzip)")]
    if key == ("xcomlab", "compression") and value and value not in codec.COMPRESSION:
        return [Finding(setting.where, f"{value!r} is not one of xcomlab's codecs: every offloaded push fails",
                        f"use one of {', '.join(codec.COMPRESSION)}")]
    if key in PATH_OPTIONS and value:
        return path_findings(setting)
    return []


def path_findings(setting: Setting) -> list[Finding]:
    import fsspec

    scheme = setting.value.partition("://")[0] if "://" in setting.value else ""
    if not scheme:
        return [Finding(setting.where, f"{setting.value!r} has no scheme: Airflow reads it as a local path on "
                        "each worker", "write a URL such as s3://aws_default@my-bucket/xcom")]
    if scheme not in fsspec.available_protocols():
        return [Finding(setting.where, f"no filesystem is registered for {scheme}:// in this environment",
                        "install the provider for that store (apache-airflow-providers-amazon for s3://, "
                        "-google for gs://, -microsoft-azure for abfs://)")]
    return []


def connection_findings(settings: list[Setting], environ: dict[str, str]) -> list[Finding]:
    """The connection id in an object-storage path (scheme://conn_id@bucket/...) must exist."""
    found = []
    for setting in settings:
        if (setting.section, setting.option) not in PATH_OPTIONS or "@" not in setting.value.partition("://")[2].split("/")[0]:
            continue
        conn_id = setting.value.partition("://")[2].split("@")[0]
        if not connection_exists(conn_id, environ):
            found.append(Finding(setting.where, f"connection {conn_id!r} is not defined (no AIRFLOW_CONN_"
                                 f"{conn_id.upper()} variable, and Airflow's secrets backends do not know it): "
                                 "every offloaded push fails", f"define connection {conn_id!r} or name one that "
                                 "exists before the @"))
    return found


def connection_exists(conn_id: str, environ: dict[str, str]) -> bool:
    if f"AIRFLOW_CONN_{conn_id.upper()}" in environ or f"AIRFLOW_CONN_{conn_id.upper()}" in os.environ:
        return True
    try:
        from airflow.models.connection import Connection

        Connection.get_connection_from_secrets(conn_id)
        return True
    except Exception:  # noqa: BLE001 - not found, or no metadata DB to ask: either way not known here
        return False


def backend_findings(settings: list[Setting]) -> list[Finding]:
    """The chosen backend's settings nobody set."""
    values = {(s.section, s.option): s for s in settings}
    backend = values.get(("core", "xcom_backend"))
    if backend is None:
        return []
    found = []
    for section, option, consequence in REQUIRED.get(backend.value.strip(), []):
        if (section, option) not in values or not values[(section, option)].value.strip():
            name = env_name(section, option) if backend.env_form else f"{section}.{option}"
            found.append(Finding(backend.where, f"{backend.value} reads {name}, which is not set: {consequence}",
                                 f"set {name}"))
    return found


def read_env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.removeprefix("export ").partition("=")
            pairs[name.strip()] = value.strip().strip("'\"")
    return pairs


def collect(env_files=(), cfg_files=(), options_files=(), environ: dict[str, str] | None = None,
            sections: dict | None = None) -> tuple[list[Setting], list[Finding], dict[str, str]]:
    """Every setting from the sources, in Airflow's precedence (later wins), and the names' findings."""
    sections = sections if sections is not None else schema()
    settings, findings, variables = [], [], {}
    for path in cfg_files:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path, encoding="utf-8")
        settings += [Setting(section, option, value, f"{Path(path).name}: [{section}] {option}")
                     for section in parser.sections() for option, value in parser.items(section, raw=True)
                     if option not in parser.defaults()]
    for path in options_files:
        for key, value in json.loads(Path(path).read_text(encoding="utf-8")).items():
            section, _, option = key.rpartition(".")
            settings.append(Setting(section, option, str(value), f"{Path(path).name}: {key}"))
    env_sources = [(read_env_file(Path(p)), Path(p).name) for p in env_files]
    if environ is not None:
        env_sources.append((environ, "environment"))
    for pairs, label in env_sources:
        variables.update(pairs)
        for name, value in pairs.items():
            parsed = from_env(name, value, label, sections)
            if isinstance(parsed, Finding):
                findings.append(parsed)
            elif parsed is not None:
                settings.append(parsed)
    return settings, findings, variables


def lint(env_files=(), cfg_files=(), options_files=(), environ=None, sections=None) -> list[Finding]:
    sections = sections if sections is not None else schema()
    settings, findings, variables = collect(env_files, cfg_files, options_files, environ, sections)
    for setting in settings:
        findings += name_findings(setting, sections) or value_findings(setting, sections)
    latest = list({(s.section, s.option): s for s in settings}.values())  # what Airflow ends up reading
    return findings + connection_findings(latest, variables) + backend_findings(latest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcomlab.lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE file (.env, env_file)")
    parser.add_argument("--cfg", action="append", default=[], help="an airflow.cfg")
    parser.add_argument("--options", action="append", default=[], help="MWAA configuration options JSON")
    parser.add_argument("--environ", action="store_true", help="also this process's AIRFLOW__* variables")
    args = parser.parse_args(argv)
    environ = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW")} if args.environ else None
    findings = lint(args.env, args.cfg, args.options, environ)
    for finding in findings:
        print(finding)
    sources = ", ".join(args.env + args.cfg + args.options + (["environment"] if args.environ else []))
    print(f"{len(findings)} finding(s) in {sources or 'nothing'}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
