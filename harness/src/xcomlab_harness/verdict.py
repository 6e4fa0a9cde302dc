"""What `make check` concludes about one backend on one Airflow version: the data every report renders.

The JSON form (`Verdict.to_json()`, reports/check-<name>-<version>.json) is documented in docs/check.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "n/a"
# A store scenario whose run never reached the backend's store path proves nothing: not a pass.
NOT_EXERCISED = "not exercised"
# The harness itself broke (an exception in xcom-lab's code): never the backend's failure.
ERROR = "error"
STATUSES = (PASS, FAIL, NOT_APPLICABLE, NOT_EXERCISED, ERROR)


@dataclass
class Detail:
    """One item's own outcome inside a scenario (one type of `types`, one shape of `shapes`)."""
    item: str
    status: str  # pass or fail (n/a: not tried)
    evidence: str = ""


@dataclass
class ScenarioResult:
    id: str  # e.g. "toy", "types"
    status: str  # pass, fail or n/a
    evidence: str  # one line: what was observed
    fix: str = ""  # one line, when the failure matches a known pattern
    seconds: float = 0.0
    cause: str = ""  # a failure: the id of its root cause in Verdict.causes (shared by the scenarios it blocks)
    details: list[Detail] = field(default_factory=list)  # one outcome per item, e.g. per type for `types`
    lines_run: dict[str, list[int]] | None = None  # SourceFile.path -> its lines this scenario ran (None: not measured)
    traceback: str = ""  # an error: the harness's traceback

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"scenario {self.id}: status {self.status!r} is not one of {', '.join(STATUSES)}")


@dataclass
class Landing:
    xcom: str  # dag_id/run_id/task_id[map_index]/key
    store: str  # "metadata DB", or s3://bucket, gs://bucket, abfs://container, redis://db<N>, file://<service>
    key: str  # the row, or the object's key/path in the store
    size: int  # bytes as stored
    format: str  # sniffed: json, parquet, csv, pickle, gzip+json, ... ("text", "binary" otherwise)
    scenario: str = ""


@dataclass
class Leftover:
    """Something a scenario left behind that no XCom row names: an object in a store or a file in a container."""
    store: str  # as in Landing, or the container: "container airflow-scheduler"
    key: str  # object key, or the file's path
    size: int
    format: str
    scenario: str  # the scenario during which it appeared
    why: str = ""  # e.g. "no row names it", "file in /tmp of the task's container"


@dataclass
class RootCause:
    """Failures that share one cause, told once: the first failure's evidence and fix, every scenario it blocked."""
    id: str  # "cause-1", ...
    title: str  # short: the fix pattern's id or the error's class
    evidence: str
    fix: str
    scenarios: list[str] = field(default_factory=list)
    fix_id: str = ""  # the known fix's id (xcomlab_harness.fixes), "" when the evidence matched none


@dataclass
class SourceFile:
    """One file of the backend's own code, as coverage.py measured it across every component and task."""
    path: str  # as the user knows it: relative to BACKEND_SRC (or the module's file name)
    lines: list[str]  # the source text, line by line
    statements: list[int]  # executable lines
    run: list[int]  # lines that ran in any scenario


@dataclass
class Layer:
    """What the check found behind a wall: the scenarios re-run on a copy of the backend with mechanical fixes
    applied (xcomlab_harness.patches), the user's own files untouched."""
    fixed: list[str]  # the titles of the causes this layer's patch removed, e.g. ["keyword signature"]
    patch: str  # unified diff of the copy this layer ran against the user's files (all fixes so far)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    causes: list[RootCause] = field(default_factory=list)


@dataclass
class Verdict:
    backend: str  # the class, module.Class
    name: str  # the report name (reports/check-<name>-<version>.*)
    airflow_version: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    landings: list[Landing] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)
    causes: list[RootCause] = field(default_factory=list)
    offload: str = ""  # what makes this backend offload, one line from the shapes scenario ("": it did not run)
    sources: list[SourceFile] = field(default_factory=list)
    layers: list[Layer] = field(default_factory=list)  # fix-forward: what fails after each mechanical fix, in order
    patch: str = ""  # the mechanical fixes of every layer as one unified diff against the user's files
    mwaa: str = ""  # judged in MWAA mode: the package set the components ran ("": the sandbox's own lock)

    @property
    def label(self) -> str:
        """The version as reports show it: `3.3.1`, or `3.3.1 (MWAA)` beside it."""
        return f"{self.airflow_version} (MWAA)" if self.mwaa else self.airflow_version

    @property
    def slug(self) -> str:
        """The version as report files and HTML ids name it: `3.3.1`, or `3.3.1-mwaa`."""
        return f"{self.airflow_version}-mwaa" if self.mwaa else self.airflow_version

    @property
    def failed(self) -> list[ScenarioResult]:
        return [s for s in self.scenarios if s.status == FAIL]

    def cause(self, cause_id: str) -> RootCause | None:
        return next((c for c in self.causes if c.id == cause_id), None)

    def scenario(self, scenario_id: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.id == scenario_id), None)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        return cls(
            backend=data["backend"], name=data["name"], airflow_version=data["airflow_version"],
            scenarios=[_scenario(s) for s in data.get("scenarios", [])],
            landings=[Landing(**x) for x in data.get("landings", [])],
            leftovers=[Leftover(**x) for x in data.get("leftovers", [])],
            causes=[RootCause(**x) for x in data.get("causes", [])],
            offload=data.get("offload", ""),
            sources=[SourceFile(**x) for x in data.get("sources", [])],
            layers=[Layer(fixed=x["fixed"], patch=x["patch"], scenarios=[_scenario(s) for s in x.get("scenarios", [])],
                          causes=[RootCause(**c) for c in x.get("causes", [])]) for x in data.get("layers", [])],
            patch=data.get("patch", ""),
            mwaa=data.get("mwaa", ""),
        )


def _scenario(data: dict) -> ScenarioResult:
    return ScenarioResult(**dict(data, details=[Detail(**d) for d in data.get("details", [])]))


def exit_code(verdicts: list[Verdict], environ: dict[str, str]) -> int:
    """make check's exit status: 2 when a scenario could not run, 1 when one failed or (unless allowed) was not
    exercised, else 0."""
    statuses = {s.status for v in verdicts for s in v.scenarios}
    if ERROR in statuses:
        return 2
    if FAIL in statuses or (NOT_EXERCISED in statuses and environ.get("ALLOW_UNEXERCISED") != "1"):
        return 1
    return 0
