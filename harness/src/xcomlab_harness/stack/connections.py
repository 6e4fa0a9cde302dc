"""The connection ids a user's backend names, each pointed at its emulator (`make check`).

`CONNECTIONS=s3_xcom_backend_conn=s3,wasb-default=azure` names them; without it (and besides it: the explicit
one wins) the ids the backend's code and BACKEND_ENV name are found here: keyword arguments and defaults
(`S3Hook(aws_conn_id="my_s3")`, also given by name: `RedisHook(redis_conn_id=MyXCom.CONN_ID)`), assignments
(`AWS_CONN_ID = "my_s3"`), ObjectStoragePath URLs with a user part (`abfs://my_azure@xcom/...`) and
BACKEND_ENV's `..._CONN_ID=` values. Which store an id means comes from the tables below: the argument's name,
the hook called, the URL's scheme, then words in the names. An id whose store none of them tells is skipped,
never guessed; ids the sandbox or BACKEND_ENV already define are left alone.

Delivery: an id an environment variable can carry becomes `AIRFLOW_CONN_<ID>`; any other (a dash, a dot)
goes into a connections file that Airflow's local-filesystem secrets backend reads.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.env_files import read_dotenv
from xcomlab_harness.stack.python_ast import parse_python
from xcomlab_harness.stack.stores import with_connection

# What tells an id's store, strongest first: the argument it is given as, the hook it is given to, the scheme
# of the URL it is the user part of, and words in the argument's (variable's) name or in the id itself: each
# store's entry in stack/stores.py lists them, and these read the registry as it is when called.


def index(field: str) -> dict[str, str]:
    """value -> store name, for one of the stores' lists (aliases, arguments, hooks, schemes, words)."""
    return {value: s.name for s in with_connection() for value in getattr(s, field)}


def sandbox_connection(store: str) -> str:
    """The .env variable of the sandbox's own connection to the store."""
    return next(s.connection for s in with_connection() if s.name == store)


def default_connections() -> dict[str, str]:
    """The connection ids tutorial code uses unchanged (their variables), each the sandbox's own to its emulator."""
    return {s.default_connection: s.connection for s in with_connection()}


CONN_ID = re.compile(r"[\w#!()\-.:/\\]{1,250}")  # Airflow's own rule (airflow.models.connection.sanitize_conn_id)
ENV_ID = re.compile(r"[A-Za-z0-9_]+")  # what an AIRFLOW_CONN_<ID> variable can carry
URL = re.compile(r"\b([a-z][a-z0-9]*)://([\w#!().\-]+)@")  # ObjectStoragePath style: scheme://<conn_id>@bucket
ASSIGNED = re.compile(r"\b(\w*conn_id)\s*(?::[^=\n]*)?=\s*['\"]([^'\"\n]+)['\"]", re.IGNORECASE)  # unparsable files
CONN_ID_KEY = re.compile(r".*CONN(ECTION)?_ID", re.IGNORECASE)  # BACKEND_ENV's MY_S3_CONN_ID=my_s3
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", "site-packages", "build", "dist", ".tox"}
MAX_FILES = 500

CONNECTIONS_TARGET = "/opt/xcom-lab/connections.json"
SECRETS_BACKEND = "airflow.secrets.local_filesystem.LocalFilesystemBackend"
# Settings that choose the secrets backend; 3.x's task processes read [workers] secrets_backend first.
SECRETS_KEYS = ("AIRFLOW__SECRETS__BACKEND", "AIRFLOW__SECRETS__BACKEND_KWARGS",
                "AIRFLOW__WORKERS__SECRETS_BACKEND", "AIRFLOW__WORKERS__SECRETS_BACKEND_KWARGS")


def store_of(name: str) -> str | None:
    """s3, gcs, azure or redis for a store name or one of its aliases; None for anything else."""
    name = name.strip().lower()
    return name if name in {s.name for s in with_connection()} else index("aliases").get(name)


def parse(text: str) -> dict[str, str]:
    """CONNECTIONS=id=store,id=store as {id: store}; a clear SandboxError for anything else."""
    found = {}
    for pair in (p.strip() for p in text.split(",")):
        if not pair:
            continue
        conn_id, sep, store = (part.strip() for part in pair.rpartition("="))
        if not sep or not conn_id:
            raise SandboxError(f"CONNECTIONS: {pair!r} is not <conn_id>=<store>: write e.g. "
                               "CONNECTIONS=my_s3=s3,wasb-default=azure (stores: s3, gcs, azure, redis)")
        if store_of(store) is None:
            raise SandboxError(f"CONNECTIONS: {pair!r} names no store xcom-lab has: write {conn_id}=s3, "
                               f"{conn_id}=gcs, {conn_id}=azure or {conn_id}=redis")
        if not CONN_ID.fullmatch(conn_id):
            raise SandboxError(f"CONNECTIONS: {conn_id!r} is not a valid Airflow connection id: up to 250 letters, "
                               "digits and _ - . : / \\ # ! ( ) (e.g. CONNECTIONS=my_s3=s3)")
        found[conn_id] = store_of(store)
    return found


# --- discovery --------------------------------------------------------------------------------------------

def words(name: str) -> str | None:
    """The one store the words of a name point at (s3_xcom_backend_conn, wasb-default, AWS_CONN_ID); None
    when no word or words of two stores."""
    split = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    words = index("words")
    stores = {words[w] for w in re.split(r"[^a-z0-9]+", split) if w in words}
    return stores.pop() if len(stores) == 1 else None


def kind(conn_id: str, argument: str = "", hook: str = "", scheme: str = "") -> str | None:
    return (index("arguments").get(argument.lower()) or index("hooks").get(hook) or index("schemes").get(scheme)
            or words(argument) or words(conn_id))


def literal(node: ast.AST | None, names: Mapping[str, str] | None = None) -> str | None:
    """A string literal, a name bound to one in the same file (`CONN_ID`, `MyXCom.CONN_ID`, `self.conn_id`), or
    the default of os.getenv("X", "id"), os.environ.get("X", "id"), kwargs.get("aws_conn_id", "id"),
    conf.get(..., fallback="id")."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name | ast.Attribute):
        return (names or {}).get(target_name(node))
    if isinstance(node, ast.Call):
        fallback = [k.value for k in node.keywords if k.arg in ("fallback", "default")]
        receiver = target_name(node.func.value) if isinstance(node.func, ast.Attribute) else ""
        if not fallback and len(node.args) == 2 and (callee(node) == "getenv" or receiver in ("environ", "kwargs")):
            fallback = [node.args[1]]
        if fallback and callee(node) in ("get", "getenv"):
            return literal(fallback[0], names)
    return None


def string_names(tree: ast.AST) -> dict[str, str]:
    """The names bound to one string in the file (`CONN_ID = "xcom_cache"`): an id passed by name resolves, and
    meets the argument that tells its store (`RedisHook(redis_conn_id=MyXCom.CONN_ID)`). A name bound to two
    different strings resolves to neither."""
    bound: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                bound.setdefault(target_name(target), set()).add(literal(node.value) or "")
    return {name: values.pop() for name, values in bound.items() if name and len(values) == 1 and "" not in values}


def callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def target_name(node: ast.AST) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def in_python(text: str) -> Iterator[tuple[str, str | None]]:
    """(id, store or None) for every connection id the code names."""
    try:
        tree = parse_python(text)
    except SyntaxError:  # still a backend's file: its assignments and URLs
        yield from ((m.group(2), kind(m.group(2), m.group(1))) for m in ASSIGNED.finditer(text))
        yield from in_text(text)
        return
    names = string_names(tree)

    def value(node: ast.AST | None) -> str | None:
        return literal(node, names)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            hook = callee(node)
            for keyword in node.keywords:
                if keyword.arg and keyword.arg.lower().endswith("conn_id") and value(keyword.value):
                    yield value(keyword.value), kind(value(keyword.value), keyword.arg, hook)
            if hook in (hooks := index("hooks")) and node.args and value(node.args[0]):  # S3Hook("my_s3")
                yield value(node.args[0]), hooks[hook]
            if hook == "get_connection" and node.args and value(node.args[0]):  # BaseHook.get_connection("my_s3")
                yield value(node.args[0]), kind(value(node.args[0]))
        elif isinstance(node, ast.arguments):  # def __init__(self, aws_conn_id="my_s3")
            positional = node.posonlyargs + node.args
            pairs = list(zip(positional[len(positional) - len(node.defaults):], node.defaults))
            pairs += [(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults) if d is not None]
            for arg, default in pairs:
                if arg.arg.lower().endswith("conn_id") and value(default):
                    yield value(default), kind(value(default), arg.arg)
        elif isinstance(node, ast.Assign | ast.AnnAssign):  # AWS_CONN_ID = "my_s3", self.conn_id = "my_s3"
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for name in map(target_name, targets):
                if name.lower().endswith("conn_id") and literal(node.value):
                    yield literal(node.value), kind(literal(node.value), name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from in_text(node.value)


def in_text(text: str) -> Iterator[tuple[str, str | None]]:
    """The user part of ObjectStoragePath-style URLs: s3://<conn_id>@bucket/..."""
    for match in URL.finditer(text):
        if match.group(1) in index("schemes"):
            yield match.group(2), kind(match.group(2), scheme=match.group(1))


def in_env(env: Mapping[str, str]) -> Iterator[tuple[str, str | None]]:
    """BACKEND_ENV: URLs in any value (AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH), ..._CONN_ID=<id>."""
    for key, value in env.items():
        if key.startswith("AIRFLOW_CONN_"):  # defines a connection rather than naming one
            continue
        yield from in_text(value)
        if CONN_ID_KEY.fullmatch(key) and CONN_ID.fullmatch(value):
            yield value, kind(value, key)


def python_files(src: Path) -> list[Path]:
    if src.is_file():
        return [src] if src.suffix == ".py" else []
    files = [p for p in sorted(src.rglob("*.py")) if not SKIPPED_DIRS & set(p.relative_to(src).parts[:-1])]
    return files[:MAX_FILES]


def discover(src: Path | None, env: Mapping[str, str]) -> dict[str, str]:
    """{id: store} of the ids BACKEND_SRC's .py files and BACKEND_ENV name whose store is told; an id told two
    different stores is skipped."""
    named: list[tuple[str, str | None]] = list(in_env(env))
    for path in python_files(src) if src else []:
        try:
            named += in_python(path.read_text(errors="replace"))
        except (OSError, RecursionError, ValueError):
            continue
    stores: dict[str, set[str]] = {}
    for conn_id, store in named:
        if CONN_ID.fullmatch(conn_id):
            stores.setdefault(conn_id, set()).update([store] if store else [])
    return {conn_id: found.pop() for conn_id, found in stores.items() if len(found) == 1}


# --- delivery ---------------------------------------------------------------------------------------------

def defined(conn_id: str, env: Iterable[str]) -> bool:
    return f"AIRFLOW_CONN_{conn_id.upper()}" in env


def resolve(explicit: str, src: Path | None, user_env: Mapping[str, str], sandbox_env: Iterable[str]) -> dict[str, str]:
    """{id: store}: what the code and BACKEND_ENV name (but not the ids the sandbox or BACKEND_ENV define),
    then CONNECTIONS over it."""
    sandbox_env = set(sandbox_env)
    found = {conn_id: store for conn_id, store in discover(src, user_env).items()
             if not defined(conn_id, sandbox_env) and not defined(conn_id, user_env)}
    if any(key in user_env for key in SECRETS_KEYS):  # their own secrets backend: ids no variable carries are theirs
        found = {conn_id: store for conn_id, store in found.items() if ENV_ID.fullmatch(conn_id)}
    return {**found, **parse(explicit)}


def deliver(resolved: Mapping[str, str], settings: Mapping[str, str], user_env: Mapping[str, str],
            file_path: str) -> tuple[dict[str, str], dict[str, dict]]:
    """(variables for the env file, {id: connection} for the connections file). Ids a variable can carry
    become AIRFLOW_CONN_<ID>; the others go into the file, read through Airflow's local-filesystem secrets
    backend at file_path (inside the containers)."""
    variables, in_file = {}, {}
    for conn_id, store in resolved.items():
        if ENV_ID.fullmatch(conn_id):
            variables[f"AIRFLOW_CONN_{conn_id.upper()}"] = settings[sandbox_connection(store)]
        else:
            in_file[conn_id] = json.loads(settings[sandbox_connection(store)])
    if in_file:
        theirs = [key for key in SECRETS_KEYS if key in user_env]
        if theirs:
            raise SandboxError(
                f"BACKEND_ENV sets {', '.join(theirs)}, and connection id(s) {', '.join(sorted(in_file))} cannot be "
                "environment variables (AIRFLOW_CONN_<ID> takes letters, digits and _ only): xcom-lab gives such "
                "ids to Airflow through its local-filesystem secrets backend, and Airflow uses one secrets backend. "
                f"Remove {theirs[0]} from BACKEND_ENV (xcom-lab then defines them), or drop those ids from "
                "CONNECTIONS and define them in your own secrets backend.")
        variables["AIRFLOW__SECRETS__BACKEND"] = SECRETS_BACKEND
        variables["AIRFLOW__SECRETS__BACKEND_KWARGS"] = json.dumps({"connections_file_path": file_path})
    return variables, in_file


def user_env(settings: Mapping[str, str]) -> dict[str, str]:
    return read_dotenv(Path(settings["BACKEND_ENV"]).expanduser()) if settings.get("BACKEND_ENV") else {}


def custom_connections(settings: Mapping[str, str]) -> tuple[dict[str, str], dict[str, dict]]:
    """CONNECTIONS and the ids the backend names (above), each pointed at its emulator:
    (AIRFLOW_CONN_<ID> and secrets-backend variables, {id: connection} for the connections file)."""
    src = Path(settings["BACKEND_SRC"]).expanduser().resolve() if settings.get("BACKEND_SRC") else None
    # the ids the components have already: the defaults, the compose file's (xcom_s3, ..., xcomlab_metadata)
    sandbox = [*default_connections(), *(k for k in settings if k.startswith("AIRFLOW_CONN_")),
               "AIRFLOW_CONN_XCOMLAB_METADATA"]
    theirs = user_env(settings)
    return deliver(resolve(settings.get("CONNECTIONS", ""), src, theirs, sandbox), settings, theirs, CONNECTIONS_TARGET)
