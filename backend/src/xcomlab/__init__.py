"""XCom backends for Apache Airflow 2.10+ and 3.x, tested against real stores by xcom-lab."""

from xcomlab import compat as _compat

if _compat.AIRFLOW_MAJOR < 3:
    # Importing airflow.models.xcom loads [core] xcom_backend, which may be one of xcomlab's modules: it must
    # run before they do, or a script importing xcomlab.<backend> first meets that module half-built.
    import airflow.models.xcom  # noqa: F401
