"""`make bench`: time to a `make check` verdict, and where it goes, on this machine (warm stack).

Checks two backends of tests/check_backends/ one after the other, twice each in alternation so each run
switches backends as a user's first run does: one that cannot push on Airflow 3 (old_signature) and the
correct one given as a single file. For each run: the whole command's wall time, the backend switch (the
`loads` scenario: recreating the Airflow components and probing them), and each scenario's seconds from the
check's own JSON report. Writes reports/bench-check.md (docs/measured.md's "Time to a `make check` verdict").
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
import tomllib

from xcomlab_harness import check
from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.settings import load_settings

BACKENDS = ROOT / "tests" / "check_backends"


def settings_of(folder: str, table: str | None = None) -> dict[str, str]:
    """make check's settings for a backend of tests/check_backends, from its manifest (or a table of it)."""
    spec = tomllib.loads((BACKENDS / folder / "manifest.toml").read_text())
    found = {**spec, **spec.get(table, {})} if table else spec
    settings = {"XCOM_BACKEND": found["xcom_backend"], "BACKEND_SRC": str(BACKENDS / folder / found["src"])}
    return settings | ({"BACKEND_ENV": str(BACKENDS / folder / spec["env"])} if spec.get("env") else {})


CASES = {"cannot push (old_signature)": settings_of("old_signature"),
         "works end to end (correct, one file)": settings_of("correct", "as_file")}
ROUNDS = 2


def timed_check(name: str, settings: dict[str, str]) -> dict:
    started = time.monotonic()
    subprocess.run(["make", "--no-print-directory", "check"], cwd=ROOT,
                   env=dict(os.environ, **settings, CHECK_NAME="bench-check"),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.monotonic() - started
    version = load_settings()["AIRFLOW_VERSION"]
    verdict = json.loads((ROOT / "reports" / f"check-bench-check-{version}.json").read_text())
    seconds = {s["id"]: s["seconds"] for s in verdict["scenarios"]}
    return {"wall": wall, "switch": seconds.get("loads", 0.0), "scenarios": seconds,
            "statuses": {s["id"]: s["status"] for s in verdict["scenarios"]}}


def main() -> None:
    runs = {name: [] for name in CASES}
    for _ in range(ROUNDS):
        for name, settings in CASES.items():
            runs[name].append(timed_check(name, settings))
    lines = ["# Time to a verdict", "",
             f"`make check` on one Airflow version, warm stack, each run switching backends (median of {ROUNDS}).", "",
             "| backend | whole command | backend switch (`loads`) | scenarios in turn | slowest scenarios |",
             "|---|---|---|---|---|"]
    for name, found in runs.items():
        # loads is the switch; mwaa-placement runs beside the others
        in_turn = [{k: v for k, v in run["scenarios"].items() if k not in ("loads", *check.ALONGSIDE)} for run in found]
        scenario_sum = [sum(run.values()) for run in in_turn]
        slowest = sorted(in_turn[-1].items(), key=lambda item: -item[1])[:4]
        lines.append(f"| {name} | {statistics.median(r['wall'] for r in found):.0f} s "
                     f"| {statistics.median(r['switch'] for r in found):.0f} s "
                     f"| {statistics.median(scenario_sum):.0f} s ({len(in_turn[-1])}) "
                     f"| {', '.join(f'{k} {v:.0f} s' for k, v in slowest)} |")
    lines += ["", "The rest of the whole command is `make`, the cached image build, the first scenario's wait for "
              "the restarted scheduler, and the reports; `mwaa-placement` runs beside the other scenarios."]
    (ROOT / "reports" / "bench-check.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
