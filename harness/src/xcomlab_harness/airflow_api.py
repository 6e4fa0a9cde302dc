"""A small client for Airflow's public REST API, enough to run a DAG, on either major:
Airflow 3 serves /api/v2 with a JWT from /auth/token, Airflow 2.x /api/v1 with basic auth.
"""

from __future__ import annotations

import requests

from xcomlab_harness.polling import poll


class DagRunFailed(AssertionError):
    pass


class TaskEnded(DagRunFailed):
    """The task reached a final state other than the one waited for: waiting longer cannot help."""


FINAL = {"success", "failed", "upstream_failed", "skipped", "removed"}


class AirflowAPI:
    def __init__(self, base_url: str, username: str, password: str, airflow_major: int):
        self.base_url = base_url.rstrip("/")
        self.v2 = airflow_major >= 3
        self.api = f"{self.base_url}/api/{'v2' if self.v2 else 'v1'}"
        # Seconds between state reads. One is a few milliseconds of Airflow 3's API server: a run's end is seen within
        # a quarter second. Airflow 2's Flask API costs more per call, in the one gunicorn worker: once a second there.
        self.every = 0.25 if self.v2 else 1.0
        self.session = requests.Session()
        self._credentials = {"username": username, "password": password}

    @classmethod
    def of_sandbox(cls, settings) -> AirflowAPI:
        """The running sandbox's API (its port and admin login from the settings), logged in."""
        from xcomlab_harness.stack.settings import airflow_major

        api = cls(f"http://127.0.0.1:{settings.get('AIRFLOW_PORT', '8080')}", settings["AIRFLOW_ADMIN_USER"],
                  settings["AIRFLOW_ADMIN_PASSWORD"], airflow_major=airflow_major(settings))
        api.login()
        return api

    def login(self) -> None:
        if not self.v2:
            self.session.auth = (self._credentials["username"], self._credentials["password"])
            return
        response = requests.post(f"{self.base_url}/auth/token", json=self._credentials, timeout=30)
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.session.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        if response.status_code == 401 and self.v2:  # token expired (e.g. after the api-server was recreated)
            self.login()
            response = self.session.request(method, f"{self.api}{path}", timeout=30, **kwargs)
        response.raise_for_status()
        return response

    def _call(self, method: str, path: str, **kwargs) -> dict:
        return self._request(method, path, **kwargs).json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Until the dag-processor has parsed the DAG; then make sure it is not paused."""
        def parsed() -> bool:
            try:
                return bool(self._call("GET", f"/dags/{dag_id}"))
            except requests.HTTPError as err:
                if err.response.status_code != 404:
                    raise
                return False

        poll(parsed, bool, timeout, lambda _: DagRunFailed(f"{dag_id} not parsed after {timeout:.0f} s (404): is "
                                                           f"dags/{dag_id}.py in the DAG folder, and does it import?"),
             every=self.every)
        self._call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        """Start a run (conf becomes its params); returns its run id."""
        body = {"conf": conf or {}, **({"logical_date": None} if self.v2 else {})}  # v2 requires the key
        run = self._call("POST", f"/dags/{dag_id}/dagRuns", json=body)
        return run["dag_run_id"]

    def delete_run(self, dag_id: str, run_id: str) -> None:
        """Delete a DAG run: the database drops its XCom rows (without asking the XCom backend)."""
        self._request("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}")

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear a finished task instance, as the UI's Clear does: it runs again and its run with it."""
        self._call("POST", f"/dags/{dag_id}/clearTaskInstances",
                   json={"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False,
                         "reset_dag_runs": True})

    def set_variable(self, key: str, value: str) -> None:
        self._call("POST", "/variables", json={"key": key, "value": value})

    def delete_variable(self, key: str) -> None:
        self._request("DELETE", f"/variables/{key}")

    def delete_xcom_entry(self, dag_id: str, run_id: str, task_id: str, key: str) -> None:
        """What the XCom tab's trash icon does (Airflow 3 only: 2.x's REST API cannot delete an XCom)."""
        self._request("DELETE", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")

    def add_xcom_entry(self, dag_id: str, run_id: str, task_id: str, key: str, value) -> None:
        """What the XCom tab's "Add XCom" does (Airflow 3 only: 2.x's REST API answers 405)."""
        self._request("POST", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries",
                      json={"key": key, "value": value, "map_index": -1})

    def edit_xcom_entry(self, dag_id: str, run_id: str, task_id: str, key: str, value) -> None:
        """What the XCom tab's edit does (Airflow 3 only)."""
        self._request("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                      json={"value": value, "map_index": -1})

    def log_of(self, dag_id: str, run_id: str, task_id: str, lines: int = 400) -> str:
        """The last lines of a task's latest try, whatever its state (the first map index of a mapped task)."""
        tasks = [t for t in self.task_instances(dag_id, run_id) if t["task_id"] == task_id]
        return self.task_log(dag_id, run_id, min(tasks, key=lambda t: t.get("map_index", -1)), lines) if tasks else ""

    def set_run_state(self, dag_id: str, run_id: str, state: str) -> None:
        self._call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", json={"state": state})

    def wait_for_task_state(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 180) -> None:
        """Until the task is in state; raises TaskEnded as soon as it ends in another."""
        def now() -> str | None:
            found = self.task_states(dag_id, run_id).get(task_id)
            if found in FINAL and found != state:
                raise TaskEnded(f"{dag_id}.{task_id} ended {found!r}, not {state!r}")
            return found

        poll(now, lambda found: found == state, timeout, lambda _: DagRunFailed(
            f"{dag_id}.{task_id} not {state!r} after {timeout:.0f} s: {self.explain(dag_id, run_id)}"), every=self.every)

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_end(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """The run's final state ("success" or "failed"); raises when it is still running after timeout."""
        return poll(lambda: self.run_state(dag_id, run_id), lambda state: state in ("success", "failed"), timeout,
                    lambda state: DagRunFailed(f"{dag_id} run {run_id} still {state!r} after {timeout:.0f} s: "
                                               f"{self.explain(dag_id, run_id)}"), every=self.every)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Final state of the run; raises with each task's state and failed tasks' logs unless it succeeded."""
        state = self.wait_for_end(dag_id, run_id, timeout)
        if state != "success":
            raise DagRunFailed(f"{dag_id} run {run_id} ended {state!r} {self.explain(dag_id, run_id)}")
        return state

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})["task_instances"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """task_id (task_id[i] for mapped tasks) -> state."""
        return {t["task_id"] + (f"[{t['map_index']}]" if t.get("map_index", -1) >= 0 else ""): t["state"]
                for t in self.task_instances(dag_id, run_id)}

    def failed_task_log(self, dag_id: str, run_id: str, task_id: str, lines: int = 80) -> str:
        [task] = [t for t in self.task_instances(dag_id, run_id) if t["task_id"] == task_id]
        return self.task_log(dag_id, run_id, task, lines)

    def xcom_entry(self, dag_id: str, run_id: str, task_id: str, key: str):
        """The value the UI's XCom view shows (not deserialized by the backend)."""
        return self._call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}")["value"]

    def explain(self, dag_id: str, run_id: str) -> str:
        tasks = self.task_instances(dag_id, run_id)
        summary = ", ".join(f"{t['task_id']}={t['state']}" for t in tasks)
        logs = "".join(f"\n--- {t['task_id']} (try {t['try_number']}) ---\n" + self.task_log(dag_id, run_id, t)
                       for t in tasks if t["state"] == "failed")
        return f"(tasks: {summary}){logs}"

    def task_log(self, dag_id: str, run_id: str, task: dict, lines: int = 15) -> str:
        """The last lines of a task try's log (Airflow 3 serves structured JSON events, 2.x text)."""
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task['task_id']}/logs/{task['try_number']}"
        params = {"map_index": task["map_index"]} if task.get("map_index", -1) >= 0 else {}
        if not self.v2:
            text = self._request("GET", path, params=params, headers={"Accept": "text/plain"}).text
            return "\n".join(text.splitlines()[-lines:])
        return "\n".join(_log_line(entry) for entry in self._call("GET", path, params=params)["content"][-lines:])


def _log_line(entry) -> str:
    if not isinstance(entry, dict):
        return str(entry)
    line = f"{entry.get('level', '')} {entry.get('event', '')}"
    for error in entry.get("error_detail") or []:
        line += f"\n  {error.get('exc_type')}: {error.get('exc_value')}"
    return line
