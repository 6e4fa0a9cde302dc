"""`make bench`: every backend (compose/backends/*.env) × JSON sizes against the store's own limit, memory included.

Runs bench/xcom_sizes.py in the running scheduler once per backend, with that backend's env and a
threshold of 0 (every size goes to the store), and writes reports/bench.json and reports/bench-sizes.md.
QUICK=1: three sizes, one repetition. Ratios are the result: absolute times depend on the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from xcomlab_harness.stack.paths import ROOT
from xcomlab_harness.stack.project import backend_environment
from xcomlab_harness.stack.settings import backends, load_settings

SIZES = [1_000, 64_000, 1_000_000, 16_000_000, 128_000_000, "dataframe"]
QUICK_SIZES = [1_000, 1_000_000, 16_000_000]
SCRIPT = Path(__file__).with_name("xcom_sizes.py")
REPORTS = ROOT / "reports"
# Every size goes to the store: the matrix measures the store, not the threshold.
THRESHOLD_ZERO = {"AIRFLOW__XCOMLAB__THRESHOLD": "0", "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "0"}
SMALL_THRESHOLD = {"AIRFLOW__XCOMLAB__THRESHOLD": "1000", "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD": "1000"}


def rows_of(backend: str, settings, sizes: list, reps: int, small: bool = False) -> list[dict]:
    """The matrix's rows for one backend (threshold 0), or its small values' row (the stack's threshold)."""
    # db.env sets no backend: empty means Airflow's own BaseXCom, whatever the stack runs.
    env = {"AIRFLOW__CORE__XCOM_BACKEND": "", **backend_environment(settings, backend),
           **(SMALL_THRESHOLD if small else THRESHOLD_ZERO), "BENCH_BACKEND": backend,
           "BENCH_SIZES": "" if small else ",".join(map(str, sizes)), "BENCH_REPS": str(reps),
           "BENCH_SMALL": "1" if small else "0"}
    flags = [part for key, value in env.items() for part in ("-e", f"{key}={value}")]
    command = [sys.executable, str(ROOT / "harness/src/xcomlab_harness/sandbox.py"), "compose", "exec",
               "-T", *flags, "airflow-scheduler", "python", "-"]
    with SCRIPT.open() as script:
        done = subprocess.run(command, stdin=script, capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        sys.exit(f"bench: BACKEND={backend} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def megabytes(n: float) -> str:
    return f"{n / 1e6:.1f}" if n >= 1e5 else f"{n / 1e6:.3f}"


COLUMNS = ("backend", "size (MB)", "push (s)", "pull (s)", "raw put (s)", "raw get (s)", "encode + decode (s)",
           "× raw", "× raw + codec", "spread (s)", "stored (MB)", "peak RSS push / pull (MB)", "beyond the value: push / pull / encode alone (× size)")


def table(rows: list[dict]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "| --- |" + " ---: |" * (len(COLUMNS) - 1)]
    for r in rows:
        size = megabytes(r["size_bytes"]) + (" DataFrame" if r["kind"] == "dataframe" else "")
        cells = [r["backend"], size, *(f"{r[k]:.4f}" for k in (
                 "push_s", "pull_s", "raw_push_s", "raw_pull_s", "codec_s")), f"{r['ratio']:.2f}",
                 f"{r['ratio_with_codec']:.2f}", f"{r['spread_s']:.4f}", megabytes(r["stored_bytes"]),
                 f"{megabytes(r['peak_rss_push_bytes'])} / {megabytes(r['peak_rss_pull_bytes'])}",
                 " / ".join(overhead(r, step) for step in ("push", "pull", "codec"))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def small_table(rows: list[dict]) -> list[str]:
    """Per-XCom cost of values that stay in the row, against the DB's own INSERT + SELECT and the db backend."""
    db = next((r for r in rows if r["backend"] == "db"), None)
    lines = ["| backend | push (ms) | pull (ms) | raw INSERT + SELECT (ms) | × raw | × the db backend |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        versus_db = f"{(r['push_s'] + r['pull_s']) / (db['push_s'] + db['pull_s']):.2f}" if db else "–"
        lines.append(f"| {r['backend']} | {r['push_s'] * 1e3:.2f} | {r['pull_s'] * 1e3:.2f} | "
                     f"{(r['raw_push_s'] + r['raw_pull_s']) * 1e3:.2f} | {r['ratio']:.2f} | {versus_db} |")
    return lines


def overhead(row: dict, step: str) -> str:
    """What a push or pull needs beyond the idle task and the value it holds, in multiples of its size (from
    1 MB: below, the process's own noise is larger than the value)."""
    return "–" if row["size_bytes"] < 500_000 else f"{times(row, step):.1f}"


XCOMLAB = ("xcomlab-", "redis", "localfs")  # xcom-lab's own backends, which the targets are about
# (column, limit, rows it judges, the value judged): the targets. Memory from 16 MB: below, the
# allocator's own steps are larger than the value.
TARGETS = [
    ("× raw from 1 MB (≤ 1.2)", 1.2, lambda r: r["size_bytes"] >= 500_000, lambda r: r["ratio"]),
    ("× raw + codec from 1 MB (≤ 1.2)", 1.2, lambda r: r["size_bytes"] >= 500_000, lambda r: r["ratio_with_codec"]),
    ("× raw at 64 KB (≤ 1.5)", 1.5, lambda r: 30_000 <= r["size_bytes"] < 500_000, lambda r: r["ratio"]),
    ("× raw + codec at 64 KB (≤ 1.5)", 1.5, lambda r: 30_000 <= r["size_bytes"] < 500_000, lambda r: r["ratio_with_codec"]),
    ("push RSS beyond the value, × size (≤ 2.5)", 2.5, lambda r: r["size_bytes"] >= 10_000_000, lambda r: times(r, "push")),
    ("pull RSS beyond the value, × size (≤ 2.5)", 2.5, lambda r: r["size_bytes"] >= 10_000_000, lambda r: times(r, "pull")),
]


def targets(rows: list[dict]) -> list[str]:
    """The targets for each of xcom-lab's backends: the worst JSON size's value, ✓ when met, ✗ when missed."""
    ours = [r for r in rows if r["kind"] == "json" and r["backend"].startswith(XCOMLAB)]
    lines = ["| backend | " + " | ".join(column for column, *_ in TARGETS) + " |",
             "| --- |" + " ---: |" * len(TARGETS)]
    for backend in dict.fromkeys(r["backend"] for r in ours):
        cells = []
        for _, limit, judged, value in TARGETS:
            mine = [value(r) for r in ours if r["backend"] == backend and judged(r)]
            cells.append(f"{max(mine):.2f} {'✓' if max(mine) <= limit else '✗'}" if mine else "–")
        lines.append(f"| {backend} | " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else []


def times(row: dict, step: str) -> float:
    return max(0, row[f"overhead_{step}_bytes"]) / row["size_bytes"]


def regressions(rows: list[dict], baseline: list[dict]) -> list[str]:
    """Ratios worse than the baseline's by more than the noise both runs measured (their relative spreads)."""
    before = {(r["backend"], r.get("kind"), r["size_bytes"]): r for r in baseline}
    found = []
    for row in rows:
        old = before.get((row["backend"], row.get("kind"), row["size_bytes"]))
        if old is None:
            continue
        noise = max(0.05, relative_spread(row) + relative_spread(old))
        if row["ratio"] > old["ratio"] * (1 + noise):
            found.append(f"{row['backend']} at {megabytes(row['size_bytes'])} MB: {row['ratio']:.2f}x raw, was "
                         f"{old['ratio']:.2f}x (noise {noise:.0%})")
    return found


def relative_spread(row: dict) -> float:
    return row["spread_s"] / max(row["push_s"] + row["pull_s"], 1e-9)


def plot(rows: list[dict], path: Path) -> None:
    """Round-trip time vs size, log-log: one line per backend, its store's raw limit dashed in the same colour."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(9, 6))
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = sorted((r for r in rows if r["backend"] == backend and r["kind"] == "json"), key=lambda r: r["size_bytes"])
        sizes = [r["size_bytes"] for r in mine]
        line, = axes.plot(sizes, [r["push_s"] + r["pull_s"] for r in mine], marker="o", label=backend)
        axes.plot(sizes, [r["raw_push_s"] + r["raw_pull_s"] for r in mine], linestyle="--", color=line.get_color())
    axes.set(xscale="log", yscale="log", xlabel="JSON value (bytes)", ylabel="push + pull (s)",
             title="XCom round trip by size; dashed: the same bytes raw with the store's own client")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.savefig(path, dpi=110, bbox_inches="tight")


def measure_all(quick: bool) -> list[dict]:
    settings = load_settings()
    sizes, reps = (QUICK_SIZES, 1) if quick else (SIZES, 5)
    chosen = os.environ.get("BACKENDS", "").split(",") if os.environ.get("BACKENDS") else backends()
    rows = []
    for backend in chosen:
        print(f"bench: BACKEND={backend}, {len(sizes)} sizes × {reps}", file=sys.stderr, flush=True)
        rows += rows_of(backend, settings, sizes, reps)
        if not quick:
            rows += rows_of(backend, settings, [], reps, small=True)
    return rows


def report_of(rows: list[dict], version: str, minutes: float | None) -> list[str]:
    reps = max(r["reps"] for r in rows if r["kind"] != "small")
    report = [f"# XCom push + pull by size (Airflow {version})", "",
              f"JSON records through each backend, threshold 0 (every size goes to the store); median of {reps}. "
              "× raw = (push + pull) / (raw put + raw get) of the same bytes with the store's own client library "
              "(boto3, azure-storage-blob, google-cloud-storage, redis-py, files; the DB: INSERT + SELECT). "
              "× raw + codec adds one encode + decode of the value (json.dumps + loads; the DataFrame: to_parquet + "
              "read_parquet), which no XCom of it can skip. "
              "Peak RSS of a forked task that pushes or pulls; beyond the value = (peak − idle RSS − the value's own "
              "Python objects) / size; encode alone = json.dumps (to_parquet) of the value in the same way.", "",
              *table([r for r in rows if r["kind"] != "small"])]
    report += ["", "Targets, for xcom-lab's backends: the worst JSON size of each (✓ met, ✗ missed).", "",
               *targets(rows)]
    small = [r for r in rows if r["kind"] == "small"]
    if small:
        report += ["", f"{small[0]['count']:,} small values ({small[0]['size_bytes']} bytes of JSON, under the "
                   "threshold: they stay in the row), per XCom, median of 5 batches:", "", *small_table(small)]
    if minutes is not None:
        report += ["", f"This matrix{' (QUICK=1)' if reps == 1 else ''} took {minutes:.1f} min."]
    return [*report, "", "![push + pull by size](bench-latency.png)"]  # as docs/measured.md shows it


def main() -> None:
    started = time.monotonic()
    settings = load_settings()
    saved = os.environ.get("BENCH_JSON")  # re-render a saved run's tables and plot without measuring
    rows = json.loads(Path(saved).read_text()) if saved else measure_all(os.environ.get("QUICK") == "1")
    REPORTS.mkdir(exist_ok=True)
    if not saved:
        (REPORTS / "bench.json").write_text(json.dumps(rows, indent=1))
    minutes = None if saved else (time.monotonic() - started) / 60
    report = report_of(rows, settings.version, minutes)
    plot(rows, REPORTS / "bench-latency.png")
    (REPORTS / "bench-sizes.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))
    if os.environ.get("BASELINE"):
        worse = regressions(rows, json.loads(Path(os.environ["BASELINE"]).read_text()))
        print("\n".join(["", f"Against {os.environ['BASELINE']}:", *worse] if worse else
                        ["", f"No ratio worse than {os.environ['BASELINE']}'s beyond the measured noise."]))
        sys.exit(1 if worse else 0)


if __name__ == "__main__":
    main()
