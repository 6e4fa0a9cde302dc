"""plugins.zip checked and deployed as MWAA deploys it."""

import zipfile

import pytest

from xcomlab_tools.mwaa import plugins


def make_zip(path, names):
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, "X = 1\n")
    return path


def test_zip_with_modules_at_the_top_deploys(tmp_path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    make_zip(bucket / "plugins.zip", ["my_xcom/__init__.py", "my_xcom/backend.py"])
    target = tmp_path / "plugins"
    assert plugins.install(bucket, target) == "plugins.zip"
    assert (target / "my_xcom" / "backend.py").read_text() == "X = 1\n"


def test_zip_of_the_plugins_folder_itself_is_refused_with_the_command_to_fix_it(tmp_path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    make_zip(bucket / "plugins.zip", ["plugins/my_backend.py"])
    with pytest.raises(plugins.PluginsError, match=r"top-level plugins/ folder.*cd plugins && zip -r ../plugins.zip ."):
        plugins.install(bucket, tmp_path / "plugins")


def test_paths_escaping_the_plugins_folder_are_refused(tmp_path):
    archive = make_zip(tmp_path / "plugins.zip", ["../evil.py"])
    assert any("outside the plugins folder" in p for p in plugins.zip_problems(archive))


def test_not_a_zip_is_refused(tmp_path):
    (tmp_path / "plugins.zip").write_text("not a zip")
    assert "is not a zip archive" in plugins.zip_problems(tmp_path / "plugins.zip")[0]


def test_both_zip_and_folder_is_ambiguous(tmp_path):
    make_zip(tmp_path / "plugins.zip", ["a.py"])
    (tmp_path / "plugins").mkdir()
    with pytest.raises(plugins.PluginsError, match="both plugins.zip and plugins/"):
        plugins.install(tmp_path, tmp_path / "deployed")


def test_redeploy_replaces_what_the_previous_start_left(tmp_path):
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "new.py").write_text("")
    target = tmp_path / "deployed"
    target.mkdir()
    (target / "old.py").write_text("")
    assert plugins.install(tmp_path, target) == "plugins/"
    assert sorted(p.name for p in target.iterdir()) == ["new.py"]
