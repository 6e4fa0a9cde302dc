"""`make bench`: how long the sandbox takes and what it costs at rest, on this machine.

Measures a warm `make up` (stack already running), a backend switch to each backend, and the CPU and memory
the running stack uses at rest (from the containers' cgroups), then writes reports/bench-stack.md.
Not a test: numbers vary with the machine; docs/measured.md records the ones measured on the reference machine.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from xcomlab_harness.stack.paths import ROOT  # noqa: E402
from xcomlab_harness.stack.settings import backends, load_settings  # noqa: E402

REST_SECONDS = 60
CGROUP_CPU = Path("/sys/fs/cgroup/cpuacct/docker")  # cgroup v1, as on Debian's docker.io here


def timed_up(backend: str) -> float:
    start = time.monotonic()
    subprocess.run(["make", "--no-print-directory", "up", f"BACKEND={backend}"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def container_ids() -> list[str]:
    out = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project=xcom-lab"],
                         capture_output=True, text=True, check=True).stdout
    return out.split()


def cpu_ns(cid: str) -> int:
    path = CGROUP_CPU / cid / "cpuacct.usage"
    if not path.exists():
        sys.exit(f"no cgroup v1 CPU accounting at {path}: this benchmark reads cgroup v1 (Debian's docker.io)")
    return int(path.read_text())


def memory_mib() -> float:
    out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", *container_ids()],
                         capture_output=True, text=True, check=True).stdout
    units = {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}
    total = 0.0
    for line in out.splitlines():
        used = line.split("/")[0].strip()
        number, unit = used[:-3], used[-3:]
        total += float(number) * units[unit]
    return total


def main() -> None:
    settings = load_settings()
    rows = [("warm `make up` (stack running, nothing changed)", f"{timed_up(settings['BACKEND']):.1f} s")]
    for backend in [b for b in backends() if b != settings["BACKEND"]] + [settings["BACKEND"]]:
        rows.append((f"switch to BACKEND={backend}", f"{timed_up(backend):.1f} s"))
    time.sleep(15)  # let the switched components settle
    ids = container_ids()
    before = {cid: cpu_ns(cid) for cid in ids}
    time.sleep(REST_SECONDS)
    used = sum(cpu_ns(cid) - before[cid] for cid in ids)
    rows.append((f"CPU at rest ({len(ids)} containers, {REST_SECONDS} s)", f"{used / (REST_SECONDS * 1e9) * 100:.1f} % of one core"))
    rows.append(("memory at rest", f"{memory_mib() / 1024:.2f} GiB"))
    report = "| measure | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in rows) + "\n"
    (ROOT / "reports").mkdir(exist_ok=True)
    (ROOT / "reports" / "bench-stack.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
