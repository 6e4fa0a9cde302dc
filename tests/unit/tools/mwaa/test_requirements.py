"""requirements.txt against the pins MWAA applies, read as pip reads it."""

import pytest

from xcomlab_tools.mwaa import requirements

LOCK = "boto3==1.40.0\n    # via x\napache-airflow-providers-amazon[s3fs]==9.39.0\nPyYAML==6.0.2\n"
ESSENTIAL = "# critical to MWAA's image\napache-airflow==3.3.1\ncelery==5.6.3\n"


def check(tmp_path, text, python_version="3.12", essential=None, files=None):
    for name, content in {"requirements.txt": text, "lock.txt": LOCK, **(files or {})}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    if essential is not None:
        (tmp_path / "essential.txt").write_text(essential)
    return requirements.conflicts(tmp_path / "requirements.txt", tmp_path / "lock.txt", "2.11.2",
                                  essential=tmp_path / "essential.txt" if essential is not None else None,
                                  python_version=python_version)


def test_compatible_requirements_pass(tmp_path):
    assert check(tmp_path, "# comment\nboto3\napache-airflow-providers-amazon>=9\npyyaml==6.0.2\nhumanize==4.9.0\n") == []


def test_a_version_the_constraints_exclude_is_named_with_its_line(tmp_path):
    found = check(tmp_path, "humanize\nboto3>=1.41  # newer please\n")
    assert found == [
        "requirements.txt line 2: 'boto3>=1.41' conflicts with boto3==1.40.0, which MWAA's constraints for "
        "Airflow 2.11.2 force: drop the version or pick one they allow"
    ]


def test_names_are_compared_normalised(tmp_path):
    assert len(check(tmp_path, "pyyaml<6\nApache_Airflow_Providers_Amazon==8.0\n")) == 2


def test_own_constraints_line_means_mwaa_forces_none(tmp_path):
    assert check(tmp_path, "-c https://example.invalid/constraints.txt\nboto3>=2\n") == []


@pytest.mark.parametrize("line", ["--constraint=https://example.invalid/c.txt", "-c=https://example.invalid/c.txt"])
def test_a_constraint_written_with_equals_does_not_lift_mwaas_constraints(tmp_path, line):
    # MWAA's check looks for "-c " or "--constraint " only
    assert any("conflicts with boto3==1.40.0, which MWAA's constraints" in f
               for f in check(tmp_path, f"{line}\nboto3>=2\n"))


def test_a_commented_out_constraint_lifts_mwaas_constraints_as_mwaa_reads_it(tmp_path):
    assert check(tmp_path, "# -c nothing\nboto3>=2\n") == []
    assert requirements.has_own_constraints("# --constraint https://x\n")


def test_a_conflict_in_an_included_file_names_that_file_and_line(tmp_path):
    found = check(tmp_path, "humanize\n-r extra/more.txt\n", files={
        "extra/more.txt": "--requirement base.txt\n",  # relative to extra/, as pip resolves it
        "extra/base.txt": "requests\n\nboto3>=1.41\n",
    })
    assert found == [
        "extra/base.txt line 3: 'boto3>=1.41' conflicts with boto3==1.40.0, which MWAA's constraints for "
        "Airflow 2.11.2 force: drop the version or pick one they allow"
    ]


def test_an_include_cycle_is_refused(tmp_path):
    found = check(tmp_path, "-r other.txt\n", files={"other.txt": "-r requirements.txt\n"})
    assert found == [
        "other.txt line 1: '-r requirements.txt': requirements.txt recursively references itself "
        "(requirements.txt -> other.txt -> requirements.txt): pip refuses the file, so nothing in it is installed"
    ]


def test_a_missing_include_names_its_line(tmp_path):
    assert check(tmp_path, "boto3\n-r missing.txt\n") == [
        "requirements.txt line 2: '-r missing.txt': Could not open requirements file missing.txt (pip stops there, "
        "so nothing in requirements.txt is installed)"
    ]


def test_a_local_constraints_file_replaces_the_forced_pins(tmp_path):
    assert check(tmp_path, "-c mine.txt\nboto3>=1.41\n", files={"mine.txt": "boto3==1.42.0\n"}) == []
    assert check(tmp_path, "-c mine.txt\nboto3>=1.41\n", files={"mine.txt": "boto3==1.39.0\n"}) == [
        "requirements.txt line 2: 'boto3>=1.41' conflicts with boto3==1.39.0, which mine.txt line 1 pins (the "
        "file's own constraints)"
    ]


def test_markers_are_evaluated_for_mwaas_linux_and_python(tmp_path):
    text = ('boto3>=2; python_version < "3.12"\n'
            'pyyaml<6; sys_platform == "win32"\n'
            'apache-airflow-providers-amazon<9; platform_machine == "x86_64" and python_version >= "3.12"\n')
    assert [f.split(":")[0] for f in check(tmp_path, text, python_version="3.12")] == ["requirements.txt line 3"]
    assert [f.split(":")[0] for f in check(tmp_path, text, python_version="3.11")] == ["requirements.txt line 1"]


def test_an_essential_pin_cannot_be_overridden_even_with_own_constraints(tmp_path):
    found = check(tmp_path, "-c https://example.invalid/constraints.txt\nboto3>=2\ncelery==5.5.0\n",
                  essential=ESSENTIAL)
    assert found == [
        "requirements.txt line 3: 'celery==5.5.0' conflicts with celery==5.6.3, which MWAA's essential constraints "
        "pin (they apply even when the file has its own -c). MWAA logs: ERROR: pip installation exited with a "
        "non-zero error code. This could be the result of package conflict. Notice that MWAA enforces a list of "
        "critical packages, e.g. Airflow, Celery, among others, whose version cannot be overridden by the customer "
        "as that can break our setup. Please double check your requirements.txt file."
    ]
    assert check(tmp_path, "celery\napache-airflow==3.3.1\n", essential=ESSENTIAL) == []


def test_pip_options_urls_and_hashes_are_not_findings(tmp_path):
    text = ("--index-url https://pypi.example/simple\n"
            "--extra-index-url=https://token@extra.example/simple\n"
            "--find-links /usr/local/airflow/plugins\n"
            "--trusted-host extra.example\n"
            "-e git+https://github.com/example/pkg.git#egg=pkg\n"
            "mypkg @ https://example.invalid/mypkg-1.0-py3-none-any.whl\n"
            "https://example.invalid/other-1.0-py3-none-any.whl\n"
            "./local_package\n"
            "humanize==4.9.0 --hash=sha256:abc --hash=sha256:def\n")
    assert check(tmp_path, text) == []


def test_continued_lines_are_joined_and_named_by_their_first_line(tmp_path):
    found = check(tmp_path, "humanize\nboto3>=1.41,\\\n    <2 \\\n    --hash=sha256:abc\n")
    assert [f.split(" conflicts")[0] for f in found] == ["requirements.txt line 2: 'boto3>=1.41,    <2'"]


def test_garbage_line_is_reported(tmp_path):
    assert "is not a requirement" in check(tmp_path, "boto3 ===== 1\n")[0]
