"""One-shot: create the `xcom` bucket/container in the S3, GCS and Azure emulators (idempotent).

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


def connection(name: str) -> dict:
    return json.loads(os.environ[f"AIRFLOW_CONN_{name}"])


def create_s3_bucket() -> None:
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
    if BUCKET not in existing:
        s3.create_bucket(Bucket=BUCKET)


def create_gcs_bucket() -> None:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    conn = connection("XCOM_GCS")
    client = storage.Client(
        project=conn["extra"]["project"],
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": conn["extra"]["gcs.endpoint"]},
    )
    if client.lookup_bucket(BUCKET) is None:
        client.create_bucket(BUCKET)


def create_azure_container() -> None:
    from azure.storage.blob import BlobServiceClient

    conn = connection("XCOM_AZURE")
    container = BlobServiceClient.from_connection_string(conn["extra"]["connection_string"]).get_container_client(BUCKET)
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


if __name__ == "__main__":
    for url in endpoints().values():
        wait_until_listening(url)
    for create in (create_s3_bucket, create_gcs_bucket, create_azure_container):
        create()
        print(f"{create.__name__}: {BUCKET} ready", flush=True)
