"""`make bench BASELINE=...`: which ratios count as regressions, given the noise each run measured."""

from __future__ import annotations

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("bench_sizes", Path(__file__).parents[3] / "bench" / "sizes.py")
sizes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sizes)


def row(backend="redis", size=1_000_000, ratio=1.1, push=0.05, pull=0.05, spread=0.005):
    return {"backend": backend, "size_bytes": size, "ratio": ratio, "push_s": push, "pull_s": pull, "spread_s": spread}


def test_a_ratio_worse_beyond_both_runs_noise_is_flagged_with_backend_size_and_both_ratios():
    assert sizes.regressions([row(ratio=1.5)], [row(ratio=1.1)]) == [
        "redis at 1.0 MB: 1.50x raw, was 1.10x (noise 10%)"]


def test_a_change_within_the_measured_noise_is_not_a_regression():
    noisy = row(ratio=1.3, spread=0.03)  # 30 % spread of a 0.1 s round trip
    assert sizes.regressions([noisy], [row(ratio=1.1)]) == []


def test_better_ratios_and_rows_the_baseline_lacks_are_not_regressions():
    assert sizes.regressions([row(ratio=0.9), row(backend="localfs", ratio=9)], [row(ratio=1.1)]) == []


def measured(backend, size, ratio, with_codec, push=2.0, pull=2.0, codec=1.5):
    return {"backend": backend, "kind": "json", "size_bytes": size, "ratio": ratio, "ratio_with_codec": with_codec,
            "overhead_push_bytes": push * size, "overhead_pull_bytes": pull * size, "overhead_codec_bytes": codec * size}


def test_targets_judge_each_of_xcomlabs_backends_by_its_worst_size():
    rows = [measured("xcomlab-s3", 1_000_000, 1.1, 0.9), measured("xcomlab-s3", 16_000_000, 3.0, 1.1, push=4.0),
            measured("xcomlab-s3", 64_000, 1.4, 1.3), measured("redis", 64_000, 1.6, 1.2),
            measured("s3", 16_000_000, 9.0, 2.0, push=9.0)]
    assert sizes.targets(rows)[2:] == [
        "| xcomlab-s3 | 3.00 ✗ | 1.10 ✓ | 1.40 ✓ | 1.30 ✓ | 4.00 ✗ | 2.00 ✓ |",
        "| redis | – | – | 1.60 ✗ | 1.20 ✓ | – | – |",
    ]  # the provider's s3 row is not judged: the targets are xcom-lab's
