"""The store fault suite: every xcomlab backend against a store that fails, refuses, loses or mangles what
it holds, driven as a task drives it (store_ops.py runs the backend class inside the scheduler's
container, against the real emulators). Each case asserts the outcome a user needs: the task fails with an
error naming the XCom, the store URL, the cause and what to do; nothing half-written; nothing lost.

The driver writes under its own roots (`airflow-<version>-faults/`, and `-faults-victim/` beside them for
the rows planted with a reference outside the root), which no XCom row references and the
lifecycle tools do not audit; the module removes them at the end.
"""

from __future__ import annotations

import json
import re
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from report import Fault
from xcomlab_harness.probes.s3 import S3Probe
from xcomlab_harness.stack import project
from xcomlab_harness.stack.compose import compose
from xcomlab_harness.stack.paths import COMPOSE_DIR, ROOT
from xcomlab_harness.stack.project import backend_environment
from xcomlab_harness.stack.settings import airflow_major, load_settings, version_folder
from xcomlab_harness.stack.state import offline_from_state
from xcomlab_harness.stack.stores import store

pytestmark = pytest.mark.e2e

STORE_OPS = ROOT / "harness" / "src" / "xcomlab_harness" / "incontainer" / "store_ops.py"
BIG = 4000  # bytes of JSON: over the sandbox's threshold (1000)
KILLED_SIZE = 64 * 1024 * 1024
DAG = "xcom_faults"
# Run and key characters that must stay inside their folder (the layout percent-encodes them).
ODD_RUN_ID = "manual__2026-12-03/../../escape%2F..%20ünï"
ODD_KEY = "key with spaces/and ../ dots ✓"


@dataclass
class Backend:
    name: str
    store: str
    env: dict[str, str]  # the backend's settings, its root moved to the faults root
    cls: str = ""  # the backend class; xcomlab's for the store when empty

    def __post_init__(self):
        self.cls = self.cls or store(self.store).xcomlab_backend

    @property
    def root(self) -> str:
        if self.store == "redis":
            return f"redis://{self.env['AIRFLOW__XCOMLAB__REDIS_CONN_ID']}/{self.env['AIRFLOW__XCOMLAB__REDIS_PREFIX']}"
        if self.store == "localfs":
            return "file://" + self.env["AIRFLOW__XCOMLAB__LOCALFS_PATH"]
        return self.env["AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH"]


def xcomlab_backends(settings) -> list[Backend]:
    """The xcomlab backends of compose/backends/*.toml, each writing under this module's own root."""
    found = []
    for path in sorted((COMPOSE_DIR / "backends").glob("*.toml")):
        spec = tomllib.loads(path.read_text())
        if spec["family"] != "xcomlab":
            continue
        folder = version_folder(settings)
        env = {k: v.replace(f"{folder}/", f"{folder}-faults/") for k, v in
               backend_environment(settings, path.stem).items() if k.startswith("AIRFLOW__XCOMLAB__")}
        found.append(Backend(path.stem, spec["store"], env))
    return found


def ids(task_id: str, key: str = "return_value", run_id: str = "faults", map_index: int = -1) -> dict:
    return {"dag_id": DAG, "run_id": run_id, "task_id": task_id, "map_index": map_index, "key": key}


def drive(compose_env, backend: Backend, steps: list[dict]) -> list[dict]:
    """Run the steps in the scheduler's container; one outcome per step."""
    args = json.dumps({"backend": backend.cls, "env": backend.env, "steps": steps})
    done = compose(compose_env, "exec", "-T", "airflow-scheduler", "python", "-", args,
                           input=STORE_OPS.read_text(), capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"store_ops on {backend.name} printed no result (exit {done.returncode}): {done.stderr[-2000:]}"
    return json.loads(lines[-1].removeprefix("RESULT "))


def each(items: list, work) -> list:
    """work(item) for every item at once (each is a container exec, mostly waiting on I/O), in order."""
    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(work, items))


def without_writer_host(url: str) -> str:
    """A localfs reference names the host that wrote it (file://<host>/<path>): the path alone, as file:///<path>."""
    return "file:///" + url.removeprefix("file://").partition("/")[2] if url.startswith("file://") else url


def url_of(outcome: dict) -> str:
    """The object's URL from what a push stored (2.x's row holds the reference as a JSON string)."""
    stored = outcome["stored"]
    return (json.loads(stored) if stored.startswith('"') else stored).removeprefix("xcomlab:ref:")


# --- the phases: stores up, stores down, stores back ----------------------------------------------------

def up_steps(backend: Backend) -> list[dict]:
    steps = [
        {"op": "push", "ids": ids("survivor"), "size": BIG},
        {"op": "push", "ids": ids("deleted"), "size": BIG},
        {"op": "push", "ids": ids("truncated"), "size": 64 * 1024},
        {"op": "push", "ids": ids("garbage"), "size": BIG},
        {"op": "push", "ids": ids("odd", key=ODD_KEY, run_id=ODD_RUN_ID), "size": BIG},
        {"op": "push_small", "ids": ids("small"), "count": 1000},
        {"op": "kill_push", "ids": ids("killed"), "size": KILLED_SIZE, "fraction": 0.5},
    ]
    if backend.store in ("s3", "gcs", "azure"):
        bucket_url = backend.root.replace("@xcom/", "@xcom-typo/", 1) if "@" in backend.root else \
            backend.root.replace("://xcom/", "://xcom-typo/", 1)
        steps.append({"op": "push", "ids": ids("typo"), "size": BIG,
                      "env": {"AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH": bucket_url}})
    if backend.store == "azure":
        steps.append({"op": "push", "ids": ids("badkey"), "size": BIG,
                      "env": {"AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH": backend.root.replace("xcom_azure@", "xcom_badkey@"),
                              "AIRFLOW_CONN_XCOM_BADKEY": bad_azure_connection()}})
    if backend.store == "redis":
        conn = backend.env["AIRFLOW__XCOMLAB__REDIS_CONN_ID"]
        steps += [
            {"op": "push", "ids": ids("badpass"), "size": BIG,
             "env": {"AIRFLOW__XCOMLAB__REDIS_CONN_ID": "xcom_badpass",
                     "AIRFLOW_CONN_XCOM_BADPASS": json.dumps({"conn_type": "redis", "host": "redis", "port": 6379,
                                                              "login": "nobody", "password": "wrong",
                                                              "extra": {"db": 1}})}},
            {"op": "redis", "conn_id": conn, "command": ["CONFIG", "SET", "maxmemory-policy", "noeviction"]},
            {"op": "redis", "conn_id": conn, "command": ["CONFIG", "SET", "maxmemory", "1"]},
            {"op": "push", "ids": ids("full"), "size": 2 * 1024 * 1024},
            {"op": "redis", "conn_id": conn, "command": ["CONFIG", "SET", "maxmemory", "0"]},
        ]
    if backend.store == "localfs":
        steps += [  # /dev/shm: a 64 MB tmpfs in every container; the dags mount is read-only
            {"op": "push", "ids": ids("full"), "size": 80 * 1024 * 1024,
             "env": {"AIRFLOW__XCOMLAB__LOCALFS_PATH": "/dev/shm/xcomlab-faults"}},
            {"op": "list", "root": "file:///dev/shm/xcomlab-faults"},
            {"op": "push", "ids": ids("readonly"), "size": BIG,
             "env": {"AIRFLOW__XCOMLAB__LOCALFS_PATH": "/opt/airflow/dags/xcomlab-faults"}},
        ]
    return steps


def bad_azure_connection() -> str:
    conn = json.loads(load_settings()["AIRFLOW_CONN_XCOM_AZURE"])
    string = conn["extra"]["connection_string"]
    key = string.split("AccountKey=")[1].split(";")[0]
    conn["extra"]["connection_string"] = string.replace(key, "d3JvbmcK" * 11)
    return json.dumps(conn)


@pytest.fixture(scope="module")
def faults(stack, compose_env, settings):
    """Every backend through the three phases; the outcomes by backend and case."""
    backends = xcomlab_backends(settings)
    results = {b.name: {} for b in backends}

    def up(b):
        out = drive(compose_env, b, up_steps(b))
        assert all(o["ok"] for o in out[:5]), f"{b.name}: a plain push failed: {out[:5]}"
        corrupt = [{"op": "corrupt", "url": url_of(out[1]), "how": "delete"},
                   {"op": "corrupt", "url": url_of(out[2]), "how": "truncate"},
                   {"op": "corrupt", "url": url_of(out[3]), "how": "garbage"}]
        pulls = [{"op": "pull", "stored": out[i]["stored"], "expect_size": size}
                 for i, size in ((1, BIG), (2, 64 * 1024), (3, BIG), (4, BIG))]
        killed = {"op": "list", "root": url_of(out[0]).replace("/survivor/", "/killed/").rsplit("/", 1)[0]}
        after = drive(compose_env, b, corrupt + pulls + [killed, {"op": "push", "ids": ids("killed"), "size": KILLED_SIZE},
                                                         killed])
        assert all(o["ok"] for o in after[:3]), f"{b.name}: damaging an object failed: {after[:3]}"
        return out, after

    for b, (out, after) in zip(backends, each(backends, up)):
        results[b.name].update(up=out, after=after)

    # Every store down at once (localfs has no server to stop).
    services = sorted({store(b.store).service for b in backends if store(b.store).service})
    compose(compose_env, "stop", *services)
    try:  # push and pull at once: each waits out its client's retries (azure-storage-blob's take ~85 s)
        jobs = [(b, step) for b in backends for step in (
            {"op": "push", "ids": ids("while-down"), "size": BIG},
            {"op": "pull", "stored": results[b.name]["up"][0]["stored"], "expect_size": BIG})]
        down = each(jobs, lambda job: drive(compose_env, job[0], [job[1]])[0])
    finally:
        compose(compose_env, "start", *services)
        compose(compose_env, "up", "--wait", "--no-recreate", *services)
    for i, b in enumerate(backends):
        results[b.name]["down"] = down[2 * i: 2 * i + 2]

    back = each(backends, lambda b: drive(compose_env, b, [
        {"op": "pull", "stored": results[b.name]["up"][0]["stored"], "expect_size": BIG},
        {"op": "list", "root": b.root + f"/{DAG}/faults/while-down"},
        {"op": "delete_all", "root": b.root}]))
    for b, out in zip(backends, back):
        results[b.name]["back"] = out
    return {"backends": {b.name: b for b in backends}, "results": results}


# --- the cases ----------------------------------------------------------------------------------------

def record(report, case: str, backend: str, expected: str, outcome: dict, lost: int = 0) -> None:
    observed = outcome.get("message") or ("ok" if outcome.get("ok") else outcome.get("error", ""))
    if "elapsed_s" in outcome:
        observed = f"after {outcome['elapsed_s']:.1f} s: {observed}"
    report.add_fault(Fault(case, backend, expected, observed, lost))


def assert_store_error(outcome: dict, *words: str) -> None:
    assert not outcome["ok"], f"expected a failure, got {outcome}"
    assert outcome["error"] == "XComStoreError", outcome
    for word in words:
        assert word in outcome["message"], f"{word!r} not in: {outcome['message']}"


BACKEND_NAMES = [b.name for b in xcomlab_backends(load_settings())]


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_store_down_during_push_fails_the_push_naming_xcom_store_and_fix(faults, report, backend):
    outcome = faults["results"][backend]["down"][0]
    record(report, "store down during push", backend, "XComStoreError: unreachable; nothing written", outcome)
    if faults["backends"][backend].store == "localfs":
        assert outcome["ok"], "localfs has no server to stop: the push works"
        return
    assert_store_error(outcome, "'return_value' of task 'while-down'", "unreachable", "retry", "Nothing was written")
    assert "://" in outcome["message"]
    assert faults["results"][backend]["back"][1]["objects"] == {}, "the failed push left an object behind"


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_store_down_during_pull_fails_the_pull_naming_xcom_and_store(faults, report, backend):
    outcome = faults["results"][backend]["down"][1]
    record(report, "store down during pull", backend, "XComStoreError: unreachable", outcome)
    if faults["backends"][backend].store == "localfs":
        assert outcome["ok"] and outcome["equal"]
        return
    assert_store_error(outcome, "'return_value' of task 'survivor'", "cannot read", "unreachable")


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_store_restarted_between_push_and_pull_keeps_the_value(faults, report, backend):
    outcome = faults["results"][backend]["back"][0]
    lost = 0 if outcome.get("equal") else 1
    record(report, "store restarted between push and pull", backend, "the value comes back equal", outcome, lost)
    assert outcome["ok"] and outcome["equal"], outcome


@pytest.mark.parametrize(("index", "case", "error"), [(3, "object deleted before the pull", "XComMissingError"),
                                                      (4, "object truncated before the pull", "XComCorruptError"),
                                                      (5, "object replaced by garbage before the pull", "XComCorruptError")])
@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_damaged_object_fails_the_pull_with_the_xcom_and_what_to_do(faults, report, backend, index, case, error):
    outcome = faults["results"][backend]["after"][index]
    record(report, case, backend, f"{error}; clear the task", outcome)
    assert not outcome["ok"] and outcome["error"] == error, outcome
    assert "of task" in outcome["message"] and "Clear task" in outcome["message"]


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_ids_with_path_characters_stay_inside_their_folder(faults, report, backend):
    b = faults["backends"][backend]
    pushed, pulled = faults["results"][backend]["up"][4], faults["results"][backend]["after"][6]
    url = without_writer_host(url_of(pushed))
    record(report, "run_id with / .. % unicode, key with spaces", backend, "one object under the DAG's folder",
           {"ok": True, "message": url})
    assert url.startswith(f"{b.root}/{DAG}/") and url.count("/") == b.root.count("/") + 5, url
    assert "/../" not in url and "/./" not in url
    assert pulled["ok"] and pulled["equal"], pulled


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_values_under_the_threshold_never_touch_the_store(faults, report, backend):
    outcome = faults["results"][backend]["up"][5]
    record(report, "1,000 values under the threshold", backend, "0 references, all equal",
           {"ok": True, "message": f"{outcome.get('references')} references, equal: {outcome.get('equal')}"})
    assert outcome["ok"] and outcome["references"] == 0 and outcome["equal"], outcome


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_push_killed_mid_upload_leaves_no_partial_object_and_the_retry_leaves_one(faults, report, backend):
    killed, listed, retried, relisted = (faults["results"][backend]["up"][6], *faults["results"][backend]["after"][7:10])
    # The object at the XCom's name (a localfs temporary file of the killed write is not at that name).
    sizes = [size for url, size in listed["objects"].items() if url.endswith("/return_value.json")]
    record(report, "task SIGKILLed while uploading 64 MB", backend, "no partial object; the retry leaves one",
           {"ok": True, "message": f"killed mid-push: {killed.get('killed_while_running')}; after the kill "
                                   f"{sizes or 'nothing'}; after the retry {list(relisted['objects'].values())}"})
    assert killed["ok"] and killed["killed_while_running"], killed
    assert all(size > KILLED_SIZE for size in sizes), f"a partial object is visible: {listed['objects']}"
    assert retried["ok"], retried
    at_name = [size for url, size in relisted["objects"].items() if url.endswith("/return_value.json")]
    assert len(at_name) == 1 and at_name[0] > KILLED_SIZE, relisted
    # Beside it at most the killed write's own temporary file (localfs): no reader opens it, and make doctor
    # counts it as an orphan (a write of this XCom removes it once nobody has touched it for 10 minutes).
    others = set(relisted["objects"]) - {url for url in relisted["objects"] if url.endswith("/return_value.json")}
    assert all(re.search(r"/\.return_value\.json\.[a-z0-9_]{8}\.tmp$", url) for url in others), relisted


@pytest.mark.parametrize("backend", [b for b in BACKEND_NAMES if b.startswith("xcomlab-")])
def test_a_missing_bucket_fails_the_push_and_is_never_created(faults, report, backend):
    outcome = faults["results"][backend]["up"][7]
    record(report, "missing bucket or container", backend, "XComStoreError naming the bucket; none created", outcome)
    assert_store_error(outcome, "xcom-typo", "does not exist", "never creates buckets", "Nothing was written")
    settings = load_settings()
    env = project.compose_env(settings, offline_from_state(settings))
    assert "xcom-typo" not in store(faults["backends"][backend].store).make_probe(settings, env).buckets()


def test_the_providers_backend_creates_a_misspelt_bucket(stack, compose_env, settings, report):
    """A known difference: the provider's mkdir(parents=True) before its write creates the bucket."""
    typo = "xcom-typo-provider"
    provider = Backend("s3", "s3", {"AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": f"s3://xcom_s3@{typo}/faults",
                                    "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "1000"},
                       "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend")
    [outcome] = drive(compose_env, provider, [{"op": "push", "ids": ids("typo"), "size": BIG}])
    s3 = S3Probe(settings).client
    created = typo in S3Probe(settings).buckets()
    if created:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=typo):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=typo, Key=obj["Key"])
        s3.delete_bucket(Bucket=typo)
    report.add_known_difference("s3", f"push with a misspelt bucket ({typo})",
                                f"push {'succeeded' if outcome['ok'] else 'failed'}; bucket "
                                f"{'created' if created else 'not created'}")
    assert outcome["ok"] and created, outcome


def by_task(outcomes: list[dict], steps: list[dict], task_id: str) -> dict:
    return next(o for o, s in zip(outcomes, steps) if s.get("ids", {}).get("task_id") == task_id)


@pytest.mark.parametrize(("backend", "task_id", "case", "words"), [
    ("xcomlab-azure", "badkey", "bad credentials", ("refused the credentials", "Correct the connection")),
    ("redis", "badpass", "bad credentials", ("refused the credentials",)),
    ("redis", "full", "Redis at maxmemory", ("the store is full", "maxmemory")),
    ("localfs", "full", "localfs disk full (64 MB tmpfs)", ("the store is full", "Nothing was written")),
    ("localfs", "readonly", "permission denied (read-only folder)", ("denied permission",)),
])
def test_a_refusing_store_fails_the_push_with_its_cause(faults, report, settings, backend, task_id, case, words):
    b = faults["backends"][backend]
    outcome = by_task(faults["results"][backend]["up"], up_steps(b), task_id)
    record(report, case, backend, "XComStoreError: " + words[0], outcome)
    assert_store_error(outcome, f"task {task_id!r}", *words)
    if case.startswith("localfs disk full"):
        assert faults["results"][backend]["up"][-2]["objects"] == {}, "a partial file is left on the full disk"


# --- rows that point outside the backend's root, and pickled rows ----------------------------------------

PICKLING = {"AIRFLOW__CORE__ENABLE_XCOM_PICKLING": "True"}  # Airflow 2 only; 3.x has no such option
UNPICKLED = "/tmp/xcomlab-unpickled"
PICKLED_ROW = f"cos\nsystem\n(S'touch {UNPICKLED}'\ntR."  # a protocol 0 pickle: loading it runs the command


def victim_backend(b: Backend) -> Backend:
    """The same store, with its root beside b's: what a planted reference points at."""
    return Backend(b.name, b.store, {k: v.replace("-faults/", "-faults-victim/") for k, v in b.env.items()}, b.cls)


def hostile_references(b: Backend, victims: list[str], folder: str) -> dict[str, str]:
    """case -> a reference to one of the victims (each case its own), as someone who may write rows would."""
    tails = [url.split("-faults-victim/", 1)[1] for url in victims]
    return {"another folder of the same store": victims[0],
            "../ out of the root": f"{b.root}/../../{folder}-faults-victim/{tails[1]}",
            "%2e%2e out of the root": f"{b.root}/%2e%2e/%2e%2e/{folder}-faults-victim/{tails[2]}"}


@pytest.fixture(scope="module")
def hostile(stack, compose_env, settings):
    """Per backend: each planted reference pulled and purged as Airflow would; the victims left after all."""
    folder, major = version_folder(settings), airflow_major(settings)
    backends = xcomlab_backends(settings)

    def row(reference: str) -> str:  # the row's value as the backend gets it (2.x: JSON text)
        return reference if major >= 3 else json.dumps(reference)

    def one(b: Backend) -> dict:
        victim = victim_backend(b)
        steps = [{"op": "push", "ids": ids("victim", key=f"victim-{n}"), "size": BIG, "env": victim.env} for n in range(3)]
        pickling = major < 3
        if pickling:
            steps.append({"op": "push", "ids": ids("pickling"), "size": BIG, "env": PICKLING})
        pushed = drive(compose_env, b, steps)
        assert all(o["ok"] for o in pushed), f"{b.name}: a plain push failed: {pushed}"
        victims = [url_of(o) for o in pushed[:3]]
        cases = hostile_references(b, victims, folder)
        planted = [step for reference in cases.values() for step in (
            {"op": "pull", "stored": row("xcomlab:ref:" + reference), "ids": ids("planted"), "expect_size": BIG},
            {"op": "purge", "stored": row("xcomlab:ref:" + reference), "ids": ids("planted")})]
        if pickling:
            planted += [{"op": "pull", "stored": pushed[3]["stored"], "expect_size": BIG, "env": PICKLING},
                        {"op": "pull", "stored": PICKLED_ROW, "ids": ids("pickled"), "env": PICKLING},
                        {"op": "exists", "path": UNPICKLED}]
        planted += [{"op": "list", "root": victim.root, "env": victim.env},
                    {"op": "delete_all", "root": victim.root, "env": victim.env}]
        out = drive(compose_env, b, planted)
        kept = {without_writer_host(url) for url in out[-2]["objects"]}
        return {"cases": {case: {"pull": out[2 * n], "purge": out[2 * n + 1],
                                 "deleted": without_writer_host(victims[n]) not in kept}
                          for n, case in enumerate(cases)},
                "pickling": {"pushed": pushed[3], "pulled": out[6], "planted": out[7], "ran": out[8]["exists"]}
                if pickling else None}

    return dict(zip([b.name for b in backends], each(backends, one)))


@pytest.mark.parametrize("case", ["another folder of the same store", "../ out of the root", "%2e%2e out of the root"])
@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_a_reference_outside_the_root_is_neither_read_nor_deleted(hostile, report, backend, case):
    found = hostile[backend]["cases"][case]
    pulled, purged = found["pull"], found["purge"]
    outside = int(bool(pulled.get("ok"))) + int(found["deleted"])
    report.add_fault(Fault(f"row planted with a reference: {case}", backend,
                           "the pull fails naming the XCom; the purge deletes nothing",
                           pulled.get("message") or "read", 0, outside))
    assert not pulled["ok"] and "outside this backend's root" in pulled["message"], pulled
    assert "'planted'" in pulled["message"], pulled
    assert purged["ok"], f"Airflow must still be able to delete the row: {purged}"
    assert not found["deleted"], "a purge deleted an object outside the backend's root"


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_airflow_2_pickling_never_pickles_or_unpickles_a_row(hostile, report, settings, backend):
    found = hostile[backend]["pickling"]
    if found is None:
        pytest.skip("Airflow 3 has no [core] enable_xcom_pickling")
    pushed, pulled, planted = found["pushed"], found["pulled"], found["planted"]
    lost = 0 if pulled.get("equal") else 1
    report.add_fault(Fault("[core] enable_xcom_pickling = True", backend,
                           "rows stay JSON; a pickled row fails its pull, never unpickled",
                           planted.get("message", "unpickled"), lost, int(found["ran"])))
    assert json.loads(pushed["stored"]).startswith("xcomlab:ref:"), f"the row is not JSON: {pushed['stored']!r:.80}"
    assert pulled["ok"] and pulled["equal"], pulled
    assert not planted["ok"] and not found["ran"], f"a pickled row was unpickled: {planted}"
    assert "'pickled'" in planted["message"] and "unpickle" in planted["message"], planted


# --- Redis that would lose XComs silently, or never answer ------------------------------------------------

@pytest.fixture(scope="module")
def redis_guards(stack, compose_env, settings):
    """The Redis backend under an evicting maxmemory-policy, then with its server paused (it accepts and never
    answers) and a 2-second [xcomlab] store_timeout."""
    [b] = [b for b in xcomlab_backends(settings) if b.store == "redis"]
    conn = b.env["AIRFLOW__XCOMLAB__REDIS_CONN_ID"]
    policy = [{"op": "redis", "conn_id": conn, "command": ["CONFIG", "SET", "maxmemory-policy", name]}
              for name in ("allkeys-lru", "noeviction")]
    evicting = drive(compose_env, b, [policy[0], {"op": "push", "ids": ids("evicting"), "size": BIG}, policy[1],
                                      {"op": "list", "root": b.root + f"/{DAG}/faults/evicting"}])
    compose(compose_env, "pause", "redis")
    try:
        [hung] = drive(compose_env, b, [{"op": "push", "ids": ids("hung"), "size": BIG,
                                         "env": {"AIRFLOW__XCOMLAB__STORE_TIMEOUT": "2"}}])
    finally:
        compose(compose_env, "unpause", "redis")
    return {"backend": b.name, "evicting": evicting[1], "left": evicting[3]["objects"], "hung": hung}


def test_an_evicting_redis_policy_is_refused_before_anything_is_written(redis_guards, report):
    outcome = redis_guards["evicting"]
    record(report, "Redis maxmemory-policy allkeys-lru", redis_guards["backend"],
           "XComRefusedError: the policy would evict XComs; nothing written", outcome)
    assert not outcome["ok"] and outcome["error"] == "XComRefusedError", outcome
    assert "allkeys-lru" in outcome["message"] and "noeviction" in outcome["message"], outcome
    assert redis_guards["left"] == {}, "a refused push left a key"


def test_a_redis_that_never_answers_fails_the_push_within_the_timeout(redis_guards, report):
    outcome = redis_guards["hung"]
    record(report, "Redis accepts and never answers (paused)", redis_guards["backend"],
           "XComStoreError after [xcomlab] store_timeout (2 s)", outcome)
    assert_store_error(outcome, "'return_value' of task 'hung'", "did not answer in time", "store_timeout")
    assert outcome["elapsed_s"] < 30, f"the push waited {outcome['elapsed_s']:.0f} s for a 2-second timeout"
