"""The sandbox's stores, one entry each: everything xcom-lab lists stores by iterates STORES.

An entry names the store's compose service, the sandbox's connection to it (.env's AIRFLOW_CONN_XCOM_*), the
default connection id tutorial code uses unchanged, its probe (the host client that looks inside it from outside
Airflow: xcomlab_harness.probes, imported on use, since the probes need the stores' client libraries and this
module runs where only the standard library is), xcomlab's backend class for it, and what in a user's code points
at it (URL schemes, argument names, hooks, words). A new store is its entry here, its probe module and its compose
service.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

OBJECT_STORAGE = "xcomlab.objectstorage.XComObjectStorageBackend"


@dataclass(frozen=True)
class Store:
    name: str
    service: str  # the compose service that runs it ("" when it is a volume)
    connection: str  # the .env variable of the sandbox's connection to it ("" when it needs none)
    default_connection: str  # the variable of the id tutorial code uses unchanged, pointed at `connection`
    probe: str  # module:Class in xcomlab_harness.probes, built with (settings, compose environment)
    xcomlab_backend: str  # xcomlab's backend class for it
    schemes: tuple[str, ...] = ()  # URL schemes of its objects (the user part of scheme://<conn_id>@... names an id)
    arguments: tuple[str, ...] = ()  # argument names that take a connection id to it
    hooks: tuple[str, ...] = ()  # Airflow hooks that reach it
    words: tuple[str, ...] = ()  # words in a variable's or an id's name that mean it
    aliases: tuple[str, ...] = ()  # other names CONNECTIONS=<id>=<store> takes for it

    def make_probe(self, settings: Mapping[str, str], compose_env: dict[str, str]):
        module, _, name = self.probe.partition(":")
        return getattr(importlib.import_module(module), name).for_sandbox(settings, compose_env)


STORES = (
    Store("s3", "s3", "AIRFLOW_CONN_XCOM_S3", "AIRFLOW_CONN_AWS_DEFAULT", "xcomlab_harness.probes.s3:S3Probe",
          OBJECT_STORAGE, schemes=("s3", "s3a"), arguments=("aws_conn_id",),
          hooks=("S3Hook", "AwsBaseHook", "AwsGenericHook"), words=("s3", "aws", "minio"), aliases=("aws",)),
    Store("gcs", "fake-gcs", "AIRFLOW_CONN_XCOM_GCS", "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
          "xcomlab_harness.probes.gcs:GcsProbe", OBJECT_STORAGE, schemes=("gs", "gcs"),
          arguments=("gcp_conn_id", "google_cloud_storage_conn_id"), hooks=("GCSHook", "GoogleBaseHook"),
          words=("gcs", "gcp", "google"), aliases=("gs", "google", "gcp")),
    Store("azure", "azurite", "AIRFLOW_CONN_XCOM_AZURE", "AIRFLOW_CONN_WASB_DEFAULT",
          "xcomlab_harness.probes.azure:AzureProbe", OBJECT_STORAGE,
          schemes=("abfs", "abfss", "az", "adl", "wasb", "wasbs"),
          arguments=("wasb_conn_id", "azure_data_lake_conn_id", "adls_conn_id"),
          hooks=("WasbHook", "AzureDataLakeStorageV2Hook", "AzureDataLakeHook"),
          words=("wasb", "azure", "blob", "abfs", "adls"), aliases=("wasb", "abfs", "adls")),
    Store("redis", "redis", "AIRFLOW_CONN_XCOM_REDIS", "AIRFLOW_CONN_REDIS_DEFAULT",
          "xcomlab_harness.probes.redis:RedisProbe", "xcomlab.redis.XComRedisBackend", arguments=("redis_conn_id",),
          hooks=("RedisHook",), words=("redis",)),
    Store("localfs", "", "", "", "xcomlab_harness.probes.localfs:LocalFsProbe", "xcomlab.localfs.XComLocalFsBackend"),
)


def store(name: str) -> Store:
    return next(s for s in STORES if s.name == name)


def with_connection() -> tuple[Store, ...]:
    """The stores a connection id can point at (CONNECTIONS=<id>=<store>)."""
    return tuple(s for s in STORES if s.connection)
