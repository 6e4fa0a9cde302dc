"""MWAA's package sets: the data in compose/mwaa-packages/ says what MWAA says, names where it came from, is
refreshed from a checkout of amazon-mwaa-docker-images, and docs/mwaa.md's table is what it renders."""

from __future__ import annotations

import subprocess

import pytest

from xcomlab_harness.stack import mwaa_packages
from xcomlab_harness.stack.mwaa_packages import BOM, CONSTRAINTS, ESSENTIAL, FILES, nearest, package_set, refresh

MWAA_RUNS = ["2.9.2", "2.10.1", "2.10.3", "2.11.0", "2.11.2", "3.0.6", "3.2.1", "3.3.1"]


def test_every_mwaa_version_has_its_three_files_with_a_header_naming_the_commit():
    commit = mwaa_packages.source()["commit"]
    folders = sorted(p.name for p in mwaa_packages.DATA.iterdir() if p.is_dir())
    assert sorted(mwaa_packages.mwaa_versions()) == folders
    assert set(MWAA_RUNS) <= set(folders)
    for version in folders:
        for name, where in FILES.items():
            head = (mwaa_packages.DATA / version / name).read_text().split(mwaa_packages.HEADER_END)[0]
            assert f"commit: {commit}" in head, f"{version}/{name}"
            assert f"path: images/airflow/{version}/{where.format(version=version)}" in head, f"{version}/{name}"


def test_mwaa_331_pins_what_mwaa_pins():
    found = package_set("3.3.1")
    assert found.constraints["apache-airflow-providers-common-io"] == "1.8.0"
    assert found.constraints["pandas"] == "3.0.5"
    assert found.essential["apache-airflow"] == "3.3.1"
    assert found.essential["flask-appbuilder"] == "5.2.2"  # canonical names: the file says flask-appbuilder
    assert found.bom["apache-airflow-providers-common-io"] == "1.8.0"
    assert "pandas" not in found.bom  # the image has no pandas: requirements.txt brings it


@pytest.mark.parametrize("python", list(mwaa_packages.LOCK_PYTHONS))
@pytest.mark.parametrize("airflow", MWAA_RUNS)
def test_mwaa_modes_lock_installs_mwaas_pins_except_those_named(airflow, python):
    """The image lock equals MWAA's constraints for every package both list, but for the pins named: those left
    free on this Python differ and are marked in the constraints MWAA mode forces; an override keeps MWAA's pin
    there, so a requirements.txt needing it fails as on MWAA."""
    mwaa = mwaa_packages.plain_pins(mwaa_packages.DATA / airflow / CONSTRAINTS)
    lock = mwaa_packages.plain_pins(mwaa_packages.lock_file(airflow, python))
    free = mwaa_packages.left_free(airflow, python)
    assert {n for n in set(lock) & set(mwaa) if lock[n] != mwaa[n]} == set(mwaa_packages.named(airflow, python))
    assert mwaa_packages.plain_pins(mwaa_packages.DATA / airflow / BOM).items() <= lock.items()  # MWAA's image, all of it
    lock_text = mwaa_packages.lock_file(airflow, python).read_text()
    assert mwaa_packages.freeze_mismatches(airflow, python, lock_text) == []
    assert len(mwaa_packages.differences(airflow, python)) == len(mwaa_packages.named(airflow, python))
    forced = mwaa_packages.forced_constraints_file(airflow, python).read_text()
    for name in free:
        assert f"{name}=={lock[name]}  # differs from MWAA: {name}=={mwaa[name]}" in forced
    for name in mwaa_packages.overrides(airflow):
        assert mwaa_packages.plain_pins(mwaa_packages.forced_constraints_file(airflow, python))[name] == mwaa[name]


def test_331_on_python_311_names_numpy_and_scipy():
    assert mwaa_packages.differences("3.3.1", "3.11") == [
        "numpy 2.4.6 (MWAA pins 2.5.1: numpy 2.5 requires Python >= 3.12)",
        "scipy 1.17.1 (MWAA pins 1.18.0: scipy 1.18 requires Python >= 3.12)"]
    assert mwaa_packages.differences("3.3.1", "3.12") == []


def test_306_overrides_msal_that_mwaas_own_azure_kusto_pin_rules_out():
    """MWAA 3.0.6 pins azure-kusto-data 5.0.5, whose wheel requires msal>=1.34.0b1, and msal 1.33.0: the azure
    provider the sandbox's stores need installs only with msal overridden, on both Pythons."""
    for python in mwaa_packages.LOCK_PYTHONS:
        assert [d.split(" (")[0] for d in mwaa_packages.differences("3.0.6", python)] == ["msal 1.34.0"]
        assert mwaa_packages.plain_pins(mwaa_packages.lock_file("3.0.6", python))["azure-kusto-data"] == "5.0.5"


def test_a_freeze_that_strays_from_mwaas_pins_is_named():
    lock = mwaa_packages.lock_file("2.11.2", "3.11").read_text()
    strayed = lock.replace("apache-airflow-providers-common-io==1.7.1", "apache-airflow-providers-common-io==1.11.0")
    assert mwaa_packages.freeze_mismatches("2.11.2", "3.11", strayed + "xcom-lab-backend @ file:///opt/x\n") == [
        "apache-airflow-providers-common-io 1.11.0 (MWAA: 1.7.1)"]


@pytest.mark.parametrize("version, python", [("2.9.2", "3.11.9"), ("2.10.3", "3.11.9"), ("2.11.0", "3.12.10"),
                                             ("3.3.1", "3.12.13")])
def test_python_is_the_one_mwaa_builds(version, python):
    assert package_set(version).python == python


@pytest.mark.parametrize("version, expected", [("3.3.2", ["3.3.1"]), ("2.10.2", ["2.10.1", "2.10.3"]),
                                               ("3.1.0", ["3.0.6", "3.2.1"]), ("2.8.0", ["2.9.2"]),
                                               ("3.3.1", ["3.3.1"])])
def test_nearest_names_the_versions_mwaa_runs(version, expected):
    assert nearest(version) == expected


def test_a_version_mwaa_does_not_run_is_refused_with_the_nearest():
    with pytest.raises(KeyError, match="3.3.1"):
        package_set("3.3.2")


def test_the_docs_table_is_what_the_data_renders():
    assert mwaa_packages.table() in mwaa_packages.DOC.read_text()


def test_refresh_rewrites_a_stale_docs_table_and_nothing_around_it(tmp_path):
    doc = tmp_path / "mwaa.md"
    text = mwaa_packages.DOC.read_text()
    doc.write_text(text.replace("| 3.3.1 | 3.12.13 | 1.8.0 |", "| 3.3.1 | 3.12.13 | 1.7.0 |"))
    assert mwaa_packages.update_doc(doc)
    assert doc.read_text() == text


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def write_version(repo, version, pandas="2.1.4", python="3.12.10"):
    folder = repo / "images/airflow" / version
    for name, where in FILES.items():
        (folder / where.format(version=version)).parent.mkdir(parents=True, exist_ok=True)
    (folder / FILES[CONSTRAINTS]).write_text(f"# Airflow's\n\napache-airflow=={version}\npandas=={pandas}\n")
    (folder / FILES[ESSENTIAL]).write_text(f"apache-airflow=={version}\nFlask-Babel==2.0.0\n")
    (folder / FILES[BOM].format(version=version)).write_text(
        "This Docker image includes the following third-party software/licensing:\n"
        f"apache-airflow\n{version}\nApache-2.0\nhttps://airflow.apache.org/\nUNKNOWN\n\nLicense text\n\n"
        "UNKNOWN\nUNKNOWN\n\n"
        "Flask-Babel\n2.0.0\nBSD\nUNKNOWN\n/site-packages/flask_babel-2.0.0.dist-info/LICENSE\nBSD text\nUNKNOWN\n"
        "UNKNOWN\n")
    (folder / "Dockerfile.base.j2").write_text(f"FROM amazonlinux\nENV PYTHON_VERSION={python}\n")


@pytest.fixture
def images(tmp_path):
    repo = tmp_path / "amazon-mwaa-docker-images"
    repo.mkdir()
    git(repo, "init", "--quiet")
    write_version(repo, "9.0.1", python="3.11.9")
    write_version(repo, "9.1.0")
    (repo / "images/airflow/generate-dockerfiles.py").write_text("")
    git(repo, "add", ".")
    git(repo, "commit", "--quiet", "-m", "two versions")
    return repo


def test_refresh_writes_every_version_of_the_checkout(images, tmp_path):
    data = tmp_path / "data"
    changes = refresh(images, data)
    assert changes == [
        "9.0.1: new (Python 3.11.9, 2 constraints, 2 essential pins, 2 packages in the image)",
        "9.1.0: new (Python 3.12.10, 2 constraints, 2 essential pins, 2 packages in the image)",
    ]
    assert mwaa_packages.mwaa_versions(data) == ["9.0.1", "9.1.0"]
    commit = git(images, "rev-parse", "HEAD")
    assert mwaa_packages.source(data)["commit"] == commit
    for name, where in FILES.items():
        written = (data / "9.1.0" / name).read_bytes()
        original = (images / "images/airflow/9.1.0" / where.format(version="9.1.0")).read_bytes()
        if name == BOM:  # the packages it lists, without their licence texts
            assert written.endswith(mwaa_packages.BOM_HEADER_END.encode() + b"apache-airflow==9.1.0\nflask-babel==2.0.0\n")
        else:
            assert written.endswith(mwaa_packages.HEADER_END.encode() + original)
        assert f"# commit: {commit} (".encode() in written
    found = package_set("9.1.0", data)
    assert (found.python, found.constraints, found.essential, found.bom) == (
        "3.12.10", {"apache-airflow": "9.1.0", "pandas": "2.1.4"}, {"apache-airflow": "9.1.0", "flask-babel": "2.0.0"},
        {"apache-airflow": "9.1.0", "flask-babel": "2.0.0"})
    assert refresh(images, data) == []  # nothing changed


def test_refresh_from_a_bare_git_dir_reports_what_changed(images, tmp_path):
    data = tmp_path / "data"
    refresh(images, data)
    old = git(images, "rev-parse", "HEAD")
    write_version(images, "9.1.0", pandas="3.0.5")
    write_version(images, "9.2.0", python="3.12.13")
    git(images, "rm", "--quiet", "-r", "images/airflow/9.0.1")
    git(images, "add", ".")
    git(images, "commit", "--quiet", "-m", "next")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(images), str(bare)], check=True)
    new = git(images, "rev-parse", "HEAD")

    changes = refresh(bare, data)

    assert changes[0].startswith(f"source: {old[:12]} (") and f"-> {new[:12]} (" in changes[0]
    assert changes[1:] == [
        "9.0.1: removed (no longer in images/airflow/)",
        "9.1.0 airflow_constraints.txt: pandas 2.1.4 -> 3.0.5",
        "9.2.0: new (Python 3.12.13, 2 constraints, 2 essential pins, 2 packages in the image)",
    ]
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == ["9.1.0", "9.2.0"]


def test_refresh_of_something_else_says_so_and_writes_nothing(tmp_path, capsys):
    assert mwaa_packages.main(["refresh", str(tmp_path)]) == 2
    assert str(tmp_path) in capsys.readouterr().err
    assert mwaa_packages.main(["refresh", ""]) == 2
    assert "MWAA_IMAGES=" in capsys.readouterr().err
