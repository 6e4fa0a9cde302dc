"""requirements.txt against the constraints MWAA forces."""

from xcomlab.mwaa import requirements

LOCK = "boto3==1.40.0\n    # via x\napache-airflow-providers-amazon[s3fs]==9.39.0\nPyYAML==6.0.2\n"


def check(tmp_path, text):
    (tmp_path / "requirements.txt").write_text(text)
    (tmp_path / "lock.txt").write_text(LOCK)
    return requirements.conflicts(tmp_path / "requirements.txt", tmp_path / "lock.txt", "2.11.2")


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
    assert requirements.has_own_constraints("# --constraint https://x\n")


def test_garbage_line_is_reported(tmp_path):
    assert "is not a requirement" in check(tmp_path, "boto3 ===== 1\n")[0]
