"""What `make check` concludes about one backend on one Airflow version: the data every report renders.

The JSON form (`Verdict.to_json()`, reports/check-<name>-<version>.json) is documented in docs/check.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "n/a"
STATUSES = (PASS, FAIL, NOT_APPLICABLE)


@dataclass
class ScenarioResult:
    id: str  # e.g. "toy", "types"
    status: str  # pass, fail or n/a
    evidence: str  # one line: what was observed
    fix: str = ""  # one line, when the failure matches a known pattern
    seconds: float = 0.0

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
class Verdict:
    backend: str  # the class, module.Class
    name: str  # the report name (reports/check-<name>-<version>.*)
    airflow_version: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    landings: list[Landing] = field(default_factory=list)
    leftovers: list[Leftover] = field(default_factory=list)

    @property
    def failed(self) -> list[ScenarioResult]:
        return [s for s in self.scenarios if s.status == FAIL]

    def scenario(self, scenario_id: str) -> ScenarioResult | None:
        return next((s for s in self.scenarios if s.id == scenario_id), None)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Verdict:
        return cls(
            backend=data["backend"], name=data["name"], airflow_version=data["airflow_version"],
            scenarios=[ScenarioResult(**s) for s in data.get("scenarios", [])],
            landings=[Landing(**x) for x in data.get("landings", [])],
            leftovers=[Leftover(**x) for x in data.get("leftovers", [])],
        )
