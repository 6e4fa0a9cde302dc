"""Settings lint: options Airflow would silently ignore, and XCom settings that deploy fine and then fail
every offloaded push. Names are checked against this Airflow's own configuration schema (its config.yml
plus every installed provider's), values by this Airflow's own getint/getfloat/getboolean and, for the
XCom options, by meaning: codecs, the path's filesystem (imported, so a missing s3fs is caught), its
connection, the options each backend needs, and Airflow 2's XCom pickling under them.

    python -m xcomlab_tools.lint [--env FILE]... [--cfg FILE]... [--options FILE]... [--environ]

--env: KEY=VALUE lines (.env, docker-compose env_file), read by python-dotenv as Compose reads them
(quotes, `# comments`, ${VAR} and ${VAR:-default} from the file's earlier lines, then earlier files, then
this process's environment); --cfg: an airflow.cfg; --options: MWAA's configuration options JSON;
--environ: this process's AIRFLOW__* variables. Exit 1 on any finding; what cannot be checked from here (a
connection kept in the settings' secrets backend, the options of a provider not installed here) is printed
as "cannot verify" and does not fail.
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

from dotenv import dotenv_values
from dotenv.variables import parse_variables

from xcomlab import codec, stores

ENV_NAME = re.compile(r"AIRFLOW__(?P<section>.+?)__(?P<option>.+)")
# A sensitive option's value may come from a command or from the secrets backend: <option>_cmd, <option>_secret.
SUFFIXES = ("_cmd", "_secret")
# schema type -> Airflow's get<method> that reads it, what the value must be, the fix
CONVERSIONS = {"integer": ("int", "an integer", "write a whole number, e.g. 1000 (no units)"),
               "float": ("float", "a number", "write a number, e.g. 5.0"),
               "boolean": ("boolean", "a boolean", "write True or False")}
PROVIDER = "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
# The provider's settings that have no working default: (section, option, what happens without it). xcomlab's
# backends declare theirs (xcomlab.stores.Option).
PROVIDER_REQUIRED = [("common.io", "xcom_objectstorage_path", "every XCom above the threshold fails to push"),
                     ("common.io", "xcom_objectstorage_threshold", "the default -1 keeps every XCom in the metadata DB")]


def required() -> dict[str, list[tuple[str, str, str]]]:
    """backend class path -> the settings it reads that have no working default, with what happens without each."""
    found = {PROVIDER: PROVIDER_REQUIRED}
    for cls in stores.store_backends():
        found[f"{cls.__module__}.{cls.__qualname__}"] = [(stores.SECTION, o.name, o.required)
                                                          for o in cls.OPTIONS if o.required]
    return found


PATH_OPTIONS = {("common.io", "xcom_objectstorage_path"), ("xcomlab", "objectstorage_path")}


@dataclass(frozen=True)
class Finding:
    where: str  # the option as the user wrote it, with its file
    rule: str  # what is wrong, and what Airflow does with it
    fix: str
    unverified: bool = False  # cannot be checked from here (see the module's docstring): not a failure

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
    known.setdefault(stores.SECTION, {}).update({o.name: {"type": o.type, "default": None} for o in stores.options()})
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


def lookup(setting: Setting, sections: dict) -> tuple[dict | None, str]:
    """The schema entry Airflow reads the setting as, and '_cmd'/'_secret' when the name is another option's
    command or secret form (only then: api_auth.jwt_secret is an option of its own)."""
    options = sections.get(setting.section, {})
    if setting.option in options:
        return options[setting.option], ""
    for suffix in SUFFIXES:
        base = setting.option.removesuffix(suffix)
        if base != setting.option and base in options:
            return options[base], suffix
    return None, ""


def provider_missing(options: dict) -> bool:
    """A section Airflow knows only from its fallback defaults for providers (options with a default and
    nothing else: no type, no description), i.e. whose provider is not installed."""
    return bool(options) and all(set(spec) <= {"default", "sensitive", "moved_to"} for spec in options.values())


def nearest(setting: Setting, sections: dict) -> list[str]:
    names = [f"{s}.{o}" for s, options in sections.items() for o in options]
    close = difflib.get_close_matches(f"{setting.section}.{setting.option}", names, n=2, cutoff=0.75)
    return [env_name(*name.rsplit(".", 1)) if setting.env_form else name for name in close]


def name_findings(setting: Setting, sections: dict, values: dict[tuple[str, str], Setting]) -> list[Finding]:
    spec, suffix = lookup(setting, sections)
    if suffix and not spec.get("sensitive"):
        base = setting.option.removesuffix(suffix)
        name = env_name(setting.section, base) if setting.env_form else f"{setting.section}.{base}"
        return [Finding(setting.where, f"Airflow reads {suffix.upper() if setting.env_form else suffix} only for "
                        f"sensitive options (passwords, keys, connection URLs); {setting.section}.{base} is not one, "
                        "so Airflow ignores this", f"set {name} itself")]
    if spec is None and provider_missing(sections.get(setting.section, {})):
        return [Finding(setting.where, f"cannot verify: [{setting.section}] belongs to a provider that is not installed "
                        "here (Airflow holds only a few fallback defaults for it), so its options are unknown",
                        "lint where that provider is installed (`make lint` runs in the sandbox's image)",
                        unverified=True)]
    if spec is None:
        close = nearest(setting, sections)
        what = "section" if setting.section not in sections else "option"
        return [Finding(setting.where, f"no such {what} in Airflow's configuration (or its installed providers'): "
                        f"Airflow ignores it", f"did you mean {' or '.join(close)}?" if close else
                        f"see `airflow config list --defaults` for the {setting.section!r} section's options")]
    if spec.get("moved_to"):
        new_section, new_option = spec["moved_to"].rsplit(".", 1)
        new = values.get((new_section, new_option + suffix))
        if new is None:
            return [Finding(setting.where, f"deprecated: Airflow reads it as {spec['moved_to']} for now (with a "
                            "warning)", f"write {spec['moved_to']}{suffix}")]
        if new.value.strip() != setting.value.strip():  # the same value: a file serving old and new Airflow
            return [Finding(setting.where, f"deprecated, and {spec['moved_to']} is set too, to {new.value!r}: Airflow "
                            "reads only one of them (the new name before the old, the environment before "
                            "airflow.cfg)", f"remove it and keep {new.where.rpartition(': ')[2]}")]
    return []


class _Stored:
    """Airflow's parser cut down to one stored value: its own getint/getfloat/getboolean call only
    self.get, so they judge the value exactly as this Airflow version reads it."""

    def __init__(self, value: str):
        self.value = value

    def get(self, *_args, **_kwargs) -> str:
        return self.value


def airflow_reads(kind: str, value: str):
    """`value` as this Airflow's get<kind> reads it (kind: int, float, boolean); ValueError when it fails."""
    from airflow.configuration import AirflowConfigParser
    from airflow.exceptions import AirflowConfigException

    try:
        return getattr(AirflowConfigParser, f"get{kind}")(_Stored(value), "section", "option")
    except AirflowConfigException as err:
        raise ValueError(str(err)) from None


def reads_as(kind: str, value: str) -> bool:
    try:
        airflow_reads(kind, value)
        return True
    except ValueError:
        return False


def documented(spec: dict) -> set[str]:
    """The values an option's description quotes as ``literals`` (expose_config: True, False, non-sensitive-only)."""
    return {literal.lower() for literal in re.findall(r"``([^`]+)``", spec.get("description") or "")}


def value_findings(setting: Setting, sections: dict) -> list[Finding]:
    spec, suffix = lookup(setting, sections)
    if spec is None or suffix:  # a command or a secret's path, not the value
        return []
    kind, value, default = spec.get("type"), setting.value, spec.get("default")
    if not value.strip() and default == "":  # empty is this option's own default: its code handles it
        return []
    # Airflow's config.yml declares many booleans as strings (load_examples): a True/False default tells them,
    # and the values the description quotes (expose_config: non-sensitive-only) are accepted as well.
    if kind in ("string", None) and str(default) in ("True", "False"):
        if value.strip().lower() in documented(spec):
            return meaning_findings(setting)
        kind = "boolean"
    if kind in CONVERSIONS and not reads_as(CONVERSIONS[kind][0], value):
        method, what, fix = CONVERSIONS[kind]
        if not value.strip():
            return [Finding(setting.where, f"an empty value is not unset: Airflow reads '' and its get{method} fails "
                            "where the option is read (the default applies only when the option is absent)",
                            f"remove it to get the default ({default}), or {fix[0].lower()}{fix[1:]}")]
        return [Finding(setting.where, f"{value.strip()!r} is not {what}: Airflow's get{method} fails where it is "
                        "read", fix)]
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
    try:  # imports the implementation: fsspec lists s3:// whether or not s3fs is installed
        fsspec.get_filesystem_class(scheme)
    except ValueError:
        return [Finding(setting.where, f"no filesystem is registered for {scheme}:// in this environment: every "
                        "offloaded push fails", "check the scheme (s3://, gs://, abfs://, file://) and install the "
                        "provider for that store (apache-airflow-providers-amazon for s3://, -google for gs://, "
                        "-microsoft-azure for abfs://)")]
    except ImportError as err:
        package = getattr(err.__cause__, "name", None) or str(err)
        extra = " (the amazon provider's extra: apache-airflow-providers-amazon[s3fs])" if package == "s3fs" else ""
        return [Finding(setting.where, f"{scheme}:// needs the {package} package, which is not installed here "
                        f"({err}): every offloaded push fails", f"install {package}{extra}; on MWAA, in "
                        "requirements.txt")]
    return []


def connection_findings(settings: list[Setting], environ: dict[str, str]) -> list[Finding]:
    """The connection id in an object-storage path (scheme://conn_id@bucket/...) must exist. One the settings'
    own secrets backend may hold (MWAA: SecretsManagerBackend) cannot be checked from here."""
    values = {(s.section, s.option): s.value.strip() for s in settings}
    backend = values.get(("secrets", "backend"), "")
    found = []
    for setting in settings:
        if (setting.section, setting.option) not in PATH_OPTIONS or "@" not in setting.value.partition("://")[2].split("/")[0]:
            continue
        conn_id = setting.value.partition("://")[2].split("@")[0]
        if connection_exists(conn_id, environ):
            continue
        if backend:  # the settings' own secrets backend, which this process does not use
            short = backend.rpartition(".")[2]
            found.append(Finding(setting.where, f"connection {conn_id!r}: cannot verify (kept in {short}, the "
                                 "secrets.backend these settings name, which this check cannot read)",
                                 f"make sure {short} holds connection {conn_id!r}"
                                 f"{secret_name(values.get(('secrets', 'backend_kwargs'), ''), conn_id)}",
                                 unverified=True))
        else:
            found.append(Finding(setting.where, f"connection {conn_id!r} is not defined (no AIRFLOW_CONN_"
                                 f"{conn_id.upper()} variable, and Airflow's secrets backends do not know it): "
                                 "every offloaded push fails", f"define connection {conn_id!r} or name one that "
                                 "exists before the @"))
    return found


def secret_name(backend_kwargs: str, conn_id: str) -> str:
    """' (the secret <connections_prefix><sep><conn_id>)' when backend_kwargs names a connections_prefix."""
    try:
        kwargs = json.loads(backend_kwargs or "{}")
    except json.JSONDecodeError:
        return ""
    prefix = kwargs.get("connections_prefix") if isinstance(kwargs, dict) else None
    return f" (the secret {prefix}{kwargs.get('sep', '/')}{conn_id})" if isinstance(prefix, str) and prefix else ""


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
    for section, option, consequence in required().get(backend.value.strip(), []):
        if (section, option) not in values or not values[(section, option)].value.strip():
            name = env_name(section, option) if backend.env_form else f"{section}.{option}"
            found.append(Finding(backend.where, f"{backend.value} reads {name}, which is not set: {consequence}",
                                 f"set {name}"))
    return found


def pickling_findings(settings: list[Setting], sections: dict) -> list[Finding]:
    """Airflow 2's [core] enable_xcom_pickling under an offloading backend (Airflow 3 has no such option)."""
    values = {(s.section, s.option): s for s in settings}
    pickling, backend = values.get(("core", "enable_xcom_pickling")), values.get(("core", "xcom_backend"))
    if pickling is None or backend is None or "enable_xcom_pickling" not in sections.get("core", {}):
        return []
    backend_class = backend.value.strip()
    if not (backend_class.startswith("xcomlab.") or backend_class == PROVIDER):
        return []
    try:
        if not airflow_reads("boolean", pickling.value):
            return []
    except ValueError:  # not a boolean: a finding of its own
        return []
    off = "AIRFLOW__CORE__ENABLE_XCOM_PICKLING=False" if pickling.env_form else "[core] enable_xcom_pickling = False"
    if backend_class == PROVIDER:
        why = ("Airflow 2 then pickles every XCom row, the provider's references included, and unpickles every row "
               "it reads, so anyone who can write an XCom row (the REST API, the UI, the metadata DB) runs code on "
               "the workers; and xcomlab's audit cannot read pickled rows, so `make doctor --fix` and the "
               "xcom_cleanup DAG delete nothing while one exists")
    else:
        why = ("xcomlab's backends ignore it: their rows stay JSON and are never unpickled (a pickled row would let "
               "anyone who can write one run code on the workers), so a value only pickle can carry fails to push")
    return [Finding(pickling.where, f"with {backend_class}: {why}",
                    f"set {off} (XCom values must then be JSON-serialisable)")]


def read_env_file(path: Path, known: dict[str, str] | None = None) -> dict[str, str]:
    """KEY=VALUE lines as Compose reads an env file: python-dotenv's parser, ${VAR} and ${VAR:-default}
    expanded from the file's earlier lines, then `known` (earlier files), then this process's environment.
    A bare KEY (no =) sets nothing."""
    env = {**os.environ, **(known or {})}
    pairs = {}
    for name, raw in dotenv_values(path, interpolate=False, encoding="utf-8").items():
        if raw is not None:
            pairs[name] = env[name] = "".join(atom.resolve(env) for atom in parse_variables(raw))
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
    env_sources = []
    for path in env_files:
        env_sources.append((read_env_file(Path(path), variables), Path(path).name))
        variables.update(env_sources[-1][0])
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
    values = {(s.section, s.option): s for s in settings}  # what Airflow ends up reading
    for setting in settings:
        findings += name_findings(setting, sections, values) or value_findings(setting, sections)
    latest = list(values.values())
    return (findings + connection_findings(latest, variables) + backend_findings(latest)
            + pickling_findings(latest, sections))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xcomlab_tools.lint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE file (.env, env_file)")
    parser.add_argument("--cfg", action="append", default=[], help="an airflow.cfg")
    parser.add_argument("--options", action="append", default=[], help="MWAA configuration options JSON")
    parser.add_argument("--environ", action="store_true", help="also this process's AIRFLOW__* variables")
    args = parser.parse_args(argv)
    environ = {k: v for k, v in os.environ.items() if k.startswith("AIRFLOW")} if args.environ else None
    findings = lint(args.env, args.cfg, args.options, environ)
    for finding in findings:
        print(finding)
    failing = [f for f in findings if not f.unverified]
    unverified = len(findings) - len(failing)
    sources = ", ".join(args.env + args.cfg + args.options + (["environment"] if args.environ else []))
    print(f"{len(failing)} finding(s)" + (f", {unverified} that cannot be verified here" if unverified else "")
          + f" in {sources or 'nothing'}")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
