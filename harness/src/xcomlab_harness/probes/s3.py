"""The S3 emulator (MinIO or moto), through boto3: every bucket, not one prefix."""

from __future__ import annotations

import boto3

from xcomlab_harness.probes import BUCKET_KEY, Item, Meta

SCHEME = "s3://"


class S3Probe:
    name = "s3"
    scheme = SCHEME  # of its buckets: scheme + bucket names one

    @classmethod
    def for_sandbox(cls, settings: dict[str, str], compose_env: dict[str, str]) -> S3Probe:
        return cls(settings)

    def __init__(self, settings: dict[str, str]):
        self.client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{settings.get('S3_PORT', '9000')}",
            region_name="us-east-1",
            aws_access_key_id=settings["S3_ACCESS_KEY"],
            aws_secret_access_key=settings["S3_SECRET_KEY"],
        )

    def buckets(self) -> list[str]:
        return [b["Name"] for b in self.client.list_buckets().get("Buckets", [])]

    def snapshot(self) -> dict[Item, Meta]:
        found = {Item(SCHEME + bucket, BUCKET_KEY): Meta(0, "bucket") for bucket in self.buckets()}
        return found | {item: meta for bucket in list(found) for item, meta in self.list(bucket.store).items()}

    def list(self, store: str, prefix: str = "") -> dict[Item, Meta]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=store.removeprefix(SCHEME), Prefix=prefix)
        return {Item(store, obj["Key"]): Meta(obj["Size"], obj.get("ETag", "")) for page in pages
                for obj in page.get("Contents", [])}

    def read(self, item: Item, limit: int | None = None) -> bytes:
        extra = {"Range": f"bytes=0-{limit - 1}"} if limit else {}
        return self.client.get_object(Bucket=_bucket(item), Key=item.key, **extra)["Body"].read()

    def delete(self, item: Item) -> None:
        self.client.delete_object(Bucket=_bucket(item), Key=item.key)

    def put(self, item: Item, data: bytes) -> None:
        self.client.put_object(Bucket=_bucket(item), Key=item.key, Body=data)

    get = read


def _bucket(item: Item) -> str:
    return item.store.removeprefix(SCHEME)
