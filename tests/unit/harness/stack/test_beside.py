"""The second e2e stack: nothing Docker or the host names is shared with the first, and its checkout copy
shares no file either run rewrites."""

from __future__ import annotations

import os

from xcomlab_harness.stack import beside, project
from xcomlab_harness.stack.paths import DOTENV
from xcomlab_harness.stack.settings import load_settings


def test_the_second_stack_has_its_own_project_and_every_host_port_of_env_shifted():
    settings = load_settings(environ={})
    env = beside.beside_env(settings, "2.11.2")
    published = [line.split("=")[0] for line in DOTENV.read_text().splitlines() if line.split("=")[0].endswith("_PORT")]
    assert published, ".env names no host port"
    for key in published:
        assert int(env[key]) == int(settings[key]) + beside.PORT_SHIFT
    assert not {env[key] for key in published} & {settings[key] for key in published}
    assert project.project_name(env) != project.project_name({})
    assert (env["AIRFLOW_VERSION"], env["SCOPE"]) == ("2.11.2", "version")


def test_the_copy_holds_the_working_tree_and_links_only_write_once_build_inputs(tmp_path, monkeypatch):
    root, cache = tmp_path / "repo", tmp_path / "repo" / ".cache"
    files = {"Makefile": "all:", "dags/new_dag.py": "uncommitted", ".venv/bin/python": "x", "reports/r.md": "x",
             "harness/__pycache__/m.pyc": "x", ".git/HEAD": "x"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for name in ("wheelhouse/a.whl", "custom-backend/Dockerfile", ".standins-1.done", "last-up.json"):
        (cache / name).parent.mkdir(parents=True, exist_ok=True)
        (cache / name).write_text(name)
    monkeypatch.setattr(beside, "ROOT", root)
    monkeypatch.setattr(beside, "CACHE", cache)
    target = cache / "beside" / "2.11.2"
    (target / "stale").mkdir(parents=True)

    beside.copy_checkout(target)

    assert (target / "dags" / "new_dag.py").read_text() == "uncommitted"
    for left_out in (".venv", "reports", "harness/__pycache__", ".git", "stale", ".cache/last-up.json", ".cache/beside"):
        assert not (target / left_out).exists(), left_out
    linked, copied = target / ".cache" / "wheelhouse" / "a.whl", target / ".cache" / "custom-backend" / "Dockerfile"
    assert os.path.samefile(linked, cache / "wheelhouse" / "a.whl")
    assert not os.path.samefile(copied, cache / "custom-backend" / "Dockerfile")
    assert not os.path.samefile(target / ".cache" / ".standins-1.done", cache / ".standins-1.done")
