"""Fix-forward's mechanical fixes (xcomlab_harness.patches): each one a minimal edit of the user's own text, on the
shapes backends are written in, left alone where it does not apply; a copy of BACKEND_SRC; and one unified diff
that `git apply` and `patch -p1` turn the user's files into the patched copy with."""

import inspect
import shutil
import subprocess

import pytest

from xcomlab_harness.patches import PATCHABLE, apply, copy_source, patch_text, unified_diff

OPTION = "airflow.exceptions.AirflowConfigException: section/key [core/enable_xcom_pickling] not found in config"
AIRFLOW_3_CALL = dict(key=None, task_id=None, dag_id=None, run_id=None, map_index=None)


def signature(text: str) -> str:
    return patch_text(text, "keyword-signature", "")


def option(text: str, evidence: str = OPTION) -> str:
    return patch_text(text, "removed-option", evidence)


def read_json(text: str) -> str:
    return patch_text(text, "pandas-read-json", "")


def callable_both_ways(source: str, name: str = "Backend") -> None:
    """Airflow 3's probe binds the keyword call; Airflow 2's shim calls it with the value alone."""
    namespace = {}
    exec(source, namespace)
    method = namespace[name].serialize_value
    inspect.signature(method).bind("value", **AIRFLOW_3_CALL)
    assert method(value="v", **AIRFLOW_3_CALL) == method(value="v") == "v"


def test_patchable_fixes():
    assert PATCHABLE == {"keyword-signature", "removed-option", "pandas-read-json"}


# --- keyword-signature ----------------------------------------------------------------------------------------

STATIC = '''class Backend(BaseXCom):
    @staticmethod
    def serialize_value(value):  # the Airflow 2 signature
        return value
'''


def test_a_one_argument_staticmethod_takes_kwargs_on_its_line():
    patched = signature(STATIC)
    assert patched == STATIC.replace("(value):", "(value, **kwargs):")
    callable_both_ways(patched.replace("(BaseXCom)", ""))


def test_an_annotated_classmethod_with_varargs():
    text = '''from typing import Any


class Backend:
    @classmethod
    def serialize_value(cls, value: Any, *args) -> Any:
        return value
'''
    patched = signature(text)
    assert patched == text.replace("*args)", "*args, **kwargs)")
    callable_both_ways(patched)


def test_a_multiline_signature_with_a_trailing_comma_gets_a_line_of_its_own():
    text = '''from typing import Any


class Backend:
    @classmethod
    def serialize_value(
        cls,
        value: Any,  # what the task returned
    ) -> Any:
        return value
'''
    patched = signature(text)
    assert patched == text.replace("returned\n", "returned\n        **kwargs,\n")
    callable_both_ways(patched)


def test_a_multiline_signature_without_a_trailing_comma_keeps_the_comment():
    text = '''class Backend:
    @staticmethod
    def serialize_value(
        value  # what the task returned
    ):
        return value
'''
    patched = signature(text)
    assert patched == text.replace("value  #", "value, **kwargs  #")
    callable_both_ways(patched)


def test_a_one_line_trailing_comma_and_a_default():
    text = ('class Backend:\n    @staticmethod\n'
            '    def serialize_value(value, encoding="utf-8",):\n        return value\n')
    patched = signature(text)
    assert patched == text.replace('"utf-8",)', '"utf-8", **kwargs)')
    callable_both_ways(patched)


def test_non_ascii_before_the_insertion_point():
    text = ('class Backend:\n    @staticmethod\n'
            '    def serialize_value(value, données="é"):  # café\n        return value\n')
    patched = signature(text)
    assert patched == text.replace('"é")', '"é", **kwargs)')
    callable_both_ways(patched)


def test_every_backend_class_of_a_module_and_nothing_else():
    text = STATIC + '''

class Other(Backend):
    @classmethod
    def serialize_value(cls, value):
        return value

    @staticmethod
    def deserialize_value(result):
        return result


def serialize_value(value):
    return value
'''
    patched = signature(text)
    assert patched == text.replace("(value):  #", "(value, **kwargs):  #").replace(
        "(cls, value)", "(cls, value, **kwargs)")
    callable_both_ways(patched.replace("(BaseXCom)", ""), "Other")


@pytest.mark.parametrize("params", ["value, **kwargs", "value, *, key=None, **_", "value, key=None, task_id=None",
                                    "cls, value, *, key, task_id, dag_id, run_id, map_index", "*args, **kwargs"])
def test_a_compatible_signature_is_left_alone(params):
    text = f"class Backend:\n    @staticmethod\n    def serialize_value({params}):\n        return value\n"
    assert signature(text) == text


def test_a_positional_only_key_or_a_kwargs_parameter_still_gets_a_double_star():
    text = "class Backend:\n    @staticmethod\n    def serialize_value(value, key, /): ...\n"
    assert signature(text) == text.replace("/)", "/, **kwargs)")
    text = "class Backend:\n    @staticmethod\n    def serialize_value(value, kwargs=None): ...\n"
    assert signature(text) == text.replace("None)", "None, **_kwargs)")


def test_signature_is_idempotent():
    once = signature(STATIC)
    assert once != STATIC and signature(once) == once


# --- removed-option -------------------------------------------------------------------------------------------

def test_getboolean_of_the_removed_option_gets_a_false_fallback():
    text = ('from airflow.configuration import conf\n\n'
            'PICKLING = conf.getboolean("core", "enable_xcom_pickling")  # 2.x\n')
    assert option(text) == text.replace('pickling")', 'pickling", fallback=False)')


def test_a_multiline_get_with_a_trailing_comma_and_any_case():
    text = '''import airflow.configuration

PICKLING = airflow.configuration.conf.get(
    "Core",
    'ENABLE_XCOM_PICKLING',  # removed in 3.0
)
'''
    assert option(text) == text.replace("3.0\n", "3.0\n    fallback=None,\n")


def test_a_dotted_section_and_every_call_of_the_option():
    evidence = "AirflowConfigException: section/key [common.io/xcom_objectstorage_path] not found in config"
    text = ('PATH = conf.get("common.io", "xcom_objectstorage_path")\n'
            'def path():\n    return conf.get("common.io", "xcom_objectstorage_path", suppress_warnings=True)\n')
    assert option(text, evidence) == text.replace('path")', 'path", fallback=None)').replace(
        "True)", "True, fallback=None)")


@pytest.mark.parametrize("text", [
    'conf.getboolean("core", "enable_xcom_pickling", fallback=True)\n',  # already has one
    'conf.getboolean("core", "enable_xcom_pickling", **options)\n',  # may have one
    'conf.getboolean("core", "dags_folder")\n',  # another option
    'conf.getboolean("scheduler", "enable_xcom_pickling")\n',  # another section
    'conf.has_option("core", "enable_xcom_pickling")\n',  # not a getter
    'conf.getboolean(SECTION, "enable_xcom_pickling")\n',  # not a literal
])
def test_option_left_alone(text):
    assert option(text) == text


def test_option_without_the_config_error_in_the_evidence_changes_nothing():
    text = 'conf.getboolean("core", "enable_xcom_pickling")\n'
    assert option(text, "KeyError: 'enable_xcom_pickling'") == text
    patched = option(text)
    assert patched != text and option(patched) == patched  # idempotent


# --- pandas-read-json -----------------------------------------------------------------------------------------

DATAFRAME = '''"""A DataFrame backend."""

from __future__ import annotations

import json  # stdlib

import pandas as pd


def load(text):
    return pd.read_json(text, orient="split")
'''


def test_read_json_of_a_string_gets_a_buffer_and_the_module_io():
    patched = read_json(DATAFRAME)
    assert patched == DATAFRAME.replace("import json", "import io\nimport json").replace(
        "read_json(text,", "read_json(io.StringIO(text),")
    assert read_json(patched) == patched  # idempotent


def test_read_json_with_io_imported_keeps_the_imports():
    text = DATAFRAME.replace("import json", "import io, json")
    assert read_json(text) == text.replace("read_json(text,", "read_json(io.StringIO(text),")


def test_every_shape_of_read_json_call():
    text = '''import io
from io import StringIO

import pandas
from pandas import read_json

a = pandas.read_json(
    payload.decode(),  # bytes from the store
    orient='split',
)
b = read_json('{"a": [1, 2]}')
c = frame.read_json(data)
d = pandas.read_json(StringIO(data))
e = pandas.read_json(io.BytesIO(raw))
f = pandas.read_json("s3://xcom/frame.json")
g = pandas.read_json(f"s3://{BUCKET}/{key}")
h = pandas.read_json(f"{text}")
'''
    assert read_json(text) == (text.replace("payload.decode()", "io.StringIO(payload.decode())")
                               .replace("""read_json('{"a": [1, 2]}')""", """read_json(io.StringIO('{"a": [1, 2]}'))""")
                               .replace("read_json(data)", "read_json(io.StringIO(data))")
                               .replace('read_json(f"{text}")', 'read_json(io.StringIO(f"{text}"))'))


def test_io_goes_after_the_docstring_when_the_module_imports_nothing():
    text = '"""Reads frames."""\n\n\ndef load(text):\n    return pd.read_json(text)\n'
    assert read_json(text) == text.replace('frames."""\n', 'frames."""\nimport io\n').replace(
        "(text)\n", "(io.StringIO(text))\n")
    text = "#!/usr/bin/env python\n@decorated\ndef load(text):\n    return pd.read_json(text)\n"
    assert read_json(text) == text.replace("@decorated", "import io\n@decorated").replace(
        "(text)\n", "(io.StringIO(text))\n")


def test_read_json_keeps_crlf_and_a_bom():
    text = "\ufeffimport pandas as pd\r\n\r\nframe = pd.read_json(text)\r\n"
    assert read_json(text) == ("\ufeffimport io\r\nimport pandas as pd\r\n\r\n"
                               "frame = pd.read_json(io.StringIO(text))\r\n")


# --- any fix --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fix_id", sorted(PATCHABLE) + ["pickle"])
def test_source_that_does_not_parse_or_an_unknown_fix_changes_nothing(fix_id):
    broken = STATIC.replace("):", ")") + 'pd.read_json(text)\nconf.getboolean("core", "enable_xcom_pickling")\n'
    assert patch_text(broken, fix_id, OPTION) == broken
    assert patch_text("x = 1\n", fix_id, OPTION) == "x = 1\n"
    assert patch_text(STATIC, "pickle", OPTION) == STATIC


# --- copy, apply, diff ----------------------------------------------------------------------------------------

PACKAGE = {
    "acme_xcom/__init__.py": "from acme_xcom.backend import Backend\n",
    "acme_xcom/backend.py": STATIC + "\n\nclass Legacy:\n    @staticmethod\n    def serialize_value(value): return 1",
    "acme_xcom/frames/__init__.py": "",
    "acme_xcom/frames/io_.py": DATAFRAME,
    "acme_xcom/frames/build/__init__.py": "x = 1\n",  # below the top, a folder named build is code
    "acme_xcom/README.md": "not code\n",
}
ARTEFACTS = ["acme_xcom/__pycache__/backend.cpython-312.pyc", "acme_xcom/backend.pyc", "acme_xcom/.git/HEAD",
             "acme_xcom/.venv/bin/python", "acme_xcom/build/lib/acme_xcom/backend.py", "acme_xcom/dist/acme.whl",
             "acme_xcom/acme_xcom.egg-info/PKG-INFO", "acme_xcom/frames/__pycache__/io_.cpython-312.pyc"]
FIXES = [("keyword-signature", "got an unexpected keyword argument 'key'"), ("pandas-read-json", "File {\"a\"")]


def write(root, files):
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode())
    return root


def tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_copy_source_of_a_file(tmp_path):
    src = write(tmp_path / "code", {"my_xcom.py": STATIC}) / "my_xcom.py"
    (tmp_path / "copy" / "stale").mkdir(parents=True)
    copy = copy_source(src, tmp_path / "copy")
    assert copy == tmp_path / "copy" / "my_xcom.py"
    assert tree(tmp_path / "copy") == {"my_xcom.py": STATIC.encode()}


def test_copy_source_of_a_package_skips_artefacts(tmp_path):
    write(tmp_path, PACKAGE | {rel: "artefact" for rel in ARTEFACTS})
    copy = copy_source(tmp_path / "acme_xcom", tmp_path / "copy")
    assert copy == tmp_path / "copy" / "acme_xcom"
    assert tree(copy) == {rel.removeprefix("acme_xcom/"): text.encode() for rel, text in PACKAGE.items()}


def test_copy_source_keeps_a_symlinks_name_and_a_copy_inside_the_source_out_of_itself(tmp_path):
    real = write(tmp_path, {"real.py": STATIC}) / "real.py"
    (tmp_path / "my_xcom.py").symlink_to(real)
    assert copy_source(tmp_path / "my_xcom.py", tmp_path / "one").name == "my_xcom.py"
    package = write(tmp_path, PACKAGE) / "acme_xcom"
    copy = copy_source(package, package / ".fix-forward")
    assert not (copy / ".fix-forward").exists() and (copy / "backend.py").read_text() == PACKAGE["acme_xcom/backend.py"]


def test_apply_returns_the_files_it_changed(tmp_path):
    write(tmp_path, PACKAGE | {"acme_xcom/latin1.py": ""})
    (tmp_path / "acme_xcom/latin1.py").write_bytes(b"# caf\xe9\nclass B:\n    def serialize_value(value): ...\n")
    copy = copy_source(tmp_path / "acme_xcom", tmp_path / "copy")
    assert apply(copy, FIXES) == ["backend.py", "frames/io_.py"]
    assert apply(copy, FIXES) == []
    single = copy_source(tmp_path / "acme_xcom" / "backend.py", tmp_path / "single")
    assert apply(single, FIXES[:1]) == ["backend.py"]


def git_apply(diff: str, folder, *command: str) -> None:
    subprocess.run(list(command or ["git", "apply", "-"]), input=diff, text=True, cwd=folder, check=True,
                   capture_output=True)


@pytest.mark.parametrize("command", [(), ("patch", "-p1")])
@pytest.mark.parametrize("ending", ["\n", ""])
def test_the_diff_of_a_file_applies(tmp_path, ending, command):
    if command and shutil.which("patch") is None:
        pytest.skip("no patch(1)")
    text = STATIC.rstrip("\n") + ending
    src = write(tmp_path / "code", {"my_xcom.py": text}) / "my_xcom.py"
    copy = copy_source(src, tmp_path / "copy")
    assert unified_diff(src, copy) == ""
    apply(copy, FIXES)
    diff = unified_diff(src, copy)
    assert diff.startswith("--- a/my_xcom.py\n+++ b/my_xcom.py\n@@") and diff.endswith("\n")
    assert ("\\ No newline at end of file" in diff) is (ending == "")
    user = write(tmp_path / "user", {"my_xcom.py": text})
    git_apply(diff, user, *command)
    assert tree(user) == tree(tmp_path / "copy")


@pytest.mark.parametrize("command", [(), ("patch", "-p1")])
def test_the_diff_of_a_package_applies(tmp_path, command):
    if command and shutil.which("patch") is None:
        pytest.skip("no patch(1)")
    src = write(tmp_path / "code", PACKAGE | {rel: "artefact" for rel in ARTEFACTS}) / "acme_xcom"
    copy = copy_source(src, tmp_path / "copy")
    apply(copy, FIXES)
    diff = unified_diff(src, copy)
    assert [line for line in diff.splitlines() if line.startswith("+++")] == [
        "+++ b/backend.py", "+++ b/frames/io_.py"]
    assert diff.count("\\ No newline at end of file") == 2  # backend.py's last line, before and after
    user = write(tmp_path / "user", PACKAGE) / "acme_xcom"
    git_apply(diff, user, *command)
    assert tree(user) == tree(copy)
