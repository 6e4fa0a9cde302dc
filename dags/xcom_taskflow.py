"""TaskFlow XComs: implicit return values, 11 mapped tasks, and small strings that look like JSON.

Every value a task returns is an XCom. `check` fails the run unless each came back exactly as returned:
"123" and "null" must stay strings (the provider's backend on Airflow 2.x turns them into 123 and None).
"""

from __future__ import annotations

import pendulum

try:  # Airflow 3
    from airflow.sdk import dag, task
except ImportError:  # Airflow 2.x
    from airflow.decorators import dag, task

JSON_LOOKING_STRINGS = ["123", "null", "true", '{"a": 1}', "[1, 2]", '"quoted"']
MAPPED = 11  # map indexes of one and two digits: "1" and "10" must not share an object


@dag(schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), catchup=False, tags=["xcom-lab"])
def xcom_taskflow():
    @task
    def strings() -> list[str]:
        return JSON_LOOKING_STRINGS

    @task
    def one_string(index: int) -> str:
        return JSON_LOOKING_STRINGS[index]

    @task
    def square(n: int):  # no `-> dict`: that would also push each key as its own XCom
        return {"n": n, "square": n * n, "padding": "x" * 2000}  # big enough to leave the DB

    @task
    def check(all_strings: list[str], first: str, second: str, squares: list[dict]) -> None:
        got = {"all_strings": all_strings, "first": first, "second": second}
        expected = {"all_strings": JSON_LOOKING_STRINGS, "first": "123", "second": "null"}
        if got != expected:
            raise ValueError(f"strings came back changed: expected {expected!r}, got {got!r}")
        if [s["square"] for s in squares] != [n * n for n in range(MAPPED)]:
            raise ValueError(f"mapped results came back wrong: {[s['square'] for s in squares]}")
        print("every XCom came back as returned")

    check(strings(), one_string(0), one_string(1), square.expand(n=list(range(MAPPED))))


xcom_taskflow()
