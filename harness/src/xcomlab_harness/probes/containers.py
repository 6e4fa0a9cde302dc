"""What tasks leave in the containers that run them: the working directory, /tmp and the home folder.

Airflow's own folders (logs, dags, plugins, the XCom volume, the UI's auth file) and bytecode caches are
not looked at: they change with every task whatever the backend does.
"""

from __future__ import annotations

from xcomlab_harness.probes.files import FilesProbe
from xcomlab_harness.probes.localfs import ROOT as LOCALFS_ROOT

AIRFLOW_HOME, HOME = "/opt/airflow", "/home/airflow"
AIRFLOW_OWN = (f"{AIRFLOW_HOME}/logs", f"{AIRFLOW_HOME}/dags", f"{AIRFLOW_HOME}/plugins", f"{AIRFLOW_HOME}/auth",
               LOCALFS_ROOT, "__pycache__")


class ContainerProbe(FilesProbe):
    ROOTS = (AIRFLOW_HOME, "/tmp", HOME)

    def __init__(self, compose_env: dict[str, str], service: str):
        super().__init__(compose_env, service, roots=self.ROOTS, prune=AIRFLOW_OWN + (f"{HOME}/.local",))
