"""The backend's own code as `make check` ran it (xcomlab_harness.own_code): the lines each scenario ran, told
in the files the user keeps, whether BACKEND_SRC is a single module, a folder of modules, a package or an
installed project; and every file of it with what never ran. Real coverage.py data files in tmp_path."""

import pytest
from coverage import CoverageData

from xcomlab_harness.own_code import OwnCode, statements
from xcomlab_harness.stack import backend_coverage
from xcomlab_harness.verdict import PASS, ScenarioResult

MODULE = '''"""My S3 XCom backend."""
import json

from airflow.sdk.bases.xcom import BaseXCom


class S3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, **kwargs):
        if len(json.dumps(value)) > 1000:
            return upload(value)
        return BaseXCom.serialize_value(value)

    @staticmethod
    def purge(xcom, session=None):
        delete(xcom)
'''
SITE_PACKAGES = "/home/airflow/.local/lib/python3.12/site-packages"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(backend_coverage, "HOST_DIR", tmp_path / "check-coverage")
    (tmp_path / "check-coverage" / "data").mkdir(parents=True)
    return tmp_path / "check-coverage" / "data"


def processes_ran(data_dir, lines: dict[str, list[int]], name: str = "task.12.ab") -> None:
    data = CoverageData(basename=str(data_dir / f".coverage.{name}"))
    data.add_lines(lines)
    data.write()


def scenario(own: OwnCode, scenario_id: str) -> ScenarioResult:
    result = ScenarioResult(scenario_id, PASS, "")
    own.record(result)
    return result


def write(path, text: str = "x = 1\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_single_module_gets_the_lines_each_scenario_ran_and_its_source(tmp_path, data_dir):
    module = write(tmp_path / "work" / "my_xcom.py", MODULE)
    own = OwnCode({"XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(module)})
    processes_ran(data_dir, {"/opt/airflow/plugins/my_xcom.py": [2, 4, 7, 8, 9, 10, 12],
                             f"{SITE_PACKAGES}/airflow/models/xcom.py": [40, 41]})  # not the user's
    assert scenario(own, "toy").lines_run == {"my_xcom.py": [2, 4, 7, 8, 9, 10, 12]}
    processes_ran(data_dir, {"/opt/airflow/plugins/my_xcom.py": [14, 15, 16]}, name="scheduler.3.cd")
    assert scenario(own, "delete").lines_run == {"my_xcom.py": [14, 15, 16]}
    [source] = own.sources()
    assert (source.path, source.lines) == ("my_xcom.py", MODULE.splitlines())
    assert source.run == [2, 4, 7, 8, 9, 10, 12, 14, 15, 16]  # every scenario's
    assert 11 in source.statements and 11 not in source.run  # the upload never ran: the report shows it


def test_in_mwaa_mode_the_lines_come_from_where_mwaa_deploys_plugins(tmp_path, data_dir):
    """`make check MWAA=1`: MWAA's entrypoint copies the bucket's plugins/ to /usr/local/airflow/plugins."""
    (tmp_path / "pkg").mkdir()
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "backend.py", MODULE)
    own = OwnCode({"XCOM_BACKEND": "pkg.backend.S3XComBackend", "BACKEND_SRC": str(tmp_path / "pkg"), "MWAA": "1"})
    processes_ran(data_dir, {"/usr/local/airflow/plugins/pkg/backend.py": [2, 4],
                             "/opt/airflow/plugins/pkg/backend.py": [9]})  # not where MWAA mode runs it
    assert scenario(own, "toy").lines_run == {"backend.py": [2, 4]}


def test_a_scenario_that_ran_none_of_the_backend_has_no_lines(tmp_path, data_dir):
    module = write(tmp_path / "my_xcom.py", MODULE)
    own = OwnCode({"XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(module)})
    assert scenario(own, "pickle").lines_run == {}
    assert own.sources()[0].run == []


def test_a_folder_of_modules_is_told_by_file_and_lists_the_backend_and_what_ran(tmp_path, data_dir):
    folder = tmp_path / "plugins_src"
    write(folder / "my_xcom.py", MODULE)
    write(folder / "helpers.py", "def upload(value):\n    return value\n")
    write(folder / "unrelated_plugin.py")
    own = OwnCode({"XCOM_BACKEND": "my_xcom.S3XComBackend", "BACKEND_SRC": str(folder)})
    processes_ran(data_dir, {"/opt/airflow/plugins/my_xcom.py": [2, 4], "/opt/airflow/plugins/helpers.py": [1, 2]})
    assert scenario(own, "toy").lines_run == {"helpers.py": [1, 2], "my_xcom.py": [2, 4]}
    assert [s.path for s in own.sources()] == ["helpers.py", "my_xcom.py"]  # not the folder's other modules


def test_a_package_lists_every_file_even_those_never_imported(tmp_path, data_dir):
    package = tmp_path / "acme_xcom"
    write(package / "__init__.py", "")
    write(package / "backend.py", MODULE)
    write(package / "cleanup" / "__init__.py", "")
    write(package / "cleanup" / "orphans.py", "def find():\n    return []\n")
    own = OwnCode({"XCOM_BACKEND": "acme_xcom.backend.S3XComBackend", "BACKEND_SRC": str(package)})
    processes_ran(data_dir, {"/opt/airflow/plugins/acme_xcom/__init__.py": [],
                             "/opt/airflow/plugins/acme_xcom/backend.py": [2, 4]})
    assert scenario(own, "toy").lines_run == {"__init__.py": [], "backend.py": [2, 4]}
    sources = {s.path: s for s in own.sources()}
    assert sorted(sources) == ["__init__.py", "backend.py", "cleanup/__init__.py", "cleanup/orphans.py"]
    assert sources["cleanup/orphans.py"].run == [] and sources["cleanup/orphans.py"].statements == [1, 2]


def test_an_installed_src_layout_project_maps_site_packages_back_to_src(tmp_path, data_dir):
    project = tmp_path / "acme-xcom"
    write(project / "pyproject.toml", '[project]\nname = "acme-xcom"\n')
    write(project / "src" / "acme_xcom" / "__init__.py", "")
    write(project / "src" / "acme_xcom" / "backend.py", MODULE)
    own = OwnCode({"XCOM_BACKEND": "acme_xcom.backend.S3XComBackend", "BACKEND_SRC": str(project)})
    processes_ran(data_dir, {f"{SITE_PACKAGES}/acme_xcom/backend.py": [2, 4, 7],
                             f"{SITE_PACKAGES}/acme_xcom/gone_since.py": [1]})  # not in the user's tree
    assert scenario(own, "toy").lines_run == {"src/acme_xcom/backend.py": [2, 4, 7]}
    assert [s.path for s in own.sources()] == ["src/acme_xcom/__init__.py", "src/acme_xcom/backend.py"]


def test_a_built_in_backend_is_not_measured(tmp_path, data_dir):
    own = OwnCode({"BACKEND": "xcomlab-s3"})
    processes_ran(data_dir, {f"{SITE_PACKAGES}/xcomlab/objectstorage.py": [1, 2]})
    assert scenario(own, "toy").lines_run is None  # not measured, unlike {} (measured, nothing ran)
    assert own.sources() == []


def test_statements_are_the_executable_lines_not_comments_or_blank_ones(tmp_path):
    module = write(tmp_path / "m.py", "# a comment\n\nx = 1\nif x:\n    y = (1,\n         2)\n")
    assert statements(module) == {3, 4, 5}


def test_a_file_the_hosts_python_cannot_parse_still_shows_its_source(tmp_path, data_dir):
    package = tmp_path / "acme_xcom"
    write(package / "__init__.py", "")
    write(package / "backend.py", MODULE)
    write(package / "legacy_py2.py", 'print "the old backend"\n')
    own = OwnCode({"XCOM_BACKEND": "acme_xcom.backend.S3XComBackend", "BACKEND_SRC": str(package)})
    sources = {s.path: s for s in own.sources()}
    assert sorted(sources) == ["__init__.py", "backend.py", "legacy_py2.py"]
    assert sources["legacy_py2.py"].lines == ['print "the old backend"']
