"""`make lint` on a plain deployment's .env, with this version's Airflow and providers: the tutorial's two
variables that Airflow silently ignores (a dot in the name; a misspelt option) are both caught, and the
corrected file passes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xcomlab_harness import sandbox

pytestmark = pytest.mark.e2e

PROVIDER = "AIRFLOW__CORE__XCOM_BACKEND=airflow.providers.common.io.xcom.backend.XComObjectStorageBackend\n" \
           "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH=s3://xcom_s3@xcom/xcom\n"
TUTORIAL = PROVIDER + "AIRFLOW__COMMON.IO__XCOM_OBJECTSTORAGE_THRESHOLD=1000\n" \
                      "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORE_COMPRESSION=gzip\n"
CORRECTED = PROVIDER + "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD=1000\n" \
                       "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION=gzip\n"


def make_lint(path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, sandbox.__file__, "lint", str(path)], capture_output=True, text=True,
                          timeout=300)


def test_the_tutorials_variables_are_flagged_and_the_corrected_file_passes(stack, tmp_path):
    tutorial, corrected = tmp_path / "tutorial.env", tmp_path / "corrected.env"
    tutorial.write_text(TUTORIAL)
    corrected.write_text(CORRECTED)
    flagged = make_lint(tutorial)
    out = " ".join(flagged.stdout.split())
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr[-2000:]
    assert "tutorial.env: AIRFLOW__COMMON.IO__XCOM_OBJECTSTORAGE_THRESHOLD: a variable name with a dot" in out
    assert "fix: write AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD" in out
    assert "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORE_COMPRESSION: no such option" in out
    assert "did you mean AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_COMPRESSION" in out
    passed = make_lint(corrected)
    assert passed.returncode == 0 and "0 finding(s)" in passed.stdout, passed.stdout + passed.stderr[-2000:]
