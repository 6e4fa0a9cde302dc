"""CONNECTIONS= and discovery (xcomlab_harness.stack.connections): a backend's own connection ids point at the
emulators, as variables where a variable can carry the id and through a connections file where not."""

import json
import os
import stat

import pytest
from test_private_files import compose_reads  # docker compose's env_file reading

from xcomlab_harness.stack import backend_coverage, connections, custom_backend
from xcomlab_harness.stack.console import SandboxError
from xcomlab_harness.stack.paths import DOTENV
from xcomlab_harness.stack.settings import load_settings

TUTORIAL = '''
from airflow.providers.amazon.aws.hooks.s3 import S3Hook


class S3XComBackend(BaseXCom):
    @staticmethod
    def serialize_value(value, **kwargs):
        hook = S3Hook(aws_conn_id="s3_xcom_backend_conn")
'''


@pytest.mark.parametrize(("text", "found"), [
    ("s3_xcom_backend_conn=s3", {"s3_xcom_backend_conn": "s3"}),
    ("wasb-default=azure, my_gcs=gs ,my.redis=redis,", {"wasb-default": "azure", "my_gcs": "gcs", "my.redis": "redis"}),
    ("a=aws,b=google,c=gcp,d=wasb,e=abfs,f=adls,g=S3", {"a": "s3", "b": "gcs", "c": "gcs", "d": "azure", "e": "azure",
                                                    "f": "azure", "g": "s3"}),
    ("", {}),
])
def test_connections_names_ids_and_stores_by_their_aliases(text, found):
    assert connections.parse(text) == found


@pytest.mark.parametrize(("text", "message"), [
    ("my_s3", r"CONNECTIONS: 'my_s3' is not <conn_id>=<store>: write e\.g\. CONNECTIONS=my_s3=s3"),
    ("=s3", "is not <conn_id>=<store>"),
    ("my_s3=dynamodb", "CONNECTIONS: 'my_s3=dynamodb' names no store xcom-lab has: write my_s3=s3, my_s3=gcs"),
    ("my s3=s3", "CONNECTIONS: 'my s3' is not a valid Airflow connection id"),
    ("x" * 251 + "=s3", "not a valid Airflow connection id"),
])
def test_bad_connections_say_what_to_write(text, message):
    with pytest.raises(SandboxError, match=message):
        connections.parse(text)


def found_in(tmp_path, code: str, env: dict | None = None) -> dict[str, str]:
    (tmp_path / "my_xcom.py").write_text(code)
    return connections.discover(tmp_path / "my_xcom.py", env or {})


@pytest.mark.parametrize(("code", "found"), [
    (TUTORIAL, {"s3_xcom_backend_conn": "s3"}),  # by the argument's name
    ('WasbHook(wasb_conn_id="wasb-default")', {"wasb-default": "azure"}),
    ('RedisHook(redis_conn_id="cache")\nGCSHook(gcp_conn_id="gstore")', {"cache": "redis", "gstore": "gcs"}),
    ('GCSHook(google_cloud_storage_conn_id="old_style")', {"old_style": "gcs"}),
    ('S3Hook("positional")', {"positional": "s3"}),  # by the hook
    ('RedisHook(conn_id="kv")', {"kv": "redis"}),
    ('AWS_CONN_ID = "team"\nclass B:\n    REDIS_CONN_ID: str = "cache"', {"team": "s3", "cache": "redis"}),  # by the name
    ('def __init__(self, gcp_conn_id: str = "g1", *, wasb_conn_id="w1", conn_id="unknown"): ...',
     {"g1": "gcs", "w1": "azure"}),  # defaults; "unknown" tells no store
    ('hook = SomeHook(conn_id="my_minio")\nclient = connect(conn_id="blob-store")', {"my_minio": "s3", "blob-store": "azure"}),
    ('S3Hook(aws_conn_id=os.environ.get("MY_CONN", "from_env"))\nS3Hook(aws_conn_id=os.getenv("X", "g2"))',
     {"from_env": "s3", "g2": "s3"}),
    ('conn = conf.get("xcom", "aws_conn_id")\nAWS_CONN_ID = conf.get("xcom", "conn", fallback="cfg_default")',
     {"cfg_default": "s3"}),  # conf.get's key is no id
    ('ObjectStoragePath("abfs://wasb-default@xcom/x")\nBASE = "gs://my_gcs@xcom/" + "x"\nP = "s3://my_s3@b/k"',
     {"wasb-default": "azure", "my_gcs": "gcs", "my_s3": "s3"}),  # URLs with a user part
    ('P = "s3://xcom/key"\nQ = "redis://user@host"\nE = "mail me@x"', {}),  # no user part, no store's scheme
    ('S3Hook(aws_conn_id="s3_to_gcs")\nGCSHook(gcp_conn_id="s3_to_gcs")', {}),  # two stores: skipped, not guessed
    ('conn_id = "thing"', {}),
    # passed by name: the argument tells the store of an id whose own name and value tell none
    ('class X:\n    CONN_ID = "xcom_cache"\n    def f(self):\n        RedisHook(redis_conn_id=X.CONN_ID)',
     {"xcom_cache": "redis"}),
    ('BUCKET_CONN = "blobs"\nWasbHook(BUCKET_CONN)\nself.cid = "k2"\nRedisHook(conn_id=self.cid)', {"blobs": "azure", "k2": "redis"}),
    ('C = "one"\nC = "two"\nS3Hook(aws_conn_id=C)', {}),  # bound twice: resolves to neither
    ('def broken(:\n    aws_conn_id = "still_found"\nP = "abfs://az_conn@c/x"', {"still_found": "s3", "az_conn": "azure"}),
])
def test_discovery_finds_the_ids_the_code_names_and_their_store(tmp_path, code, found):
    assert found_in(tmp_path, code) == found


def test_discovery_reads_backend_env_urls_and_conn_id_settings(tmp_path):
    env = {"AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH": "abfs://azure_xcom@xcom/data",
           "ACME_XCOM_AWS_CONN_ID": "acme", "AIRFLOW_CONN_MINE": "aws://key:secret@/?x=s3://a@b"}
    assert found_in(tmp_path, "", env) == {"azure_xcom": "azure", "acme": "s3"}


def test_discovery_scans_a_folders_python_files_but_not_its_virtualenv(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "hooks.py").write_text('S3Hook(aws_conn_id="in_pkg")')
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "boto.py").write_text('S3Hook(aws_conn_id="in_venv")')
    (tmp_path / "README.md").write_text('S3Hook(aws_conn_id="in_readme")')
    assert connections.discover(tmp_path, {}) == {"in_pkg": "s3"}


def test_explicit_wins_and_defined_ids_are_left_alone(tmp_path):
    (tmp_path / "b.py").write_text('S3Hook(aws_conn_id="mine")\nS3Hook(aws_conn_id="aws_default")\n'
                                   'GCSHook(gcp_conn_id="theirs")\nWasbHook(wasb_conn_id="xcom_azure")')
    resolved = connections.resolve("mine=gcs,extra=redis", tmp_path / "b.py", {"AIRFLOW_CONN_THEIRS": "{}"},
                                   ["AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_CONN_XCOM_AZURE"])
    assert resolved == {"mine": "gcs", "extra": "redis"}


# --- delivery: the env file and the connections file custom_backend writes ----------------------------------

@pytest.fixture
def check(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text(DOTENV.read_text())
    monkeypatch.setattr(custom_backend, "CONNECTIONS_FILE", tmp_path / "connections.json")

    def settings(code: str = TUTORIAL, env: str = "", **environ):
        (tmp_path / "my_xcom.py").write_text(code)
        environ = {"XCOM_BACKEND": "my_xcom.B", "BACKEND_SRC": str(tmp_path / "my_xcom.py"), **environ}
        if env:
            (tmp_path / "backend.env").write_text(env)
            environ["BACKEND_ENV"] = str(tmp_path / "backend.env")
        return load_settings(environ=environ, dotenv=dotenv)
    return settings


def test_a_discovered_id_becomes_a_variable_with_the_emulators_connection(check):
    values = custom_backend.custom_backend_env(check())
    assert values["AIRFLOW_CONN_S3_XCOM_BACKEND_CONN"] == values["AIRFLOW_CONN_AWS_DEFAULT"]
    assert '"endpoint_url": "http://s3:9000"' in values["AIRFLOW_CONN_S3_XCOM_BACKEND_CONN"]
    assert "AIRFLOW__SECRETS__BACKEND" not in values  # nothing needs the file


def test_the_users_env_file_wins_over_a_discovered_or_explicit_id(check):
    mine = "AIRFLOW_CONN_S3_XCOM_BACKEND_CONN='{\"conn_type\": \"aws\"}'\n"
    values = custom_backend.custom_backend_env(check(env=mine, CONNECTIONS="s3_xcom_backend_conn=gcs"))
    assert values["AIRFLOW_CONN_S3_XCOM_BACKEND_CONN"] == '{"conn_type": "aws"}'


def test_an_id_no_variable_can_carry_goes_through_the_connections_file(check):
    settings = check('WasbHook(wasb_conn_id="wasb-default")', CONNECTIONS="team.s3=s3")
    values = custom_backend.custom_backend_env(settings)
    assert values["AIRFLOW__SECRETS__BACKEND"] == "airflow.secrets.local_filesystem.LocalFilesystemBackend"
    assert json.loads(values["AIRFLOW__SECRETS__BACKEND_KWARGS"]) == {
        "connections_file_path": "/opt/xcom-lab/connections.json"}
    path = custom_backend.write_connections_file(settings)
    written = json.loads(path.read_text())
    assert set(written) == {"wasb-default", "team.s3"}
    assert written["wasb-default"]["conn_type"] == "wasb" and "BlobEndpoint=http://azurite:10000" in \
        written["wasb-default"]["extra"]["connection_string"]
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o640 and path.stat().st_gid == os.getegid()  # the components get this group; others read nothing


def test_with_nothing_to_carry_the_file_is_an_empty_object(check):
    assert json.loads(custom_backend.write_connections_file(check("x = 1")).read_text()) == {}


def test_the_users_own_secrets_backend_conflicts_only_with_ids_that_need_the_file(check):
    theirs = "AIRFLOW__SECRETS__BACKEND=airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend\n"
    with pytest.raises(SandboxError, match=r"BACKEND_ENV sets AIRFLOW__SECRETS__BACKEND, and connection id\(s\) "
                                           r"wasb-default cannot be environment variables.*Remove"):
        check(env=theirs, CONNECTIONS="wasb-default=azure")
    # a discovered one is theirs to define in their secrets backend; a variable still carries the others
    values = custom_backend.custom_backend_env(check(TUTORIAL + 'WasbHook(wasb_conn_id="wasb-default")', env=theirs))
    assert "AIRFLOW_CONN_S3_XCOM_BACKEND_CONN" in values
    assert values["AIRFLOW__SECRETS__BACKEND"].endswith("SecretsManagerBackend")


def test_connections_are_checked_with_the_other_settings(check, tmp_path):
    with pytest.raises(SandboxError, match="CONNECTIONS: 'my_s3=ftp' names no store"):
        check(CONNECTIONS="my_s3=ftp")
    with pytest.raises(SandboxError, match="CONNECTIONS is for your own backend"):
        load_settings(environ={"CONNECTIONS": "my_s3=s3"}, dotenv=tmp_path / ".env")


def test_the_env_file_compose_reads_is_the_owners_alone_and_keeps_every_value(check, tmp_path, monkeypatch):
    monkeypatch.setattr(custom_backend, "CUSTOM_DIR", tmp_path / "custom-backend")
    monkeypatch.setattr(backend_coverage, "HOST_DIR", tmp_path / "check-coverage")
    mine = "MY_TOKEN=it's \"quoted\" `id` $HOME \\n\nMY_URL='s3://xcom/$(whoami)'\n"
    settings = check(env=mine)
    path = custom_backend.write_custom_backend_env(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = compose_reads(path.read_text())
    assert values["MY_TOKEN"] == "it's \"quoted\" `id` $HOME \\n" and values["MY_URL"] == "s3://xcom/$(whoami)"
    assert values["AWS_SECRET_ACCESS_KEY"] == settings["S3_SECRET_KEY"]
    assert values["AIRFLOW_CONN_AWS_DEFAULT"] == settings["AIRFLOW_CONN_XCOM_S3"]  # JSON, its quotes kept
