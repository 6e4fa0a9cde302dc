"""Look inside each store from outside Airflow, with the store's own client library.

Every store answers the same two questions: which objects lie under a prefix (name -> size), and what
bytes does one object hold. Endpoints are the ports the compose project publishes on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import subprocess

import boto3
import redis
from azure.storage.blob import BlobServiceClient
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from xcomlab_harness import sandbox

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
