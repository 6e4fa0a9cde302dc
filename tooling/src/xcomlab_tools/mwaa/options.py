"""MWAA's Airflow configuration options (`aws mwaa update-environment --airflow-configuration-options`,
CloudFormation `AirflowConfigurationOptions`): a JSON map {"section.option": "value"}.

Validated as MWAA's API validates it (botocore's mwaa service model: ConfigKey, ConfigValue) and turned
into the AIRFLOW__SECTION__OPTION variables MWAA sets in every container. Standard library only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

KEY_PATTERN = re.compile(r"[a-z]+([a-z0-9._]*[a-z0-9_]+)?")
KEY_MAX = 64
VALUE_PATTERN = re.compile(r"[ -~]+")  # printable ASCII
VALUE_MAX = 65536

# MWAA's docs, "Unsupported configurations": the API refuses these.
REFUSED = {
    "core.multi_team": "MWAA runs one team per environment",
    "triggerer.queues_enabled": "MWAA runs one triggerer queue",
}

# MWAA's reserved variables: a value the startup script exports is dropped and MWAA's own kept.
# (amazon-mwaa-docker-images protects these plus every MWAA__* name; MWAA's docs list the Airflow ones.)
RESERVED = frozenset({
    "AIRFLOW_ENV_ID", "AIRFLOW_ENV_NAME", "AIRFLOW_HOME", "AIRFLOW_TASK_REVISION_ID", "AIRFLOW_VERSION",
    "AIRFLOW__AWS_MWAA__REDIRECT_URL", "JWT_PUBLIC_KEY", "AIRFLOW__WEBSERVER__BASE_URL", "AIRFLOW__API__BASE_URL",
    "AWS_DEFAULT_REGION", "AWS_REGION", "CUSTOMER_ACCOUNT_ID", "PYTHONPATH", "PYTHONUNBUFFERED",
    "AIRFLOW__WEBSERVER__SECRET_KEY", "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__CELERY__BROKER_URL",
    "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__CORE__LOAD_EXAMPLES",
    "SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
    "AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW__CORE__PARALLELISM", "AIRFLOW__SCHEDULER__PARSING_PROCESSES",
})
# What MWAA itself sets in the container (executor, metadata DB, secrets): a customer option for one of
# these is accepted by the API and then silently overridden.
ESSENTIAL = frozenset({
    "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__SQL_ALCHEMY_CONN",
    "AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__WEBSERVER__SECRET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET",
    "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__CELERY__RESULT_BACKEND", "AIRFLOW__CORE__AUTH_MANAGER",
    "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
})


class OptionsError(ValueError):
    """The options MWAA's API would refuse; one line per problem, each naming the key and the rule."""

    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"{source} would be refused by MWAA (ValidationException):\n"
                         + "\n".join(f"  - {p}" for p in problems))


def load(path: Path) -> dict[str, str]:
    """The options in `path`, or OptionsError listing everything MWAA would refuse."""
    try:
        options = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise OptionsError(path.name, [f"not valid JSON: {err}"]) from None
    found = problems(options)
    if found:
        raise OptionsError(path.name, found)
    return options


def problems(options: object) -> list[str]:
    if not isinstance(options, dict):
        return ['must be a JSON object mapping "section.option" to a string value, e.g. '
                '{"core.xcom_backend": "my_package.MyXCom"}']
    found = []
    for key, value in options.items():
        found += key_problems(key) + value_problems(key, value)
    return found


def key_problems(key: str) -> list[str]:
    if not 1 <= len(key) <= KEY_MAX:
        return [f"key {key[:70]!r} is {len(key)} characters long: MWAA allows 1 to {KEY_MAX}"]
    if not KEY_PATTERN.fullmatch(key):
        hint = (f"keys are lowercase: write {key.lower()!r}" if KEY_PATTERN.fullmatch(key.lower())
                else "lowercase letters, digits, '.' and '_', starting with a letter and not ending with '.'")
        return [f"key {key!r} does not match MWAA's pattern {KEY_PATTERN.pattern}: {hint}"]
    if "." not in key:
        return [f"key {key!r} has no section: write it as section.option, e.g. core.{key}"]
    if key in REFUSED:
        return [f"key {key!r} is an option MWAA does not let you set ({REFUSED[key]})"]
    return []


def value_problems(key: str, value: object) -> list[str]:
    if not isinstance(value, str):
        return [f"value of {key!r} is {type(value).__name__} {json.dumps(value)}: MWAA takes strings only, "
                f"write \"{value}\""]
    if not 1 <= len(value) <= VALUE_MAX:
        return [f"value of {key!r} is {len(value)} characters long: MWAA allows 1 to {VALUE_MAX}"]
    bad = next((i for i, ch in enumerate(value) if not VALUE_PATTERN.fullmatch(ch)), None)
    if bad is not None:
        return [f"value of {key!r} has {value[bad]!r} (U+{ord(value[bad]):04X}) at position {bad}: MWAA takes "
                f"printable ASCII only (no tabs, newlines or non-ASCII characters)"]
    return []


def env_name(key: str) -> str:
    """core.xcom_backend -> AIRFLOW__CORE__XCOM_BACKEND. Sections may hold dots, options never do:
    common.io.xcom_objectstorage_path -> AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH (Airflow's own naming)."""
    section, _, option = key.rpartition(".")
    return f"AIRFLOW__{section.replace('.', '_').upper()}__{option.upper()}"


def to_environ(options: dict[str, str]) -> dict[str, str]:
    return {env_name(key): value for key, value in options.items()}


def overridden(options: dict[str, str]) -> list[str]:
    """Keys MWAA accepts but then overrides with its own value."""
    return [key for key in options if env_name(key) in ESSENTIAL]


def reserved(name: str) -> bool:
    return name in RESERVED or name.startswith("MWAA__")


def merge(container: dict[str, str], startup: dict[str, str], options: dict[str, str]) -> dict[str, str]:
    """The components' environment in amazon-mwaa-docker-images' priority order, lowest first: the
    container's, the startup script's exports (reserved names dropped), the configuration options; then
    the essential variables MWAA sets itself, restored to the container's values."""
    env = {**container, **{k: v for k, v in startup.items() if not reserved(k)}, **to_environ(options)}
    for name in ESSENTIAL:
        if name in container:
            env[name] = container[name]
        else:
            env.pop(name, None)
    return env
