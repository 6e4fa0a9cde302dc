"""Azurite, through azure-storage-blob with the sandbox connection's string: every container."""

from __future__ import annotations

import json

from azure.storage.blob import BlobServiceClient

from xcomlab_harness.probes import BUCKET_KEY, Item, Meta

SCHEME = "abfs://"


class AzureProbe:
    name = "azure"
    scheme = SCHEME  # of its buckets: scheme + bucket names one

    @classmethod
    def for_sandbox(cls, settings: dict[str, str], compose_env: dict[str, str]) -> AzureProbe:
        return cls(settings)

    def __init__(self, settings: dict[str, str]):
        # The Airflow connection's string, pointed at the published port.
        conn_string = json.loads(settings["AIRFLOW_CONN_XCOM_AZURE"])["extra"]["connection_string"]
        conn_string = conn_string.replace("http://azurite:10000", f"http://127.0.0.1:{settings.get('AZURITE_PORT', '10000')}")
        self.service = BlobServiceClient.from_connection_string(conn_string)

    def buckets(self) -> list[str]:
        return [container.name for container in self.service.list_containers()]

    def snapshot(self) -> dict[Item, Meta]:
        found = {Item(SCHEME + name, BUCKET_KEY): Meta(0, "bucket") for name in self.buckets()}
        return found | {item: meta for bucket in list(found) for item, meta in self.list(bucket.store).items()}

    def list(self, store: str, prefix: str = "") -> dict[Item, Meta]:
        blobs = self.service.get_container_client(store.removeprefix(SCHEME)).list_blobs(name_starts_with=prefix or None)
        return {Item(store, blob.name): Meta(blob.size, blob.etag or "") for blob in blobs}

    def _blob(self, item: Item):
        return self.service.get_blob_client(item.store.removeprefix(SCHEME), item.key)

    def read(self, item: Item, limit: int | None = None) -> bytes:
        return self._blob(item).download_blob(**({"offset": 0, "length": limit} if limit else {})).readall()

    def delete(self, item: Item) -> None:
        self._blob(item).delete_blob()

    def put(self, item: Item, data: bytes) -> None:
        self._blob(item).upload_blob(data, overwrite=True)

    get = read
