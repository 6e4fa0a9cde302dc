"""One-shot: create the `xcom` bucket/container in the S3, GCS and Azure emulators (idempotent).

Endpoints and credentials come from the same AIRFLOW_CONN_XCOM_* connections the backends use, so the
buckets are made exactly where Airflow will look. Uses each store's official client library.
"""

import json
import os

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


if __name__ == "__main__":
    for create in (create_s3_bucket, create_gcs_bucket, create_azure_container):
        create()
        print(f"{create.__name__}: {BUCKET} ready", flush=True)
