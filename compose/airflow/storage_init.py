"""One-shot: create the `xcom` bucket/container in the S3, GCS and Azure emulators (idempotent), and the
buckets a user's backend names in XCOM_LAB_BUCKETS (`make check`'s BACKEND_ENV), e.g.
`XCOM_LAB_BUCKETS=s3://my-xcoms,gs://my-xcoms,abfs://my-container`.

Endpoints and credentials come from the same AIRFLOW_CONN_XCOM_* connections the backends use, so the
buckets are made exactly where Airflow will look. Uses each store's official client library, after waiting
until each store listens (compose starts this job as soon as the emulators' containers run).
"""

import json
import os
import socket
import time
from urllib.parse import urlsplit

STARTUP_TIMEOUT_SECONDS = 120

BUCKET = "xcom"  # the bucket/container named in compose/backends/*.env
SCHEMES = ("s3", "gs", "abfs")


def connection(name: str) -> dict:
    return json.loads(os.environ[f"AIRFLOW_CONN_{name}"])


def create_s3_bucket(name: str) -> None:
    import boto3

    conn = connection("XCOM_S3")
    s3 = boto3.client(
        "s3",
        endpoint_url=conn["extra"]["endpoint_url"],
        region_name=conn["extra"].get("region_name", "us-east-1"),
        aws_access_key_id=conn["login"],
        aws_secret_access_key=conn["password"],
    )
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if name not in existing:
        s3.create_bucket(Bucket=name)


def create_gcs_bucket(name: str) -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    conn = connection("XCOM_GCS")
    client = storage.Client(
        project=conn["extra"]["project"],
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": conn["extra"]["gcs.endpoint"]},
    )
    if client.lookup_bucket(name) is None:
        client.create_bucket(name)


def create_azure_container(name: str) -> None:
    from azure.storage.blob import BlobServiceClient

    conn = connection("XCOM_AZURE")
    container = BlobServiceClient.from_connection_string(conn["extra"]["connection_string"]).get_container_client(name)
    if not container.exists():
        container.create_container()


def endpoints() -> dict[str, str]:
    """Where each store listens, from the same connections."""
    azure = dict(part.split("=", 1) for part in connection("XCOM_AZURE")["extra"]["connection_string"].split(";") if part)
    return {
        "s3": connection("XCOM_S3")["extra"]["endpoint_url"],
        "gcs": connection("XCOM_GCS")["extra"]["gcs.endpoint"],
        "azure": azure["BlobEndpoint"],
    }


def wait_until_listening(url: str) -> None:
    """Connection refused while the emulator boots; any other error is real and surfaces at once."""
    parts = urlsplit(url)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while True:
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=2).close()
            return
        except OSError as err:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} is not listening after {STARTUP_TIMEOUT_SECONDS} s") from err
            time.sleep(0.3)


def wanted_buckets(spec: str) -> dict[str, list[str]]:
    """scheme -> bucket names: `xcom` in every store, plus the user's `<scheme>://<name>` entries."""
    wanted = {scheme: [BUCKET] for scheme in SCHEMES}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        scheme, sep, name = entry.partition("://")
        name = name.split("/")[0].rpartition("@")[2]  # a path or a connection id may come with it
        if not sep or scheme not in SCHEMES or not name:
            raise SystemExit(f"XCOM_LAB_BUCKETS: {entry!r} is not <scheme>://<bucket> with scheme one of "
                             f"{', '.join(SCHEMES)}: fix the entry in your BACKEND_ENV file")
        wanted[scheme].append(name)
    return wanted


if __name__ == "__main__":
    for url in endpoints().values():
        wait_until_listening(url)
    creators = {"s3": create_s3_bucket, "gs": create_gcs_bucket, "abfs": create_azure_container}
    for scheme, names in wanted_buckets(os.environ.get("XCOM_LAB_BUCKETS", "")).items():
        for name in dict.fromkeys(names):
            creators[scheme](name)
            print(f"{scheme}://{name} ready", flush=True)
