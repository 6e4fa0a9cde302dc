"""XCom backends for Apache Airflow 2.10+ and 3.x, tested against real stores by xcom-lab."""
