"""fake-gcs-server, through google-cloud-storage with anonymous credentials: every bucket."""

from __future__ import annotations

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from xcomlab_harness.probes import BUCKET_KEY, Item, Meta

SCHEME = "gs://"


class GcsProbe:
    name = "gcs"
    scheme = SCHEME  # of its buckets: scheme + bucket names one

    @classmethod
    def for_sandbox(cls, settings: dict[str, str], compose_env: dict[str, str]) -> GcsProbe:
        return cls(settings)

    def __init__(self, settings: dict[str, str]):
        self.client = storage.Client(
            project="xcom-lab",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{settings.get('FAKE_GCS_PORT', '4443')}"},
        )

    def buckets(self) -> list[str]:
        return [bucket.name for bucket in self.client.list_buckets()]

    def snapshot(self) -> dict[Item, Meta]:
        found = {Item(SCHEME + name, BUCKET_KEY): Meta(0, "bucket") for name in self.buckets()}
        return found | {item: meta for bucket in list(found) for item, meta in self.list(bucket.store).items()}

    def list(self, store: str, prefix: str = "") -> dict[Item, Meta]:
        return {Item(store, blob.name): Meta(blob.size or 0, blob.md5_hash or str(blob.generation))
                for blob in self.client.list_blobs(store.removeprefix(SCHEME), prefix=prefix)}

    def _blob(self, item: Item):
        return self.client.bucket(item.store.removeprefix(SCHEME)).blob(item.key)

    def read(self, item: Item, limit: int | None = None) -> bytes:
        return self._blob(item).download_as_bytes(**({"start": 0, "end": limit - 1} if limit else {}))

    def delete(self, item: Item) -> None:
        self._blob(item).delete()

    def put(self, item: Item, data: bytes) -> None:
        self._blob(item).upload_from_string(data)

    get = read
