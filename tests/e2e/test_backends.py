"""The backend matrix: for each backend, run the DAGs in dags/ and check from outside Airflow, with each
store's own client, where every value landed and that it is what was pushed.

Small values must be the literal value in the metadata DB row; big ones an object (or Redis key, or
file) whose bytes decode to the pushed value, named by the backend's layout under its configured path
(compose/backends/): the provider's <path>/<dag_id>/<run_id>/<task_id>/<uuid4>[.<codec>], xcomlab's
xcomlab:ref:<path>/<dag_id>/<run_id>/<task_id>/<map_index>/<key><suffix>.
Which backends exist and what each is (store, family, upstream bugs expected strictly) comes from the
manifests compose/backends/<name>.toml. Where the provider's backend is known to be wrong, the report records
what it did (known differences) and the test asserts that xcomlab's backends get it right.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import re
import tomllib
from dataclasses import dataclass

import pandas as pd
import pytest
from report import Row
from xcomlab import codec
from xcomlab.threshold import serialized_size, stays_in_db
from xcomlab_harness.stack.paths import COMPOSE_DIR
from xcomlab_harness.stack.project import backend_environment
from xcomlab_harness.stack.settings import airflow_major, load_settings, version_folder

pytestmark = pytest.mark.e2e

# The DAGs (dags/<id>.py) and what they push.
TOY, THRESHOLD, CODECS, TASKFLOW, RETRY, REFUSED, DATAFRAME, PURGE = (
    "xcom_push_pull", "xcom_threshold", "xcom_codecs", "xcom_taskflow", "xcom_retry", "xcom_refused", "xcom_dataframe",
    "xcom_purge")
TOY_PUSHED = {"small_obj": {"a": 23}, "big_obj": {f"key{i}": "x" * 100 for i in range(100)}}
CODEC_VALUE = {"codec test": ["Zürich", "Pune", "x" * 2000]}
CODECS_PUSHED = ("gzip", "bz2", "lzma")  # map index -> codec, as xcom_codecs expands them
DECOMPRESS = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress, "lzma": lzma.decompress}  # fsspec's too
XCOMLAB_CODEC_SUFFIXES = {name: re.escape(codec.json_suffix(name)) for name in CODECS_PUSHED}
PROVIDER_CODEC_SUFFIXES = {"gzip": r"\.gz", "bz2": r"\.bz2", "lzma": r"\.(xz|lzma)"}  # fsspec's names
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}"
MAPPED = 11  # xcom_taskflow's square tasks


@dataclass(frozen=True)
class Backend:
    """One built-in backend, from its manifest compose/backends/<name>.toml."""
    name: str
    store: str | None = None  # key of the `stores` fixture; None = everything in the DB
    xcomlab: bool = False  # xcom-lab's backend, else Airflow's (db) or the common-io provider's
    known: tuple = ()  # (major, case, why, strict): upstream bugs the e2e expects ([e2e.known]; [e2e.flaky]: some runs)

    @classmethod
    def from_manifest(cls, path) -> "Backend":
        with path.open("rb") as f:
            spec = tomllib.load(f)
        known = tuple((int(major), case, why, table == "known") for table in ("known", "flaky")
                      for major, cases in spec.get("e2e", {}).get(table, {}).items() for case, why in cases.items())
        return cls(path.stem, spec.get("store"), spec["family"] == "xcomlab", known)

    def expect_known_failure(self, request, case: str, major: int) -> bool:
        """Marks the test an expected failure when the manifest lists the case as an upstream bug: strict for
        [e2e.known] (a fix upstream fails the run), not for [e2e.flaky] (a bug that shows in some runs only)."""
        for known_major, known_case, why, strict in self.known:
            if (known_major, known_case) == (major, case):
                request.applymarker(pytest.mark.xfail(reason=f"{self.name}: {why}", strict=strict))
                return True
        return False

    @property
    def dags(self) -> tuple[str, ...]:
        if self.store is None:
            return TOY, THRESHOLD, TASKFLOW
        if not self.xcomlab:
            return TOY, THRESHOLD, TASKFLOW, CODECS, RETRY
        return TOY, THRESHOLD, TASKFLOW, CODECS, RETRY, REFUSED, DATAFRAME, PURGE

    def base_pattern(self, settings: dict[str, str]) -> str:
        """Regex of what every reference starts with: the configured path (localfs: any host)."""
        env = backend_environment(settings, self.name)
        if "AIRFLOW__XCOMLAB__REDIS_PREFIX" in env:
            return re.escape(f"redis://{env['AIRFLOW__XCOMLAB__REDIS_CONN_ID']}/{env['AIRFLOW__XCOMLAB__REDIS_PREFIX']}")
        if "AIRFLOW__XCOMLAB__LOCALFS_PATH" in env:
            return "file://[^/]+" + re.escape(env["AIRFLOW__XCOMLAB__LOCALFS_PATH"])
        return re.escape(env["AIRFLOW__XCOMLAB__OBJECTSTORAGE_PATH" if self.xcomlab else
                             "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"])

    def reference_pattern(self, settings, dag_id, run_id, task_id, key="return_value", map_index=-1,
                          suffix: str | None = None) -> re.Pattern:
        """xcomlab: xcomlab:ref:<path>/<dag>/<run>/<task>/<map_index>/<key><suffix>; provider: <path>/<dag>/<run>/<task>/<uuid4>[.codec]."""
        prefix = self.base_pattern(settings) + re.escape(f"/{dag_id}/{run_id}/{task_id}/")
        if self.xcomlab:
            return re.compile("xcomlab:ref:" + prefix + re.escape(f"{map_index}/{key}") + (suffix or r"\.json"))
        return re.compile(prefix + UUID + (suffix or ""))


BACKENDS = [Backend.from_manifest(path) for path in sorted((COMPOSE_DIR / "backends").glob("*.toml"))]
# The provider's and xcomlab's folder in each store, under this version's own folder.
FOLDERS = tuple(f"{version_folder(load_settings())}/{name}" for name in ("xcom", "xcomlab"))


@dataclass
class Runs:
    backend: Backend
    run_ids: dict[str, str]  # dag_id -> run_id
    states: dict[str, str]  # dag_id -> final state


@pytest.fixture(scope="module", params=BACKENDS, ids=lambda b: b.name)
def runs(request, stack, airflow) -> Runs:
    """Switch the stack to the backend, run its DAGs at once, wait until all have ended."""
    backend = request.param
    stack.switch_task_side(backend.name)
    for dag_id in backend.dags:
        airflow.wait_for_dag(dag_id)
    run_ids = {dag_id: airflow.trigger(dag_id) for dag_id in backend.dags}
    return Runs(backend, run_ids, {dag_id: airflow.wait_for_end(dag_id, run_id) for dag_id, run_id in run_ids.items()})


def needs(runs: Runs, dag_id: str, *, xcomlab_only: bool = False) -> str:
    """The run id of dag_id on this backend; skips backends the case does not apply to."""
    if xcomlab_only and not runs.backend.xcomlab:
        pytest.skip(f"a case for xcom-lab's backends, not {runs.backend.name}")
    if dag_id not in runs.backend.dags:
        pytest.skip(f"{dag_id} does not apply to {runs.backend.name}")
    return runs.run_ids[dag_id]


def assert_succeeded(runs: Runs, airflow, dag_id: str) -> str:
    run_id = needs(runs, dag_id)
    assert runs.states[dag_id] == "success", f"{dag_id} on {runs.backend.name}: {airflow.explain(dag_id, run_id)}"
    return run_id


def error_in_log(airflow, dag_id: str, run_id: str, task_id: str) -> str:
    """The exception line of a failed task's log (Airflow 3: structured events; 2.x: a traceback)."""
    lines = airflow.failed_task_log(dag_id, run_id, task_id).splitlines()
    errors = [line.strip() for line in lines if re.match(r"\s*\w+(Error|Exception): ", line)]
    return errors[-1] if errors else f"{task_id} failed"


def run_listing(store, dag_id: str, run_id: str, task_id: str = "") -> dict[str, int]:
    """Every object of the run (or of one task) in the store, under either backend's folder."""
    suffix = f"{task_id}/" if task_id else ""
    return {name: size for folder in FOLDERS for name, size in store.list(f"{folder}/{dag_id}/{run_id}/{suffix}").items()}


def check_landing(runs, settings, stores, report, dag_id, run_id, task_id, key, row, pushed, *, map_index=-1,
                  suffix=None, decode=json.loads, offloaded=None, label=None) -> None:
    """The row holds the pushed value when the threshold keeps it inline (unless `offloaded` says), else a
    reference (in the backend's layout) to an object that decodes to it."""
    backend, label = runs.backend, label or f"{dag_id}/{key}" + (f"[{map_index}]" if map_index >= 0 else "")
    if offloaded is None:
        offloaded = not stays_in_db(serialized_size(pushed), int(settings["XCOM_THRESHOLD"]))
    if backend.store is None or not offloaded:
        report.add(Row(backend.name, label, "metadata DB", serialized_size(row), f"xcom row ({task_id}, {key})", row == pushed))
        assert row == pushed, f"{label} should be the literal value in the DB row, got {row!r:.80}"
        return
    assert isinstance(row, str), f"{label} should be a reference string in the DB row, got {row!r:.80}"
    pattern = backend.reference_pattern(settings, dag_id, run_id, task_id, key, map_index, suffix)
    assert pattern.fullmatch(row), f"{label}: unexpected key layout {row} (expected {pattern.pattern})"
    store = stores[backend.store]
    name = store.name_of(row.removeprefix("xcomlab:ref:"))
    listed = run_listing(store, dag_id, run_id)
    assert name in listed, f"{row} is not in {backend.store}: it holds {sorted(listed)}"
    stored = decode(store.read(name))
    report.add(Row(backend.name, label, f"{backend.store} object", listed[name], row, stored == pushed))
    assert stored == pushed, f"the object {row} does not decode to the pushed value"


# --- the toy DAG: a small and a big value ------------------------------------------------------------

@pytest.mark.parametrize("key", TOY_PUSHED)
def test_value_lands_where_the_threshold_says(runs, airflow, metadata_db, key, settings, stores, report):
    run_id = assert_succeeded(runs, airflow, TOY)
    row = metadata_db.xcom_values(TOY, run_id, "push_objects")[key]
    check_landing(runs, settings, stores, report, TOY, run_id, "push_objects", key, row, TOY_PUSHED[key])


def test_objects_only_in_the_configured_store(runs, airflow, stores, settings):
    """One object per offloaded value in the configured store; nothing for this run anywhere else."""
    run_id = assert_succeeded(runs, airflow, TOY)
    threshold = int(settings["XCOM_THRESHOLD"])
    offloaded = [k for k, v in TOY_PUSHED.items() if runs.backend.store and not stays_in_db(serialized_size(v), threshold)]
    for name, store in stores.items():
        listed = run_listing(store, TOY, run_id)
        expected = len(offloaded) if name == runs.backend.store else 0
        assert len(listed) == expected, f"{name} holds {sorted(listed)} for this run; expected {expected} object(s)"


# --- threshold boundary, codecs, mapped tasks --------------------------------------------------------

def test_threshold_boundary_t_minus_1_t_t_plus_1(runs, airflow, metadata_db, settings, stores, report):
    """ASCII and non-ASCII values measuring T-1, T and T+1 bytes (as the backend measures them)."""
    run_id = assert_succeeded(runs, airflow, THRESHOLD)
    rows = metadata_db.xcom_values(THRESHOLD, run_id, "push_sizes")
    threshold = int(settings["XCOM_THRESHOLD"])
    assert sorted(rows) == sorted(f"{kind}_{threshold + d}" for kind in ("ascii", "non_ascii") for d in (-1, 0, 1))
    for key, row in sorted(rows.items()):
        size = int(key.rsplit("_", 1)[1])
        pushed = row if stays_in_db(size, threshold) or runs.backend.store is None else None
        if pushed is None:  # offloaded: the object holds the value; its measured size must be the key's
            pushed = json.loads(stores[runs.backend.store].read(stores[runs.backend.store].name_of(row.removeprefix("xcomlab:ref:"))))
        assert serialized_size(pushed) == size, f"{key} measures {serialized_size(pushed)} bytes"
        assert ("é" in pushed) is key.startswith("non_ascii")
        check_landing(runs, settings, stores, report, THRESHOLD, run_id, "push_sizes", key, row, pushed)


def test_every_compression_codec(runs, airflow, metadata_db, settings, stores, report, request):
    """Each codec's object carries its suffix and decompresses, outside Airflow, to the pushed value."""
    run_id = needs(runs, CODECS)
    rows = metadata_db.mapped_values(CODECS, run_id, "push")
    assert sorted(rows) == list(range(len(CODECS_PUSHED)))
    if runs.backend.expect_known_failure(request, "compression", airflow_major(settings)):
        store = stores[runs.backend.store]
        listed = run_listing(store, CODECS, run_id)
        written = sum(store.name_of(row) in listed for row in rows.values())
        pulled = "every value came back equal" if runs.states[CODECS] == "success" else \
            error_in_log(airflow, CODECS, run_id, "check")[:200]
        report.add_known_difference(runs.backend.name, "compression (gzip, bz2, lzma)",
                                    f"{written} of {len(rows)} referenced objects exist; the pull: {pulled}")
    assert_succeeded(runs, airflow, CODECS)
    suffixes = XCOMLAB_CODEC_SUFFIXES if runs.backend.xcomlab else PROVIDER_CODEC_SUFFIXES
    for index, codec_name in enumerate(CODECS_PUSHED):
        decompress = DECOMPRESS[rows[index].rsplit(".", 1)[-1]]
        check_landing(runs, settings, stores, report, CODECS, run_id, "push", "return_value", rows[index],
                      CODEC_VALUE, map_index=index, suffix=suffixes[codec_name], offloaded=True, label=f"{CODECS}/{codec_name}",
                      decode=lambda data: json.loads(decompress(data)))


def test_mapped_tasks_land_as_one_object_each(runs, airflow, stores):
    run_id = needs(runs, TASKFLOW)
    if runs.backend.store is None:
        pytest.skip("db keeps every value in its row")
    listed = sorted(run_listing(stores[runs.backend.store], TASKFLOW, run_id, "square"))
    assert len(listed) == MAPPED, f"expected {MAPPED} objects for square[0..{MAPPED - 1}], got {listed}"
    if runs.backend.xcomlab:
        assert [name.split("/")[-2] for name in listed] == sorted(str(i) for i in range(MAPPED))


# --- where the provider is known to be wrong -----------------------------------------------------------

def test_small_json_looking_strings_come_back_as_strings(runs, airflow, settings, report, request):
    """xcom_taskflow returns "123", "null", ... and fails unless they come back as the same strings."""
    run_id = needs(runs, TASKFLOW)
    if runs.backend.expect_known_failure(request, "json-strings", airflow_major(settings)):
        observed = "strings came back as the same strings" if runs.states[TASKFLOW] == "success" else \
            error_in_log(airflow, TASKFLOW, run_id, "check")[:200]
        report.add_known_difference(runs.backend.name, "small JSON-looking strings", observed)
    assert_succeeded(runs, airflow, TASKFLOW)


def test_a_retry_leaves_one_object_per_xcom(runs, airflow, stores):
    """xcom_retry's task pushes two XComs on each of three tries (two fail): xcomlab keeps exactly two objects."""
    run_id = assert_succeeded(runs, airflow, RETRY)
    listed = run_listing(stores[runs.backend.store], RETRY, run_id, "flaky")
    if not runs.backend.xcomlab:  # uuid objects: Airflow purges the earlier tries' (common-io 1.11.0)
        assert len(listed) == 2, f"{len(listed)} objects for 2 XComs: the earlier tries' were not purged"
        return
    assert sorted(name.rsplit("/", 1)[1] for name in listed) == ["attempt.json", "return_value.json"], listed


# --- refused values and a lost object (xcomlab's backends) ---------------------------------------------

REFUSALS = {  # task -> what its error must say
    "push_raw_bytes": r"XCom 'return_value' of task 'push_raw_bytes' .* raw bytes \(6 bytes\) are not an XCom value.*base64",
    "push_unserializable": r"XCom 'return_value' of task 'push_unserializable' .* a dict is not serialisable.*never pickles",
    "push_too_big_for_redis": r"XCom 'too_big' of task 'push_too_big_for_redis' .* is 536870913 bytes, over the "
                              r"536870912-byte limit .*XComObjectStorageBackend",
    "pull_lost": r"XCom 'lost' of task 'push_then_lose' .* references .* which does not exist.*Clear task 'push_then_lose'",
}


@pytest.mark.parametrize("task_id", REFUSALS)
def test_refused_values_fail_the_task_with_a_clear_message_and_write_nothing(runs, airflow, metadata_db, stores, task_id):
    run_id = needs(runs, REFUSED, xcomlab_only=True)
    states = airflow.task_states(REFUSED, run_id)
    if task_id == "push_too_big_for_redis" and runs.backend.name != "redis":
        assert states[task_id] == "skipped"
        return
    assert states[task_id] == "failed", f"{task_id} should have failed: {states}"
    assert states["push_then_lose"] == "success", airflow.explain(REFUSED, run_id)
    log = airflow.failed_task_log(REFUSED, run_id, task_id)
    assert re.search(REFUSALS[task_id], " ".join(log.split()), re.S), f"{task_id}'s log lacks the expected message:\n{log}"
    if task_id.startswith("push_"):
        assert metadata_db.xcom_values(REFUSED, run_id, task_id) == {}, "a refused value left a DB row"
        assert run_listing(stores[runs.backend.store], REFUSED, run_id, task_id) == {}, "a refused value left an object"


# --- purge and the UI view (xcomlab's backends) --------------------------------------------------------

def test_deleting_an_xcom_deletes_its_object(runs, airflow, metadata_db, stores):
    run_id = needs(runs, PURGE, xcomlab_only=True)
    assert_succeeded(runs, airflow, PURGE)
    assert metadata_db.xcom_values(PURGE, run_id, "push_and_delete") == {}
    assert run_listing(stores[runs.backend.store], PURGE, run_id) == {}, "the deleted XCom's object is still there"


def test_ui_shows_the_reference(runs, airflow, metadata_db, stores, settings):
    """The XCom view (REST xcomEntries): 2.x shows `<url> (<size> bytes)` (orm_deserialize_value); 3.x the row."""
    run_id = needs(runs, TOY, xcomlab_only=True)
    row = metadata_db.xcom_values(TOY, run_id, "push_objects")["big_obj"]
    shown = airflow.xcom_entry(TOY, run_id, "push_objects", "big_obj")
    if airflow_major(settings) >= 3:
        assert shown == row
        return
    store, url = stores[runs.backend.store], row.removeprefix("xcomlab:ref:")
    size = store.list(store.name_of(url))[store.name_of(url)]
    assert shown == f"{url} ({size} bytes)"


# --- DataFrames --------------------------------------------------------------------------------------

def test_dataframes_are_parquet_objects_pandas_opens(runs, airflow, settings, stores, metadata_db):
    run_id = needs(runs, DATAFRAME, xcomlab_only=True)
    assert_succeeded(runs, airflow, DATAFRAME)  # `report` checks values, dtypes and index inside Airflow
    row = metadata_db.xcom_values(DATAFRAME, run_id, "extract")["return_value"]
    assert runs.backend.reference_pattern(settings, DATAFRAME, run_id, "extract", suffix=r"\.parquet").fullmatch(row), row
    store = stores[runs.backend.store]
    data = store.read(store.name_of(row.removeprefix("xcomlab:ref:")))
    assert data[:4] == b"PAR1", f"{row} is not a parquet file"
    frame = pd.read_parquet(io.BytesIO(data))
    assert frame.index.name == "reading_id" and len(frame) == 1000
    assert isinstance(frame["city"].dtype, pd.CategoricalDtype)
    assert str(frame["at"].dt.tz) == "UTC"
