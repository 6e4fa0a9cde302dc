"""Look inside each store from outside Airflow, with the store's own client library.

Every store answers the same two questions: which objects lie under a prefix (name -> size), and what
bytes does one object hold. Endpoints are the ports the compose project publishes on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess

import boto3
import psycopg
import redis
from azure.storage.blob import BlobServiceClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

import sandbox

BUCKET = "xcom"


def bucket_name(url: str) -> str:
    """Object name inside the bucket, from a full URL: scheme://[conn@]xcom/<name>."""
    return re.sub(r"^[a-z0-9]+://([^@/]+@)?xcom/", "", url)


class S3Store:
    scheme = "s3"

    def __init__(self, settings: dict[str, str]):
        self.client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{settings.get('S3_PORT', '9000')}",
            region_name="us-east-1",
            aws_access_key_id=settings["S3_ACCESS_KEY"],
            aws_secret_access_key=settings["S3_SECRET_KEY"],
        )

    def list(self, prefix: str) -> dict[str, int]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
        return {obj["Key"]: obj["Size"] for page in pages for obj in page.get("Contents", [])}

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=BUCKET, Key=name)["Body"].read()

    name_of = staticmethod(bucket_name)


class GcsStore:
    scheme = "gs"

    def __init__(self, settings: dict[str, str]):
        self.client = gcs.Client(
            project="xcom-lab",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{settings.get('FAKE_GCS_PORT', '4443')}"},
        )

    def list(self, prefix: str) -> dict[str, int]:
        return {blob.name: blob.size for blob in self.client.list_blobs(BUCKET, prefix=prefix)}

    def read(self, name: str) -> bytes:
        return self.client.bucket(BUCKET).blob(name).download_as_bytes()

    name_of = staticmethod(bucket_name)


class AzureStore:
    scheme = "abfs"

    def __init__(self, settings: dict[str, str]):
        # The connection string of the Airflow connection, pointed at the published port.
        conn_string = json.loads(settings["AIRFLOW_CONN_XCOM_AZURE"])["extra"]["connection_string"]
        conn_string = conn_string.replace("http://azurite:10000", f"http://127.0.0.1:{settings.get('AZURITE_PORT', '10000')}")
        self.container = BlobServiceClient.from_connection_string(conn_string).get_container_client(BUCKET)

    def list(self, prefix: str) -> dict[str, int]:
        return {blob.name: blob.size for blob in self.container.list_blobs(name_starts_with=prefix)}

    def read(self, name: str) -> bytes:
        return self.container.download_blob(name).readall()

    name_of = staticmethod(bucket_name)


class RedisStore:
    """The XCom database of the Redis service (the xcom_redis connection's db)."""

    def __init__(self, settings: dict[str, str]):
        db = json.loads(settings["AIRFLOW_CONN_XCOM_REDIS"])["extra"]["db"]
        self.client = redis.Redis(host="127.0.0.1", port=int(settings.get("REDIS_PORT", "6379")), db=db)

    def list(self, prefix: str) -> dict[str, int]:
        pattern = re.sub(r"([*?\[\]\\])", r"\\\1", prefix) + "*"
        return {key.decode(): self.client.strlen(key) for key in self.client.scan_iter(match=pattern, count=1000)}

    def read(self, name: str) -> bytes:
        return self.client.get(name)

    @staticmethod
    def name_of(url: str) -> str:
        return url.removeprefix("redis://").partition("/")[2]  # redis://<conn_id>/<key>


class LocalFsStore:
    """The localfs-data volume as one service sees it (docker compose exec: find and cat, no Airflow)."""

    ROOT = "/opt/airflow/xcom-localfs"

    def __init__(self, env: dict[str, str], service: str = "airflow-scheduler"):
        self.env, self.service = env, service

    def _exec(self, *command: str) -> subprocess.CompletedProcess:
        return sandbox.compose(self.env, "exec", "-T", self.service, *command, check=False, capture_output=True)

    def list(self, prefix: str) -> dict[str, int]:
        found = self._exec("find", f"{self.ROOT}/{prefix}", "-type", "f", "-printf", "%P\\t%s\\n")
        lines = found.stdout.decode().splitlines() if found.returncode == 0 else []
        return {prefix + name: int(size) for name, size in (line.split("\t") for line in lines)}

    def read(self, name: str) -> bytes:
        done = self._exec("cat", f"{self.ROOT}/{name}")
        if done.returncode:
            raise FileNotFoundError(f"{self.service}:{self.ROOT}/{name}: {done.stderr.decode().strip()}")
        return done.stdout

    def name_of(self, url: str) -> str:
        return url.removeprefix("file://").partition("/")[2].removeprefix(self.ROOT.lstrip("/") + "/")


class MetadataDB:
    """The xcom table as Airflow wrote it."""

    def __init__(self, settings: dict[str, str]):
        self.dsn = (
            f"postgresql://{settings['POSTGRES_USER']}:{settings['POSTGRES_PASSWORD']}"
            f"@127.0.0.1:{settings.get('POSTGRES_PORT', '5432')}/{settings['POSTGRES_DB']}"
        )

    def scheduling_state(self) -> str:
        """What decides whether the scheduler starts a queued run (for a failed test's report): the DAGs'
        flags (2.x is_active, 3.x is_stale), the runs per state, the running components' heartbeats."""
        flags = ("dag_id", "is_active", "is_stale", "is_paused", "max_active_runs", "last_parsed_time")
        with psycopg.connect(self.dsn) as conn:
            dags = [{k: dag[k] for k in flags if k in dag}
                    for (dag,) in conn.execute("SELECT row_to_json(d) FROM dag d ORDER BY dag_id")]
            runs = conn.execute("SELECT dag_id, state, count(*), max(last_scheduling_decision) FROM dag_run "
                                "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
            jobs = conn.execute("SELECT id, job_type, hostname, latest_heartbeat, now() FROM job "
                                "WHERE state = 'running' AND job_type <> 'LocalTaskJob'").fetchall()
        return "\n".join(["dags:", *map(str, dags), "runs (dag, state, count, last decision):", *map(str, runs),
                          "running jobs:", *map(str, jobs)])

    def xcom_values(self, dag_id: str, run_id: str, task_id: str) -> dict[str, object]:
        """key -> stored value, decoded."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT key, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s",
                (dag_id, run_id, task_id),
            ).fetchall()
        return {key: _decoded(value) for key, value in rows}

    def mapped_values(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> dict[int, object]:
        """map_index -> stored value of one key of a mapped task."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute(
                "SELECT map_index, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s AND key = %s",
                (dag_id, run_id, task_id, key),
            ).fetchall()
        return {index: _decoded(value) for index, value in rows}

    def rows(self) -> dict[tuple, object]:
        """(dag_id, run_id, task_id, map_index, key) -> stored value, of every row."""
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("SELECT dag_id, run_id, task_id, map_index, key, value FROM xcom").fetchall()
        return {tuple(row[:5]): _decoded(row[5]) for row in rows}

    def backdate(self, dag_id: str, run_id: str, days: int) -> int:
        """Make a run's XComs look `days` older; returns how many rows changed."""
        with psycopg.connect(self.dsn) as conn:
            return conn.execute("UPDATE xcom SET timestamp = timestamp - make_interval(days => %s) "
                                "WHERE dag_id = %s AND run_id = %s", (days, dag_id, run_id)).rowcount


def _decoded(value):
    """Airflow 3 keeps JSON (psycopg decodes it), 2.x JSON bytes."""
    return json.loads(bytes(value)) if isinstance(value, (bytes, memoryview)) else value
