"""The localfs-data volume (BACKEND=localfs, or any backend writing to /opt/airflow/xcom-localfs)."""

from __future__ import annotations

from xcomlab_harness.probes.files import FilesProbe

ROOT = "/opt/airflow/xcom-localfs"


class LocalFsProbe(FilesProbe):
    @classmethod
    def for_sandbox(cls, settings: dict[str, str], compose_env: dict[str, str]) -> LocalFsProbe:
        return cls(compose_env)

    def __init__(self, compose_env: dict[str, str], service: str = "airflow-scheduler"):
        super().__init__(compose_env, service, roots=(ROOT,), store="file://localfs")
