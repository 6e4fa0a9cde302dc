"""Which services `diagnose` names (xcomlab_harness.stack.health), from `docker compose ps --all --format json`;
how the harness's own wait reads `docker inspect`.

PS_JSON has the shape compose v2.40 prints: one object per container per line, keys sorted, ExitCode a
number, Health "" for a service without a healthcheck (cmd/formatter/container.go renders each container
with docker/cli's `{{json .}}`); labels are trimmed, values are this project's.
"""

import pytest
from xcomlab_harness.stack.compose import parse_ps_json
from xcomlab_harness.stack.health import failing_services, probe_command, service, settled


def line(service, state, status, health="", exit_code=0):
    return (
        '{"Command":"\\"/usr/bin/dumb-init …\\"","CreatedAt":"2026-03-02 09:14:07 +0000 UTC",'
        f'"ExitCode":{exit_code},"Health":"{health}","ID":"4be1a2c9d0f3","Image":"xcom-lab/airflow:3.3.1",'
        f'"Labels":"com.docker.compose.project=xcom-lab,com.docker.compose.service={service},'
        'com.docker.compose.version=2.40.3","LocalVolumes":"1","Mounts":"xcom-lab_airfl…",'
        f'"Name":"xcom-lab-{service}-1","Names":"xcom-lab-{service}-1","Networks":"xcom-lab_default",'
        '"Ports":"","Project":"xcom-lab","Publishers":[],"RunningFor":"2 minutes ago",'
        f'"Service":"{service}","Size":"0B","State":"{state}","Status":"{status}"}}'
    )


PS_JSON = "\n".join([
    line("airflow-init", "exited", "Exited (1) 1 minute ago", exit_code=1),
    line("airflow-scheduler", "running", "Up 2 minutes (unhealthy)", health="unhealthy"),
    line("postgres", "running", "Up 2 minutes (healthy)", health="healthy"),
    line("redis", "running", "Up 2 minutes"),
    line("s3", "running", "Up 9 seconds (health: starting)", health="starting"),
    line("storage-init", "exited", "Exited (0) 1 minute ago"),
    line("airflow-triggerer", "restarting", "Restarting (1) 3 seconds ago", exit_code=1),
]) + "\n"


def test_failing_services_are_the_unhealthy_the_stopped_and_the_failed_one_shots():
    assert failing_services(parse_ps_json(PS_JSON)) == ["airflow-init", "airflow-scheduler", "s3", "airflow-triggerer"]


def test_a_one_shot_that_exited_zero_did_its_job():
    assert failing_services(parse_ps_json(line("storage-init", "exited", "Exited (0) 5 seconds ago"))) == []


def test_no_containers_print_nothing_and_fail_nothing():
    assert parse_ps_json("") == [] and failing_services([]) == []


def test_the_json_array_of_compose_before_2_21_reads_the_same():
    array = "[" + ",".join(PS_JSON.splitlines()) + "]"
    assert parse_ps_json(array) == parse_ps_json(PS_JSON)


# --- the harness's own wait: `docker inspect` states (Engine 20.10's JSON, trimmed to what is read) ---

def inspected(status, exit_code=0, health=None, test=("CMD", "curl", "--fail", "http://localhost:8974/health")):
    state = {"Status": status, "ExitCode": exit_code, **({"Health": {"Status": health}} if health else {})}
    return {"Id": "4be1a2c9d0f3", "Name": "/xcom-lab-airflow-scheduler-1", "State": state,
            "Config": {"Labels": {"com.docker.compose.service": "airflow-scheduler"},
                       "Healthcheck": {"Test": list(test), "Timeout": 10_000_000_000}}}


@pytest.mark.parametrize(("container", "verdict"), [
    (inspected("running", health="healthy"), True),
    (inspected("running"), True),  # no healthcheck: running is all it promises
    (inspected("exited"), True),  # a one-shot that did its job
    (inspected("exited", exit_code=1), False),
    (inspected("dead"), False),
    (inspected("running", health="unhealthy"), False),
    (inspected("running", health="starting"), None),  # the harness probes it itself
    (inspected("restarting", exit_code=1, health="starting"), None),  # restart: always may yet bring it up
    (inspected("created"), None),
], ids=["healthy", "no-healthcheck", "one-shot-done", "exited-1", "dead", "unhealthy", "starting", "restarting",
        "created"])
def test_a_container_is_settled_healthy_failed_or_still_to_probe(container, verdict):
    assert settled(container) is verdict


def test_the_probe_is_the_containers_own_healthcheck():
    assert probe_command(inspected("running")) == ["curl", "--fail", "http://localhost:8974/health"]
    shell = inspected("running", test=("CMD-SHELL", "celery inspect ping -d celery@$HOSTNAME"))
    assert probe_command(shell) == ["/bin/sh", "-c", "celery inspect ping -d celery@$HOSTNAME"]
    assert service(inspected("running")) == "airflow-scheduler"
